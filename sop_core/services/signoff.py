"""Sign-off of a cycle's plan version by role, and the freeze that follows the last sign-off.

Sign-offs follow the cycle: each role of :data:`~sop_core.units.SIGNOFF_ROLES` signs in its step
(:data:`SIGNOFF_STEPS`: the demand planner from demand review on, the supply planner from supply review on,
finance from reconciliation on, the executive in executive review), after the roles before it, and each
sign-off moves the cycle on to the next role's step when it is not there yet. A user signs for their own role
(an admin for any: :func:`sop_core.services.permissions.require_sign_off`).

When every sign-off role has signed the current plan version it is *frozen*: its snapshot of inputs,
hashes and package versions is stored (:mod:`sop_core.services.snapshot`) and its plan lines,
sign-offs, overrides and source scenario cannot change (:mod:`sop_core.db.models_cycle` enforces it at
the data layer too). A change makes a new plan version (:func:`new_version`).

Sign-off needs a consensus demand and a proposed plan computed on the cycle's current inputs. A second
sign-off of the same role and version is an :class:`~sop_core.errors.EditConflict` naming who signed and when;
:func:`signoffs` and :func:`signoff_status` list who signed.
"""

from __future__ import annotations

import logging

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from sop_core.db import audit_repo, forecast_repo, plan_repo, version_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.errors import Change, EditConflict
from sop_core.planning import levers as lev
from sop_core.planning import scenario as sc
from sop_core.services import permissions, plan
from sop_core.services.cycle import (
    CYCLE_STATES,
    STATE_LABELS,
    WorkflowError,
    cycle_row,
    has_consensus,
    month_label,
    move,
    now,
)
from sop_core.services.reproduce import first_mismatch
from sop_core.services.snapshot import build_snapshot, override_records, store_frozen_version
from sop_core.text_checks import checked
from sop_core.units import INTERVAL_LEVELS, SIGNOFF_ROLES

log = logging.getLogger(__name__)

#: States in which the plan can still be signed off.
SIGNABLE = ("demand_review", "supply_review", "reconciliation", "executive_review")
#: The state in which each sign-off role signs (it may sign later in the cycle too, never earlier).
SIGNOFF_STEPS: dict[str, str] = dict(zip(SIGNOFF_ROLES, SIGNABLE, strict=True))


def is_frozen(engine: Engine, cycle_id: int, version: int | None = None) -> bool:
    """True when the plan version (default: the cycle's current one) is signed off and frozen."""
    with session_scope(engine) as s:
        cyc = cycle_row(s, cycle_id)
        return version_repo.is_frozen(s, cycle_id, version if version is not None else cyc.plan_version)


def _plan_stale(engine: Engine, cycle_id: int, lines: pd.DataFrame) -> bool:
    """True when the stored plan lines differ from the proposed scenario evaluated on today's inputs."""
    with session_scope(engine) as s:
        cyc = cycle_row(s, cycle_id)
        scenario_id = plan_repo.plan_scenario_id(s, cycle_id, cyc.plan_version)
        row = plan_repo.scenario(s, scenario_id) if scenario_id is not None else None
        levers = lev.Levers.from_dict(row.levers) if row is not None else lev.Levers()
    result = sc.evaluate(plan.scenario_inputs(engine, cycle_id), levers)
    return first_mismatch(lines, result.lines) is not None


def next_to_sign(status: pd.DataFrame) -> str | None:
    """The role whose sign-off comes next (:func:`signoff_status`: ``role, signed``), in
    the order of :data:`~sop_core.units.SIGNOFF_ROLES`; None when every role has signed."""
    signed = dict(zip(status["role"], status["signed"], strict=True))
    return next((r for r in SIGNOFF_ROLES if not signed.get(r, False)), None)


def signoff_gate(engine: Engine, cycle_id: int) -> list[str]:
    """Why the cycle's current plan version cannot be signed off now (empty list: it can)."""
    with session_scope(engine) as s:
        cyc = cycle_row(s, cycle_id)
        label, status, version = month_label(cyc.month), cyc.status, cyc.plan_version
        lines = plan_repo.plan_lines(s, cycle_id, version)
        frozen = version_repo.is_frozen(s, cycle_id, version)
    if frozen or status in ("signed", "closed"):
        return [f"plan version {version} of cycle {label} is already signed off and frozen"]
    if status not in SIGNABLE:
        return [f"cycle {label} is {STATE_LABELS.get(status, status)}: start the demand review first"]
    problems = []
    if not has_consensus(engine, cycle_id):
        problems.append(f"cycle {label} has no consensus demand: run the forecast on the Demand review page")
    if lines.empty:
        problems.append(
            f"cycle {label} has no proposed plan (version {version}) to sign off: "
            "promote a scenario on the Reconciliation page first"
        )
    elif problems == [] and _plan_stale(engine, cycle_id, lines):
        problems.append(
            f"the proposed plan of cycle {label} was computed on older inputs (forecast, stock or prices changed): "
            "promote the scenario again"
        )
    return problems


def _store_signoff(engine: Engine, cycle_id: int, role: str, user: str, comment: str) -> None:
    """Record that ``user`` signs off the cycle's current plan version as ``role``.

    Raises:
        NotAllowed: ``user`` may not sign off as ``role``.
        plan.PlanError: unknown role, no plan lines to sign.
        WorkflowError: an earlier role has not signed yet, or the cycle has not reached the role's step.
        EditConflict: that role already signed this plan version (who and when).
    """
    if role not in SIGNOFF_ROLES:
        raise plan.PlanError(f"unknown sign-off role {role!r}; roles: {', '.join(SIGNOFF_ROLES)}")
    try:
        with session_scope(engine) as s:
            permissions.require_sign_off(s, user, role)
            cyc = cycle_row(s, cycle_id)
            label, version = month_label(cyc.month), cyc.plan_version
            signed = {r for r in SIGNOFF_ROLES if plan_repo.signoff(s, cycle_id, version, r) is not None}
            waiting = [r for r in SIGNOFF_ROLES[: SIGNOFF_ROLES.index(role)] if r not in signed]
            if waiting:
                raise WorkflowError(
                    f"{plan.ROLE_LABELS[waiting[0]]} signs off plan version {version} of cycle {label} first: "
                    f"sign-offs follow the cycle ({', '.join(plan.ROLE_LABELS[r] for r in SIGNOFF_ROLES)})"
                )
            step = SIGNOFF_STEPS[role]
            if CYCLE_STATES.index(cyc.status) < CYCLE_STATES.index(step):
                raise WorkflowError(
                    f"cycle {label} is in {STATE_LABELS[cyc.status]}: {plan.ROLE_LABELS[role]} signs off in "
                    f"{STATE_LABELS[step]}"
                )
            if plan_repo.plan_line_count(s, cycle_id, version) == 0:
                raise plan.PlanError(
                    f"cycle {label} has no proposed plan (version {version}) to sign off: "
                    "promote a scenario on the Reconciliation page first"
                )
            existing = plan_repo.signoff(s, cycle_id, version, role)
            if existing is not None:
                when = f"{existing.signed_at:%Y-%m-%d %H:%M}" if existing.signed_at else "an unknown time"
                raise EditConflict(
                    f"{plan.ROLE_LABELS[role]} already signed off plan version {version} of cycle {label} "
                    f"({existing.username} at {when})",
                    [Change(f"sign-off as {plan.ROLE_LABELS[role]}", existing.username, existing.signed_at,
                            "signed", "sign")],
                )
            s.add(m.Signoff(cycle_id=cycle_id, plan_version=version, role=role, username=user, comment=comment,
                            signed_at=now()))
            s.flush()
            audit_repo.audit(s, user, "plan_signed_off", "plan_cycle", cycle_id,
                             {"role": role, "plan_version": version, "comment": comment},
                             after={"role": role, "plan_version": version, "username": user, "comment": comment})
    except IntegrityError:
        raise EditConflict(f"{plan.ROLE_LABELS[role]} signed off this plan version meanwhile; reload") from None
    log.info("cycle %s plan version %s signed off as %s by %s", cycle_id, version, role, user)


def sign_off(engine: Engine, cycle_id: int, role: str, user: str, comment: str = "") -> bool:
    """Sign off the cycle's current plan version as ``role``; returns True when this froze the version.

    Each role signs in its step (:data:`SIGNOFF_STEPS`) after the roles before it; a sign-off moves the cycle
    on to the next role's step when it is not there yet (one audited step: the step is done), and the last
    one (the executive's) freezes the version (:func:`freeze`) and marks the cycle signed.

    Raises:
        NotAllowed: ``user`` is not a user, is disabled, or has another role than ``role`` (an admin may sign
            for any role).
        WorkflowError: a gate is not met (:func:`signoff_gate`), an earlier role has not signed, or the cycle
            has not reached the role's step.
        plan.PlanError: unknown role.
        EditConflict: that role already signed this plan version (who and when).
        TextRejected: a comment too long, with a control character or not valid Unicode.
    """
    checked("comment", comment)
    permissions.require_sign_off(engine, user, role)
    problems = signoff_gate(engine, cycle_id)
    if problems:
        raise WorkflowError("; ".join(problems))
    _store_signoff(engine, cycle_id, role, user, comment)
    following = SIGNOFF_ROLES.index(role) + 1
    if following < len(SIGNOFF_ROLES):
        with session_scope(engine) as s:
            cyc = cycle_row(s, cycle_id)
            next_step = SIGNOFF_STEPS[SIGNOFF_ROLES[following]]
            if CYCLE_STATES.index(cyc.status) < CYCLE_STATES.index(next_step):
                move(s, cyc, next_step, user, f"{plan.ROLE_LABELS[role]} signed off")
    status = signoff_status(engine, cycle_id)
    if bool(status["signed"].all()):
        freeze(engine, cycle_id, user)
        return True
    return False


def freeze(engine: Engine, cycle_id: int, user: str) -> int:
    """Freeze the cycle's current plan version (every role has signed): store the snapshot of its
    inputs, their hash and the package versions, and mark the cycle signed. Returns the version.

    Raises:
        NotAllowed: ``user`` may not sign off.
        WorkflowError: not every role has signed, or there is no forecast run or plan.
    """
    with session_scope(engine) as s:
        permissions.require(s, user, "sign_off")
        cyc = cycle_row(s, cycle_id)
        label, version = month_label(cyc.month), cyc.plan_version
        if version_repo.version(s, cycle_id, version) is not None:
            return version
        run = forecast_repo.latest_run(s, cycle_id)
        if run is None:
            raise WorkflowError(f"cycle {label} has no forecast run to freeze")
        stat = forecast_repo.forecast_demand(s, run.id).rename(columns={"quantity": "qty"})
        scenario_id = plan_repo.plan_scenario_id(s, cycle_id, version)
        sc_row = plan_repo.scenario(s, scenario_id) if scenario_id is not None else None
        levers = lev.Levers.from_dict(sc_row.levers) if sc_row is not None else lev.Levers()
        scenario = {"id": sc_row.id, "name": sc_row.name} if sc_row is not None else None
        run_info = {
            "id": run.id,
            "engine": run.engine,
            "horizon": run.horizon,
            "freq": run.freq,
            "level": list((run.params or {}).get("level", INTERVAL_LEVELS)),
            "history_cutoff": (run.params or {}).get("last_actual"),
            "events": (run.params or {}).get("event_calendar"),
        }
        data_hash = run.data_hash
        overrides = override_records(s, cycle_id)
    signed = signoff_status(engine, cycle_id)
    if not bool(signed["signed"].all()):
        raise WorkflowError(f"cycle {label}: not every role has signed plan version {version}")
    inputs = plan.scenario_inputs(engine, cycle_id)
    snap = build_snapshot(
        label=label, version=version, stat=stat, inputs=inputs, levers=levers, run=run_info,
        data_hash=data_hash, scenario=scenario, overrides=overrides,
    )
    with session_scope(engine) as s:
        cyc = cycle_row(s, cycle_id)
        store_frozen_version(s, cycle_id, version, snap, user, now(), write_lines=False)
        move(s, cyc, "signed", user, "every role signed off")
        audit_repo.audit(s, user, "plan_frozen", "plan_cycle", cycle_id, {"plan_version": version},
                         after={"plan_version": version, "data_hash": snap.data_hash, "revenue": snap.kpis.get("revenue")})
    log.info("cycle %s plan version %s frozen", label, version)
    return version


def new_version(engine: Engine, cycle_id: int, user: str, note: str = "") -> int:
    """Start a new plan version of a signed cycle (back to reconciliation); returns its number.

    Raises:
        NotAllowed: ``user`` may not move the cycle back to reconciliation (:func:`permissions.require_move`).
        WorkflowError: the cycle is closed.
        TextRejected: a note too long, with a control character or not valid Unicode.
    """
    checked("note", note)
    with session_scope(engine) as s:
        cyc = cycle_row(s, cycle_id)
        permissions.require_move(s, user, cyc.status, "reconciliation")
        if cyc.status == "closed":
            raise WorkflowError(f"cycle {month_label(cyc.month)} is closed: its plan cannot change")
        cyc.plan_version = cyc.plan_version + 1
        move(s, cyc, "reconciliation", user, note or "new version")
        return cyc.plan_version


def plan_versions(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """Frozen versions of a cycle: ``version, status, frozen_by, frozen_at, inputs_hash, scenario, revenue,
    margin`` (revenue and margin [currency] as stored at the freeze)."""
    with session_scope(engine) as s:
        records = [
            {
                "version": r.version,
                "status": r.status,
                "frozen_by": r.frozen_by,
                "frozen_at": r.frozen_at,
                "inputs_hash": r.inputs_hash,
                "scenario": (r.inputs.get("scenario") or {}).get("name", plan.BASELINE),
                "revenue": (r.totals or {}).get("revenue"),
                "margin": (r.totals or {}).get("margin"),
            }
            for r in version_repo.versions(s, cycle_id)
        ]
    cols = ["version", "status", "frozen_by", "frozen_at", "inputs_hash", "scenario", "revenue", "margin"]
    return pd.DataFrame(records, columns=cols)


# --------------------------------------------------------------------------- who signed
def signoffs(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """Every stored sign-off of a cycle: ``plan_version, role, username, signed_at, comment``."""
    with session_scope(engine) as s:
        frame = plan_repo.signoffs(s, cycle_id)
    return frame.reindex(columns=["plan_version", "role", "username", "signed_at", "comment"])


def signoff_status(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """One row per sign-off role for the current plan version:
    ``role, label, signed, username, signed_at, comment`` (empty who/when while unsigned)."""
    with session_scope(engine) as s:
        version = cycle_row(s, cycle_id).plan_version
        frame = plan_repo.signoffs(s, cycle_id)
    current = frame[frame["plan_version"] == version].set_index("role") if not frame.empty else pd.DataFrame()
    rows = []
    for role in SIGNOFF_ROLES:
        hit = current.loc[role] if role in current.index else None
        rows.append(
            {
                "role": role,
                "label": plan.ROLE_LABELS[role],
                "signed": hit is not None,
                "username": hit["username"] if hit is not None else "",
                "signed_at": hit["signed_at"] if hit is not None else None,
                "comment": hit["comment"] if hit is not None else "",
            }
        )
    return pd.DataFrame(rows)
