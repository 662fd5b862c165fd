"""Queries for the budget, scenarios, plan lines and sign-offs. Functions take a session and never commit.

Column vocabulary (the same in every ``*_repo`` module, the schema's own names): ``quantity`` [units] a
quantity of a SKU in a period (sales, forecast demand, open orders), ``on_hand`` [units] the stock of a
SKU at a date, ``period`` the month start (``datetime64``), ``as_of`` the date of a stock count. The
planning math (:mod:`sop_core.planning.scenario`) names its inputs ``qty``: the services map to it.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.guards import FrozenPlanError
from sop_core.db.models_cycle import Decision, PlanVersion


def budget(session: Session, first: dt.date, last: dt.date) -> pd.DataFrame:
    """``family, period, volume, revenue`` for months in ``[first, last]``."""
    return repo.read_frame(session, m.Budget, m.Budget.period >= first, m.Budget.period <= last)


def scenario(session: Session, scenario_id: int) -> m.Scenario | None:
    """The scenario row (to change in the same session), or None."""
    return session.get(m.Scenario, scenario_id)


def scenario_by_name(session: Session, cycle_id: int, name: str) -> m.Scenario | None:
    return session.scalar(select(m.Scenario).where(m.Scenario.cycle_id == cycle_id, m.Scenario.name == name))


def scenarios(session: Session, cycle_id: int) -> list[m.Scenario]:
    return list(session.scalars(select(m.Scenario).where(m.Scenario.cycle_id == cycle_id).order_by(m.Scenario.id)))


def proposed_scenario(session: Session, cycle_id: int) -> m.Scenario | None:
    """The cycle's proposed scenario (the database holds at most one), or None."""
    return session.scalars(
        select(m.Scenario).where(m.Scenario.cycle_id == cycle_id, m.Scenario.status == "proposed")
    ).first()


def demote_proposed(session: Session, cycle_id: int, keep_id: int) -> None:
    """Every other proposed scenario of the cycle goes back to draft (one proposed plan per cycle)."""
    for sc in session.scalars(
        select(m.Scenario).where(
            m.Scenario.cycle_id == cycle_id, m.Scenario.status == "proposed", m.Scenario.id != keep_id
        )
    ):
        sc.status = "draft"


def plan_lines(
    session: Session,
    cycle_id: int,
    plan_version: int,
    through: dt.date | None = None,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """The plan lines of a cycle's version, sorted by SKU and period (``through``: only the months up to it;
    ``columns``: only these)."""
    months = (m.PlanLine.period <= through,) if through is not None else ()
    return repo.read_frame(
        session,
        m.PlanLine,
        m.PlanLine.cycle_id == cycle_id,
        m.PlanLine.plan_version == plan_version,
        *months,
        order_by=[m.PlanLine.sku, m.PlanLine.period],
        columns=columns,
    )


def plan_line_versions(session: Session, cycle_id: int) -> set[int]:
    """The plan versions of a cycle that have plan lines."""
    return set(session.scalars(select(m.PlanLine.plan_version).where(m.PlanLine.cycle_id == cycle_id).distinct()))


def plan_line_count(session: Session, cycle_id: int, plan_version: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(m.PlanLine)
            .where(m.PlanLine.cycle_id == cycle_id, m.PlanLine.plan_version == plan_version)
        )
        or 0
    )


def plan_scenario_id(session: Session, cycle_id: int, plan_version: int) -> int | None:
    """The scenario the plan lines of a version came from (None when no lines or no scenario)."""
    return session.scalar(
        select(m.PlanLine.scenario_id)
        .where(m.PlanLine.cycle_id == cycle_id, m.PlanLine.plan_version == plan_version)
        .limit(1)
    )


def delete_plan_lines(session: Session, cycle_id: int, plan_version: int) -> None:
    session.execute(delete(m.PlanLine).where(m.PlanLine.cycle_id == cycle_id, m.PlanLine.plan_version == plan_version))


def signoff(session: Session, cycle_id: int, plan_version: int, role: str) -> m.Signoff | None:
    return session.scalar(
        select(m.Signoff).where(
            m.Signoff.cycle_id == cycle_id, m.Signoff.plan_version == plan_version, m.Signoff.role == role
        )
    )


def signoff_count(session: Session, cycle_id: int, plan_version: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(m.Signoff)
            .where(m.Signoff.cycle_id == cycle_id, m.Signoff.plan_version == plan_version)
        )
        or 0
    )


def signoffs(session: Session, cycle_id: int) -> pd.DataFrame:
    return repo.read_frame(
        session, m.Signoff, m.Signoff.cycle_id == cycle_id, order_by=[m.Signoff.plan_version, m.Signoff.id]
    )


def bump_plan_version(session: Session, cycle_id: int) -> int:
    """Start a new plan version of a cycle (the signed one stays as it is, frozen); returns the new number.

    A signed cycle goes back to reconciliation (``status_at`` now): its new version needs signing again.

    Raises:
        FrozenPlanError: the cycle is closed (its plan cannot change).
    """
    row = session.get(m.PlanCycle, cycle_id)
    assert row is not None
    if row.status == "closed":
        raise FrozenPlanError(f"cycle {row.month:%Y-%m} is closed: its plan cannot change")
    row.plan_version = row.plan_version + 1
    if row.status == "signed":
        row.status, row.status_at = "reconciliation", dt.datetime.now().replace(microsecond=0)
    session.flush()
    return row.plan_version


#: What a cycle's plan inputs are read from (:func:`sop_core.services.plan.scenario_inputs`), each with the column
#: holding the cycle where only the cycle's rows count: the cycle, its forecast runs and overrides; every row of the
#: sales history, events, products, stock, open orders, receipts, routings, resources, supplier items, and the audit
#: log (every import and edit writes to it: it covers text changed in place). Stamped table by table
#: (:func:`sop_core.services.figures.cycle_stamp`).
INPUT_TABLES: tuple[tuple[type[m.Base], str | None], ...] = (
    (m.PlanCycle, "id"),
    (m.ForecastRun, "cycle_id"),
    (m.ForecastOverride, "cycle_id"),
    *((model, None) for model in (
        m.SalesHistory, m.Event, m.Product, m.Inventory, m.OpenOrder, m.Receipt, m.Routing, m.Resource,
        m.SupplierItem, m.AuditLog)),
)  # fmt: skip
#: :data:`INPUT_TABLES` and what the executive review reads besides: every cycle, scenario, plan line, sign-off,
#: decision, frozen version and budget row.
REVIEW_TABLES: tuple[tuple[type[m.Base], str | None], ...] = INPUT_TABLES + tuple(
    (model, None) for model in (m.PlanCycle, m.Scenario, m.PlanLine, m.Signoff, Decision, PlanVersion, m.Budget)
)
