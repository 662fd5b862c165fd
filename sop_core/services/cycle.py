"""The monthly plan cycle: lookup, states and the gates between them, and the cycles as plain values for
pages and the CLI.

States (:data:`CYCLE_STATES`): draft → demand_review → supply_review → reconciliation →
executive_review → signed → closed. A cycle moves one state forward at a time (:func:`advance`), or back
to an earlier open state; ``signed`` is reached only when every sign-off role has signed the current plan
version (:mod:`sop_core.services.signoff`).

Gates: supply review needs a consensus demand (the cycle's forecast, with overrides); executive review
needs a proposed plan (plan lines of the current version).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from sop_core.db import audit_repo, cycle_repo, plan_repo, version_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.services import demand, permissions, plan
from sop_core.text_checks import checked

log = logging.getLogger(__name__)

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
STATE_LABELS = {
    "draft": "Draft",
    "demand_review": "Demand review",
    "supply_review": "Supply review",
    "reconciliation": "Reconciliation",
    "executive_review": "Executive review",
    "signed": "Signed",
    "closed": "Closed",
}


class WorkflowError(plan.PlanError):
    """A cycle, sign-off or plan-version action cannot be done; the message says why in one line."""


@dataclass(frozen=True)
class CycleInfo:
    id: int
    month: dt.date
    status: str
    plan_version: int

    @property
    def label(self) -> str:
        return self.month.strftime("%Y-%m")


def now() -> dt.datetime:
    """The current local time to the second (when a state, sign-off or decision is stored)."""
    return dt.datetime.now().replace(microsecond=0)


def month_label(month: dt.date) -> str:
    """``YYYY-MM`` of a month."""
    return month.strftime("%Y-%m")


def _info(row: m.PlanCycle) -> CycleInfo:
    return CycleInfo(row.id, row.month, row.status, row.plan_version)


def parse_month(text: str) -> dt.date:
    """``YYYY-MM`` (or a full date) → the month's first day.

    Raises:
        WorkflowError: text that is not a month.
    """
    try:
        day: dt.date = pd.Timestamp(str(text).strip() + ("-01" if len(str(text).strip()) == 7 else "")).date()
    except (ValueError, TypeError):
        raise WorkflowError(f"{text!r} is not a month: use YYYY-MM") from None
    return day.replace(day=1)


def cycle_row(session: Session, cycle_id: int) -> m.PlanCycle:
    """The stored cycle row (to read or change in ``session``).

    Raises:
        WorkflowError: unknown id.
    """
    row = cycle_repo.cycle(session, cycle_id)
    if row is None:
        raise WorkflowError(f"plan cycle {cycle_id} does not exist")
    return row


def move(session: Session, cyc: m.PlanCycle, to_state: str, user: str, note: str) -> None:
    """Set the cycle's state and audit the step (``from, to, plan_version, note``)."""
    before = cyc.status
    previous = {"status": before, "status_by": cyc.status_by, "status_at": cyc.status_at}
    cyc.status, cyc.status_by, cyc.status_at = to_state, user, now()
    audit_repo.audit(
        session, user, "cycle_state", "plan_cycle", cyc.id,
        {"from": before, "to": to_state, "plan_version": cyc.plan_version, "note": note},
        before=previous, after={"status": to_state, "status_by": user, "status_at": cyc.status_at},
    )


def list_cycles(engine: Engine) -> list[CycleInfo]:
    """All plan cycles, newest month first."""
    with session_scope(engine) as s:
        return [_info(r) for r in cycle_repo.cycles_newest_first(s)]


def cycle_by_month(engine: Engine, month: str | dt.date) -> CycleInfo:
    """The cycle of a month (``YYYY-MM``).

    Raises:
        WorkflowError: no cycle for that month.
    """
    day = parse_month(month) if isinstance(month, str) else month.replace(day=1)
    with session_scope(engine) as s:
        row = cycle_repo.cycle_by_month(s, day)
        if row is None:
            known = ", ".join(month_label(r) for r in cycle_repo.cycle_months(s))
            raise WorkflowError(f"no plan cycle for {month_label(day)}; cycles: {known or 'none'}")
        return _info(row)


def cycle_info(engine: Engine, cycle_id: int) -> CycleInfo:
    """A cycle by id.

    Raises:
        WorkflowError: unknown id.
    """
    with session_scope(engine) as s:
        return _info(cycle_row(s, cycle_id))


def current_cycle(engine: Engine) -> CycleInfo:
    """The newest cycle that is not closed (the newest cycle when all are closed).

    Raises:
        WorkflowError: there is no cycle yet.
    """
    with session_scope(engine) as s:
        rows = cycle_repo.cycles_newest_first(s)
        if not rows:
            raise WorkflowError("no plan cycle yet")
        return _info(next((r for r in rows if r.status not in ("signed", "closed")), rows[0]))


def previous_cycle(engine: Engine, cycle_id: int) -> CycleInfo | None:
    """The cycle of the month before (None when there is none)."""
    with session_scope(engine) as s:
        row = cycle_repo.previous_cycle(s, cycle_row(s, cycle_id).month)
        return _info(row) if row is not None else None


# --------------------------------------------------------------------------- states and gates
def has_consensus(engine: Engine, cycle_id: int) -> bool:
    """True when the cycle has a consensus demand (:func:`sop_core.services.demand.consensus_demand`)."""
    try:
        frame = demand.consensus_demand(engine, cycle_id)
    except Exception as err:  # noqa: BLE001 - any failure means: no consensus demand
        log.info("consensus demand of cycle %s not available: %s", cycle_id, err)
        return False
    return frame is not None and len(frame) > 0


def gate_problems(engine: Engine, cycle_id: int, to_state: str) -> list[str]:
    """Why the cycle cannot enter ``to_state`` now (empty list: it can)."""
    problems: list[str] = []
    with session_scope(engine) as s:
        cyc = cycle_row(s, cycle_id)
        label, status, version = month_label(cyc.month), cyc.status, cyc.plan_version
        lines = plan_repo.plan_line_count(s, cycle_id, version)
        frozen = version_repo.is_frozen(s, cycle_id, version)
    order = CYCLE_STATES.index
    if to_state not in CYCLE_STATES:
        return [f"unknown state {to_state!r}; states: {', '.join(CYCLE_STATES)}"]
    if status == "closed":
        return [f"cycle {label} is closed"]
    if to_state == "closed":
        return [] if status == "signed" else [f"cycle {label} is {STATE_LABELS[status]}: only a signed cycle can close"]
    if to_state == "signed":
        return [] if frozen else [f"cycle {label}: not every role has signed plan version {version} yet"]
    if order(to_state) > order(status) + 1 and status != "signed":
        return [f"cycle {label} is in {STATE_LABELS[status]}: move one step at a time"]
    if order(to_state) >= order("supply_review") and not has_consensus(engine, cycle_id):
        problems.append(f"cycle {label} has no consensus demand yet: run the forecast on the Demand review page")
    if order(to_state) >= order("executive_review") and lines == 0:
        problems.append(
            f"cycle {label} has no proposed plan (version {version}): promote a scenario on the Reconciliation page"
        )
    return problems


def advance(engine: Engine, cycle_id: int, to_state: str, user: str, note: str = "") -> str:
    """Move a cycle to ``to_state`` (one step forward, or back to an earlier open state); returns it.

    Going back from ``signed`` starts a new plan version (the signed one stays frozen).

    Raises:
        NotAllowed: ``user`` owns neither state (:func:`sop_core.services.permissions.require_move`).
        WorkflowError: a gate is not met (the message lists why), or an unknown state.
        TextRejected: a note too long, with a control character or not valid Unicode.
    """
    checked("note", note)
    with session_scope(engine) as s:
        permissions.require_move(s, user, cycle_row(s, cycle_id).status, to_state)
    problems = gate_problems(engine, cycle_id, to_state)
    if problems:
        raise WorkflowError("; ".join(problems))
    with session_scope(engine) as s:
        cyc = cycle_row(s, cycle_id)
        before = cyc.status
        if before == to_state:
            return to_state
        if before == "signed" and to_state != "closed":
            cyc.plan_version = cyc.plan_version + 1
        move(s, cyc, to_state, user, note)
    log.info("cycle %s: %s → %s by %s", cycle_id, before, to_state, user)
    return to_state


def state_history(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """Every state change of a cycle: ``at, username, from_state, to_state, plan_version, note``."""
    with session_scope(engine) as s:
        records = [
            {
                "at": r.at,
                "username": r.username,
                "from_state": (r.detail or {}).get("from"),
                "to_state": (r.detail or {}).get("to"),
                "plan_version": (r.detail or {}).get("plan_version"),
                "note": (r.detail or {}).get("note", ""),
            }
            for r in audit_repo.state_changes(s, cycle_id)
        ]
    return pd.DataFrame(records, columns=["at", "username", "from_state", "to_state", "plan_version", "note"])


def cycles_frame(engine: Engine) -> pd.DataFrame:
    """Cycles, newest first: ``month, status, state, status_by, status_at, plan_version, frozen, signed_by``."""
    with session_scope(engine) as s:
        records = []
        for r in cycle_repo.cycles_newest_first(s):
            signed = plan_repo.signoffs(s, r.id)
            signed = signed[signed["plan_version"] == r.plan_version] if not signed.empty else signed
            records.append(
                {
                    "month": month_label(r.month),
                    "status": r.status,
                    "state": STATE_LABELS.get(r.status, r.status),
                    "status_by": r.status_by,
                    "status_at": r.status_at,
                    "plan_version": r.plan_version,
                    "frozen": version_repo.is_frozen(s, r.id, r.plan_version),
                    "signed_by": ", ".join(sorted(signed["role"])) if not signed.empty else "",
                }
            )
    cols = ["month", "status", "state", "status_by", "status_at", "plan_version", "frozen", "signed_by"]
    return pd.DataFrame(records, columns=cols)


def scenario_names(engine: Engine, cycle_id: int) -> dict[int, str]:
    """Saved scenarios of a cycle: id → name (with its status)."""
    with session_scope(engine) as s:
        rows = plan_repo.scenarios(s, cycle_id)
        return {r.id: (f"{r.name} ({r.status})" if r.status != "draft" else r.name) for r in rows}

