"""Plan cycles, scenarios and users as plain values for pages and the CLI."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, select

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.engine import session_scope

#: The states a monthly cycle moves through, in order.
CYCLE_STATES = (
    "draft",
    "demand_review",
    "supply_review",
    "reconciliation",
    "executive_review",
    "signed",
    "closed",
)


@dataclass(frozen=True)
class CycleInfo:
    id: int
    month: dt.date
    status: str
    plan_version: int

    @property
    def label(self) -> str:
        return self.month.strftime("%Y-%m")


def list_cycles(engine: Engine) -> list[CycleInfo]:
    """All plan cycles, newest month first."""
    with session_scope(engine) as s:
        rows = s.scalars(select(m.PlanCycle).order_by(m.PlanCycle.month.desc())).all()
        return [CycleInfo(r.id, r.month, r.status, r.plan_version) for r in rows]


def cycles_frame(engine: Engine) -> pd.DataFrame:
    """Cycles as a table (month, status, who and when it last moved, plan version)."""
    with session_scope(engine) as s:
        frame = repo.read_frame(s, m.PlanCycle, order_by=[m.PlanCycle.month.desc()])
    if frame.empty:
        return pd.DataFrame(columns=["month", "status", "status_by", "status_at", "plan_version"])
    frame["month"] = frame["month"].dt.strftime("%Y-%m")
    return frame[["month", "status", "status_by", "status_at", "plan_version"]]


def scenario_names(engine: Engine, cycle_id: int) -> dict[int, str]:
    """Saved scenarios of a cycle: id → name (with its status)."""
    with session_scope(engine) as s:
        rows = s.execute(
            select(m.Scenario.id, m.Scenario.name, m.Scenario.status)
            .where(m.Scenario.cycle_id == cycle_id)
            .order_by(m.Scenario.id)
        ).all()
    return {r.id: (f"{r.name} ({r.status})" if r.status != "draft" else r.name) for r in rows}


def user_roles(engine: Engine, username: str) -> tuple[str, ...]:
    """The roles of a user; the admin role holds every role."""
    with session_scope(engine) as s:
        role = s.scalar(select(m.AppUser.role).where(m.AppUser.username == username))
    if role is None:
        return ()
    if role == "admin":
        return ("admin", "demand_planner", "supply_planner", "finance", "executive")
    return (role,)
