"""The monthly cycle: states and gates, sign-off that freezes a plan version, reproduction, plan diff,
decisions and the executive headline figures.

States (:data:`sop_core.services.cycle.CYCLE_STATES`): draft → demand_review → supply_review →
reconciliation → executive_review → signed → closed. A cycle moves one state forward at a time
(gates below), or back to an earlier open state; ``signed`` is reached only when every sign-off
role has signed the current plan version, which then is *frozen*: its plan lines, sign-offs,
overrides and source scenario cannot change (:mod:`sop_core.db.guards` enforces it at the
data layer too). A change makes a new plan version (:func:`new_version`).

Gates: supply review needs a consensus demand (the cycle's forecast, with overrides);
executive review and sign-off need a proposed plan (plan lines of the current version) computed on
the cycle's current inputs.

Money is in the company currency, quantities in units, periods are month starts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

import sop_core
from sop_core.db import models as m
from sop_core.db import plan_repo, repo
from sop_core.db.engine import session_scope
from sop_core.db.guards import FrozenPlanError, version_frozen
from sop_core.db.models_cycle import Decision, PlanVersion, PlanVersionLine
from sop_core.planning import plan_diff as plan_diff_math
from sop_core.planning import scenario as sc
from sop_core.planning import supply_math
from sop_core.services import plan
from sop_core.services.cycle import CYCLE_STATES, CycleInfo
from sop_core.units import Progress

log = logging.getLogger(__name__)

__all__ = ["FrozenPlanError", "WorkflowError"]

STATE_LABELS = {
    "draft": "Draft",
    "demand_review": "Demand review",
    "supply_review": "Supply review",
    "reconciliation": "Reconciliation",
    "executive_review": "Executive review",
    "signed": "Signed",
    "closed": "Closed",
}
#: States in which the plan can still be signed off.
SIGNABLE = ("demand_review", "supply_review", "reconciliation", "executive_review")
FORECAST_FREQ = "MS"
FORECAST_LEVEL = (80, 95)
#: Tolerance of :func:`reproduce`: |a − b| ≤ ABS_TOL + REL_TOL·|b|.
REL_TOL = 1e-9
ABS_TOL = 1e-6
PLAN_FIELDS = ("demand_qty", "supply_qty", "inventory_qty", "revenue", "cost")


class WorkflowError(plan.PlanError):
    """A workflow action cannot be done; the message says why in one line."""


# --------------------------------------------------------------------------- helpers
def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _label(month: dt.date) -> str:
    return month.strftime("%Y-%m")


def parse_month(text: str) -> dt.date:
    """``YYYY-MM`` (or a full date) → the month's first day.

    Raises:
        WorkflowError: text that is not a month.
    """
    try:
        return pd.Timestamp(str(text).strip() + ("-01" if len(str(text).strip()) == 7 else "")).date().replace(day=1)
    except (ValueError, TypeError):
        raise WorkflowError(f"{text!r} is not a month: use YYYY-MM") from None


def package_versions() -> dict[str, str]:
    """Versions of the packages whose code computes forecast and plan."""
    out = {"sop_core": sop_core.__version__}
    for name in ("pandas", "numpy", "statsforecast", "scipy", "SQLAlchemy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - required dependencies
            out[name] = "unknown"
    return out


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def history_hash(history: pd.DataFrame) -> str:
    """sha256 of ``sku, period, quantity`` in canonical text (same as the forecast run's data hash)."""
    from sop_core.services.forecasting import data_hash

    return data_hash(history)


def inputs_hash(data_hash: str, inputs: dict[str, Any]) -> str:
    """sha256 of the history hash and the canonical JSON of the snapshot."""
    return _sha(data_hash + "\n" + json.dumps(inputs, sort_keys=True, separators=(",", ":")))


def results_hash(lines: pd.DataFrame) -> str:
    """sha256 of plan lines (``sku, period`` and :data:`PLAN_FIELDS`, sorted, exact float repr)."""
    frame = lines.sort_values(["sku", "period"], kind="stable")
    digest = hashlib.sha256()
    for row in frame[["sku", "period", *PLAN_FIELDS]].itertuples(index=False):
        digest.update(
            (f"{row[0]},{pd.Timestamp(row[1]):%Y-%m-%d}," + ",".join(repr(float(x)) for x in row[2:]) + "\n").encode()
        )
    return digest.hexdigest()


def _cycle_row(session: Any, cycle_id: int) -> m.PlanCycle:
    row = session.get(m.PlanCycle, cycle_id)
    if row is None:
        raise WorkflowError(f"plan cycle {cycle_id} does not exist")
    return row


def cycle_by_month(engine: Engine, month: str | dt.date) -> CycleInfo:
    """The cycle of a month (``YYYY-MM``).

    Raises:
        WorkflowError: no cycle for that month.
    """
    day = parse_month(month) if isinstance(month, str) else month.replace(day=1)
    with session_scope(engine) as s:
        row = s.scalar(select(m.PlanCycle).where(m.PlanCycle.month == day))
        if row is None:
            known = ", ".join(_label(r) for r in s.scalars(select(m.PlanCycle.month).order_by(m.PlanCycle.month)))
            raise WorkflowError(f"no plan cycle for {_label(day)}; cycles: {known or 'none'}")
        return CycleInfo(row.id, row.month, row.status, row.plan_version)


def cycle_info(engine: Engine, cycle_id: int) -> CycleInfo:
    """A cycle by id.

    Raises:
        WorkflowError: unknown id.
    """
    with session_scope(engine) as s:
        row = _cycle_row(s, cycle_id)
        return CycleInfo(row.id, row.month, row.status, row.plan_version)


def current_cycle(engine: Engine) -> CycleInfo:
    """The newest cycle that is not closed (the newest cycle when all are closed)."""
    with session_scope(engine) as s:
        rows = list(s.scalars(select(m.PlanCycle).order_by(m.PlanCycle.month.desc())))
    if not rows:
        raise WorkflowError("no plan cycle yet")
    row = next((r for r in rows if r.status not in ("signed", "closed")), rows[0])
    return CycleInfo(row.id, row.month, row.status, row.plan_version)


def previous_cycle(engine: Engine, cycle_id: int) -> CycleInfo | None:
    """The cycle of the month before (None when there is none)."""
    with session_scope(engine) as s:
        cyc = _cycle_row(s, cycle_id)
        row = s.scalar(
            select(m.PlanCycle).where(m.PlanCycle.month < cyc.month).order_by(m.PlanCycle.month.desc()).limit(1)
        )
        return CycleInfo(row.id, row.month, row.status, row.plan_version) if row is not None else None


# --------------------------------------------------------------------------- states and gates
def has_consensus(engine: Engine, cycle_id: int) -> bool:
    """True when the cycle has a consensus demand (:func:`sop_core.services.demand.consensus_demand`
    when available, else a finished forecast run of the cycle)."""
    from sop_core.services import demand

    consensus = getattr(demand, "consensus_demand", None)
    if consensus is not None:
        try:
            frame = consensus(engine, cycle_id)
        except Exception as err:  # noqa: BLE001 - any failure means: no consensus demand
            log.info("consensus demand of cycle %s not available: %s", cycle_id, err)
            return False
        return frame is not None and len(frame) > 0
    return plan.latest_forecast_run_id(engine, cycle_id) is not None


def _plan_stale(engine: Engine, cycle_id: int, lines: pd.DataFrame) -> bool:
    """True when the stored plan lines differ from the proposed scenario evaluated on today's inputs."""
    with session_scope(engine) as s:
        cyc = _cycle_row(s, cycle_id)
        scenario_id = plan_repo.plan_scenario_id(s, cycle_id, cyc.plan_version)
        row = s.get(m.Scenario, scenario_id) if scenario_id is not None else None
        levers = sc.Levers.from_dict(row.levers) if row is not None else sc.Levers()
    result = sc.evaluate(plan.scenario_inputs(engine, cycle_id), levers)
    return _first_mismatch(lines, result.lines) is not None


def gate_problems(engine: Engine, cycle_id: int, to_state: str) -> list[str]:
    """Why the cycle cannot enter ``to_state`` now (empty list: it can)."""
    problems: list[str] = []
    with session_scope(engine) as s:
        cyc = _cycle_row(s, cycle_id)
        label, status, version = _label(cyc.month), cyc.status, cyc.plan_version
        lines = plan_repo.plan_line_count(s, cycle_id, version)
        frozen = version_frozen(s.connection(), cycle_id, version)
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
        WorkflowError: a gate is not met (the message lists why), or an unknown state.
    """
    problems = gate_problems(engine, cycle_id, to_state)
    if problems:
        raise WorkflowError("; ".join(problems))
    with session_scope(engine) as s:
        cyc = _cycle_row(s, cycle_id)
        before = cyc.status
        if before == to_state:
            return to_state
        if before == "signed" and to_state != "closed":
            cyc.plan_version = cyc.plan_version + 1
        cyc.status, cyc.status_by, cyc.status_at = to_state, user, _now()
        plan_repo.audit(
            s, user, "cycle_state", "plan_cycle", cycle_id,
            {"from": before, "to": to_state, "plan_version": cyc.plan_version, "note": note},
        )
    log.info("cycle %s: %s → %s by %s", cycle_id, before, to_state, user)
    return to_state


def open_cycle(engine: Engine, month: str | dt.date, user: str) -> int:
    """Create the cycle of ``month`` in ``draft`` (returns its id; an existing cycle's id is returned as is)."""
    day = parse_month(month) if isinstance(month, str) else month.replace(day=1)
    with session_scope(engine) as s:
        row = s.scalar(select(m.PlanCycle).where(m.PlanCycle.month == day))
        if row is not None:
            return row.id
        row = m.PlanCycle(month=day, status="draft", status_by=user, status_at=_now())
        s.add(row)
        s.flush()
        plan_repo.audit(s, user, "cycle_state", "plan_cycle", row.id, {"from": None, "to": "draft"})
        return row.id


def state_history(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """Every state change of a cycle: ``at, username, from_state, to_state, plan_version, note``."""
    with session_scope(engine) as s:
        rows = s.scalars(
            select(m.AuditLog)
            .where(m.AuditLog.entity == "plan_cycle", m.AuditLog.entity_id == str(cycle_id),
                   m.AuditLog.action == "cycle_state")
            .order_by(m.AuditLog.at, m.AuditLog.id)
        ).all()
        records = [
            {
                "at": r.at,
                "username": r.username,
                "from_state": (r.detail or {}).get("from"),
                "to_state": (r.detail or {}).get("to"),
                "plan_version": (r.detail or {}).get("plan_version"),
                "note": (r.detail or {}).get("note", ""),
            }
            for r in rows
        ]
    return pd.DataFrame(records, columns=["at", "username", "from_state", "to_state", "plan_version", "note"])


def cycles_frame(engine: Engine) -> pd.DataFrame:
    """Cycles, newest first: ``month, status, state, status_by, status_at, plan_version, frozen, signed_by``."""
    with session_scope(engine) as s:
        rows = list(s.scalars(select(m.PlanCycle).order_by(m.PlanCycle.month.desc())))
        conn = s.connection()
        records = []
        for r in rows:
            signed = plan_repo.signoffs(s, r.id)
            signed = signed[signed["plan_version"] == r.plan_version] if not signed.empty else signed
            records.append(
                {
                    "month": _label(r.month),
                    "status": r.status,
                    "state": STATE_LABELS.get(r.status, r.status),
                    "status_by": r.status_by,
                    "status_at": r.status_at,
                    "plan_version": r.plan_version,
                    "frozen": version_frozen(conn, r.id, r.plan_version),
                    "signed_by": ", ".join(sorted(signed["role"])) if not signed.empty else "",
                }
            )
    cols = ["month", "status", "state", "status_by", "status_at", "plan_version", "frozen", "signed_by"]
    return pd.DataFrame(records, columns=cols)


# --------------------------------------------------------------------------- sign-off and freeze
def is_frozen(engine: Engine, cycle_id: int, version: int | None = None) -> bool:
    """True when the plan version (default: the cycle's current one) is signed off and frozen."""
    with session_scope(engine) as s:
        cyc = _cycle_row(s, cycle_id)
        return version_frozen(s.connection(), cycle_id, version if version is not None else cyc.plan_version)


def signoff_gate(engine: Engine, cycle_id: int) -> list[str]:
    """Why the cycle's current plan version cannot be signed off now (empty list: it can)."""
    with session_scope(engine) as s:
        cyc = _cycle_row(s, cycle_id)
        label, status, version = _label(cyc.month), cyc.status, cyc.plan_version
        lines = plan_repo.plan_lines(s, cycle_id, version)
        frozen = version_frozen(s.connection(), cycle_id, version)
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


def sign_off(engine: Engine, cycle_id: int, role: str, user: str, comment: str = "") -> bool:
    """Sign off the cycle's current plan version as ``role``; returns True when this froze the version.

    Wraps :func:`sop_core.services.plan.sign_off` with the gates; the first sign-off moves the cycle
    through the states it has not passed yet to executive review (one audited step each), the last one freezes the version (:func:`freeze`) and marks the cycle signed.

    Raises:
        WorkflowError: a gate is not met. plan.PlanError / plan.ConflictError: as plan.sign_off.
    """
    problems = signoff_gate(engine, cycle_id)
    if problems:
        raise WorkflowError("; ".join(problems))
    plan.sign_off(engine, cycle_id, role, user, comment)
    with session_scope(engine) as s:
        cyc = _cycle_row(s, cycle_id)
        # the states not passed yet are passed one by one (their gates are the sign-off's: a consensus
        # demand and a proposed plan), so the history shows every step with who and when
        steps = CYCLE_STATES[CYCLE_STATES.index(cyc.status) + 1 : CYCLE_STATES.index("executive_review") + 1]
        for step in steps:
            before = cyc.status
            cyc.status, cyc.status_by, cyc.status_at = step, user, _now()
            plan_repo.audit(
                s, user, "cycle_state", "plan_cycle", cycle_id,
                {"from": before, "to": step, "plan_version": cyc.plan_version, "note": "sign-off"},
            )
    status = plan.signoff_status(engine, cycle_id)
    if bool(status["signed"].all()):
        freeze(engine, cycle_id, user)
        return True
    return False


@dataclass
class _Snapshot:
    inputs: dict[str, Any]
    data_hash: str
    components: pd.DataFrame  # plan_version_line rows
    lines: pd.DataFrame  # plan lines (evaluated)
    kpis: dict[str, float]
    run_id: int | None
    scenario_id: int | None
    cutoff: dt.date | None


def _records(frame: pd.DataFrame, cols: list[str]) -> list[list[Any]]:
    out = []
    for row in frame[cols].itertuples(index=False):
        out.append([f"{v:%Y-%m-%d}" if isinstance(v, (pd.Timestamp, dt.date)) else v for v in row])
    def clean(x: Any) -> Any:
        x = x.item() if isinstance(x, np.generic) else x
        return None if isinstance(x, float) and not np.isfinite(x) else x  # JSON has no NaN (PostgreSQL)

    return [[clean(x) for x in r] for r in out]


def inputs_to_json(inputs: sc.ScenarioInputs) -> dict[str, Any]:
    """Every field of the scenario inputs but the demand as JSON (frames as columns + rows, exact floats)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(inputs):
        if f.name == "demand":
            continue
        value = getattr(inputs, f.name)
        if isinstance(value, pd.DataFrame):
            dates = [c for c in value.columns if pd.api.types.is_datetime64_any_dtype(value[c])]
            out[f.name] = {"columns": [str(c) for c in value.columns], "dates": dates,
                           "rows": _records(value, list(value.columns))}
        else:
            out[f.name] = value
    return out


def inputs_from_json(data: dict[str, Any], demand: pd.DataFrame) -> sc.ScenarioInputs:
    """The scenario inputs stored by :func:`inputs_to_json`, with ``demand``."""
    kwargs: dict[str, Any] = {"demand": demand}
    for name, value in data.items():
        if isinstance(value, dict) and "columns" in value and "rows" in value:
            frame = pd.DataFrame(value["rows"], columns=value["columns"])
            for col in value.get("dates", []):
                frame[col] = pd.to_datetime(frame[col])
            kwargs[name] = frame
        else:
            kwargs[name] = value
    return sc.ScenarioInputs(**kwargs)


def build_snapshot(
    *,
    label: str,
    version: int,
    stat: pd.DataFrame,
    inputs: sc.ScenarioInputs,
    levers: sc.Levers,
    run: dict[str, Any],
    data_hash: str,
    scenario: dict[str, Any] | None,
    overrides: list[dict[str, Any]],
) -> _Snapshot:
    """The frozen snapshot of one plan version (pure: no database).

    Args:
        label: the cycle ``YYYY-MM``; version: the plan version.
        stat: ``sku, period, qty`` — the statistical forecast [units].
        inputs: what the plan was evaluated on (demand after overrides, products, stock, open orders).
        levers: the scenario levers of the plan.
        run: ``id, engine, horizon, freq, level, history_cutoff`` of the forecast run, and ``events`` (the
            event calendar the run used, :func:`sop_core.services.forecasting.event_calendar`) when it has one.
        data_hash: sha256 of the sales history the forecast used.
        scenario: ``id, name`` of the source scenario (None: baseline).
        overrides: the cycle's override rows (for the record).
    """
    result = sc.evaluate(inputs, levers)
    stat = stat.assign(period=pd.to_datetime(stat["period"]))
    base = inputs.demand.assign(period=pd.to_datetime(inputs.demand["period"]))
    joined = stat.merge(base, on=["sku", "period"], how="outer", suffixes=("_stat", "_base")).fillna(0.0)
    changed = joined[joined["qty_stat"] != joined["qty_base"]]
    snap = {
        "cycle": label,
        "plan_version": version,
        "forecast": {k: run.get(k) for k in ("id", "engine", "horizon", "freq", "level", "history_cutoff")}
        | ({"events": run["events"]} if run.get("events") is not None else {}),
        "scenario": scenario,
        "levers": levers.to_dict(),
        "base_overrides": _records(changed.rename(columns={"qty_base": "qty"}), ["sku", "period", "qty"]),
        "overrides": overrides,
        "plan_inputs": inputs_to_json(inputs),
    }
    lines = result.lines
    comp = lines[["sku", "family", "period", "demand_qty", "served_qty", "revenue"]].merge(
        joined.rename(columns={"qty_stat": "stat_qty", "qty_base": "base_qty"}), on=["sku", "period"], how="left"
    )
    comp[["stat_qty", "base_qty"]] = comp[["stat_qty", "base_qty"]].fillna(0.0)
    return _Snapshot(
        inputs=snap,
        data_hash=data_hash,
        components=comp,
        lines=lines,
        kpis=plan._json_kpis(result.kpis),
        run_id=run.get("id"),
        scenario_id=scenario["id"] if scenario else None,
        cutoff=pd.Timestamp(run["history_cutoff"]).date() if run.get("history_cutoff") else None,
    )


def store_frozen_version(
    session: Any, cycle_id: int, version: int, snap: _Snapshot, user: str, at: dt.datetime, *, write_lines: bool
) -> int:
    """Write the frozen ``plan_version`` row and its ``plan_version_line`` rows (and, with
    ``write_lines``, the plan lines themselves); returns the version row id."""
    if write_lines:
        repo.insert_frame(
            session, m.PlanLine, snap.lines, cycle_id=cycle_id, plan_version=version, scenario_id=snap.scenario_id
        )
    repo.insert_frame(session, PlanVersionLine, snap.components, cycle_id=cycle_id, plan_version=version)
    row = PlanVersion(
        cycle_id=cycle_id,
        version=version,
        status="frozen",
        scenario_id=snap.scenario_id,
        forecast_run_id=snap.run_id,
        history_cutoff=snap.cutoff,
        data_hash=snap.data_hash,
        inputs=snap.inputs,
        inputs_hash=inputs_hash(snap.data_hash, snap.inputs),
        results_hash=results_hash(snap.lines),
        package_versions=package_versions(),
        totals=snap.kpis,
        frozen_by=user,
        frozen_at=at,
    )
    session.add(row)
    session.flush()
    return row.id


def _override_records(session: Any, cycle_id: int) -> list[dict[str, Any]]:
    frame = repo.read_frame(session, m.ForecastOverride, m.ForecastOverride.cycle_id == cycle_id)
    cols = ["level", "item", "period", "value", "pct", "reason", "author"]
    if frame.empty:
        return []
    frame = frame[cols].astype(object).where(pd.notna(frame[cols]), None)
    frame["period"] = frame["period"].map(lambda p: f"{pd.Timestamp(p):%Y-%m-%d}")
    return frame.to_dict("records")


def freeze(engine: Engine, cycle_id: int, user: str) -> int:
    """Freeze the cycle's current plan version (every role has signed): store the snapshot of its
    inputs, their hash and the package versions, and mark the cycle signed. Returns the version.

    Raises:
        WorkflowError: not every role has signed, or there is no forecast run or plan.
    """
    with session_scope(engine) as s:
        cyc = _cycle_row(s, cycle_id)
        label, version = _label(cyc.month), cyc.plan_version
        if s.scalar(select(PlanVersion).where(PlanVersion.cycle_id == cycle_id, PlanVersion.version == version)):
            return version
        run = plan_repo.latest_forecast_run(s, cycle_id)
        if run is None:
            raise WorkflowError(f"cycle {label} has no forecast run to freeze")
        stat = plan_repo.forecast_demand(s, run.id).rename(columns={"quantity": "qty"})
        scenario_id = plan_repo.plan_scenario_id(s, cycle_id, version)
        sc_row = s.get(m.Scenario, scenario_id) if scenario_id is not None else None
        levers = sc.Levers.from_dict(sc_row.levers) if sc_row is not None else sc.Levers()
        scenario = {"id": sc_row.id, "name": sc_row.name} if sc_row is not None else None
        run_info = {
            "id": run.id,
            "engine": run.engine,
            "horizon": run.horizon,
            "freq": run.freq,
            "level": list((run.params or {}).get("level", FORECAST_LEVEL)),
            "history_cutoff": (run.params or {}).get("last_actual"),
            "events": (run.params or {}).get("event_calendar"),
        }
        data_hash = run.data_hash
        overrides = _override_records(s, cycle_id)
    signed = plan.signoff_status(engine, cycle_id)
    if not bool(signed["signed"].all()):
        raise WorkflowError(f"cycle {label}: not every role has signed plan version {version}")
    inputs = plan.scenario_inputs(engine, cycle_id)
    snap = build_snapshot(
        label=label, version=version, stat=stat, inputs=inputs, levers=levers, run=run_info,
        data_hash=data_hash, scenario=scenario, overrides=overrides,
    )
    with session_scope(engine) as s:
        cyc = _cycle_row(s, cycle_id)
        store_frozen_version(s, cycle_id, version, snap, user, _now(), write_lines=False)
        before = cyc.status
        cyc.status, cyc.status_by, cyc.status_at = "signed", user, _now()
        plan_repo.audit(
            s, user, "cycle_state", "plan_cycle", cycle_id,
            {"from": before, "to": "signed", "plan_version": version, "note": "every role signed off"},
        )
        plan_repo.audit(s, user, "plan_frozen", "plan_cycle", cycle_id, {"plan_version": version})
    log.info("cycle %s plan version %s frozen", label, version)
    return version


def new_version(engine: Engine, cycle_id: int, user: str, note: str = "") -> int:
    """Start a new plan version of a signed cycle (back to reconciliation); returns its number.

    Raises:
        WorkflowError: the cycle is closed.
    """
    with session_scope(engine) as s:
        cyc = _cycle_row(s, cycle_id)
        if cyc.status == "closed":
            raise WorkflowError(f"cycle {_label(cyc.month)} is closed: its plan cannot change")
        before = cyc.status
        cyc.plan_version = cyc.plan_version + 1
        cyc.status, cyc.status_by, cyc.status_at = "reconciliation", user, _now()
        plan_repo.audit(
            s, user, "cycle_state", "plan_cycle", cycle_id,
            {"from": before, "to": "reconciliation", "plan_version": cyc.plan_version, "note": note or "new version"},
        )
        return cyc.plan_version


def plan_versions(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """Frozen versions of a cycle: ``version, frozen_by, frozen_at, inputs_hash, scenario, revenue, margin``."""
    with session_scope(engine) as s:
        rows = s.scalars(select(PlanVersion).where(PlanVersion.cycle_id == cycle_id).order_by(PlanVersion.version))
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
            for r in rows
        ]
    cols = ["version", "status", "frozen_by", "frozen_at", "inputs_hash", "scenario", "revenue", "margin"]
    return pd.DataFrame(records, columns=cols)


# --------------------------------------------------------------------------- reproduce
@dataclass
class ReproduceReport:
    """What :func:`reproduce` found: ``ok`` when every number matched."""

    cycle: str
    plan_version: int
    checked: int = 0
    mismatches: int = 0
    first: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.mismatches == 0

    def summary(self) -> str:
        if self.ok:
            return f"cycle {self.cycle} plan version {self.plan_version}: all {self.checked} numbers match"
        return (
            f"cycle {self.cycle} plan version {self.plan_version}: {self.mismatches} of {self.checked} numbers "
            f"differ; first: {self.first}"
        )


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b) <= ABS_TOL + REL_TOL * np.abs(b)


def _first_mismatch(stored: pd.DataFrame, fresh: pd.DataFrame, fields: tuple[str, ...] = PLAN_FIELDS) -> str | None:
    """The first differing number of two line frames (``sku, period`` + ``fields``), None when equal."""
    bad, _n, first = _compare(stored, fresh, fields, "plan line")
    return first if bad else None


def _compare(stored: pd.DataFrame, fresh: pd.DataFrame, fields: tuple[str, ...], what: str) -> tuple[int, int, str | None]:
    a = stored[["sku", "period", *fields]].assign(period=pd.to_datetime(stored["period"]))
    b = fresh[["sku", "period", *fields]].assign(period=pd.to_datetime(fresh["period"]))
    both = a.merge(b, on=["sku", "period"], how="outer", suffixes=("_stored", "_new"), indicator=True)
    both = both.sort_values(["sku", "period"], kind="stable").reset_index(drop=True)
    n = len(both) * len(fields)
    bad = 0
    first: str | None = None
    missing = both[both["_merge"] != "both"]
    if len(missing):
        bad += len(missing) * len(fields)
        r = missing.iloc[0]
        side = "stored only" if r["_merge"] == "left_only" else "reproduced only"
        first = f"{what} {r['sku']} {pd.Timestamp(r['period']):%Y-%m}: {side}"
    both = both[both["_merge"] == "both"]
    for f in fields:
        x, y = both[f + "_stored"].to_numpy(float), both[f + "_new"].to_numpy(float)
        ok = _close(y, x) | (np.isnan(x) & np.isnan(y))
        if (~ok).any():
            bad += int((~ok).sum())
            if first is None:
                r = both[~ok].iloc[0]
                first = (
                    f"{what} {r['sku']} {pd.Timestamp(r['period']):%Y-%m} {f}: stored {r[f + '_stored']!r}, "
                    f"reproduced {r[f + '_new']!r}"
                )
    return bad, n, first


def forecast_history(history: pd.DataFrame, horizon: int, level: tuple[int, ...] = FORECAST_LEVEL,
                     events: pd.DataFrame | None = None, products: pd.DataFrame | None = None) -> pd.DataFrame:
    """The statistical forecast of ``history`` (``sku, period, quantity``) with the engine of
    :func:`sop_core.services.forecasting.run_forecast` and the event calendar ``events`` (``start, scope,
    uplift_pct``; scopes name SKUs or the families of ``products``):
    ``sku, period, yhat, yhat_lo_*, yhat_hi_*, model``."""
    from sop_core.services.forecasting import event_uplift, statistical_forecast

    long = history.rename(columns={"sku": "unique_id", "period": "ds", "quantity": "y"})[["unique_id", "ds", "y"]]
    long = long.assign(ds=pd.to_datetime(long["ds"]))
    uplift = None
    if events is not None and not events.empty:
        if products is None:
            raise ValueError("forecast_history: events need the products (sku, family) to find their SKUs")
        uplift = event_uplift(events, products, sorted(long["unique_id"].astype(str).unique()))
    frame = statistical_forecast(long, horizon, uplift, level=tuple(level), workers=1)
    return frame.rename(columns={"unique_id": "sku", "ds": "period"})


def _history_until(session: Any, cutoff: dt.date | None) -> pd.DataFrame:
    where = [m.SalesHistory.period <= cutoff] if cutoff is not None else []
    frame = repo.read_frame(session, m.SalesHistory, *where, order_by=[m.SalesHistory.sku, m.SalesHistory.period])
    return frame[["sku", "period", "quantity"]]


def reproduce(engine: Engine, cycle_id: int, progress: Progress | None = None) -> ReproduceReport:
    """Re-run the forecast and the plan of the cycle's newest frozen version from its stored inputs and
    compare every number (history hash, snapshot hash, forecast rows, plan lines).

    Raises:
        WorkflowError: the cycle has no frozen plan version.
    """
    report = progress or (lambda _f, _m: None)
    with session_scope(engine) as s:
        cyc = _cycle_row(s, cycle_id)
        label = _label(cyc.month)
        pv = s.scalar(
            select(PlanVersion)
            .where(PlanVersion.cycle_id == cycle_id, PlanVersion.status == "frozen")
            .order_by(PlanVersion.version.desc())
            .limit(1)
        )
        if pv is None:
            raise WorkflowError(f"cycle {label} has no signed-off plan version to reproduce")
        snap, version = dict(pv.inputs), pv.version
        stored_inputs_hash, stored_data_hash, cutoff = pv.inputs_hash, pv.data_hash, pv.history_cutoff
        stored_versions = dict(pv.package_versions or {})
        history = _history_until(s, cutoff)
        stored_fc = (
            repo.read_frame(s, m.Forecast, m.Forecast.run_id == pv.forecast_run_id) if pv.forecast_run_id else None
        )
        stored_lines = plan_repo.plan_lines(s, cycle_id, version)
        products = plan_repo.products(s)
    out = ReproduceReport(cycle=label, plan_version=version)

    def note(bad: int, n: int, first: str | None) -> None:
        out.checked += n
        out.mismatches += bad
        if bad and out.first is None:
            out.first = first

    report(0.05, "Checking the stored inputs…")
    now_versions = package_versions()
    for pkg, ver in stored_versions.items():
        if now_versions.get(pkg) != ver:
            out.notes.append(f"{pkg} {ver} at sign-off, {now_versions.get(pkg)} now")
    h = history_hash(history)
    note(int(h != stored_data_hash), 1, f"sales history up to {cutoff:%Y-%m} changed since sign-off (hash differs)")
    note(
        int(inputs_hash(stored_data_hash, snap) != stored_inputs_hash),
        1,
        "the stored input snapshot was changed (inputs hash differs)",
    )
    fcst = snap["forecast"]
    report(0.15, "Re-running the statistical forecast…")
    from sop_core.services.forecasting import calendar_frame

    fresh = forecast_history(history, int(fcst["horizon"]), tuple(fcst.get("level") or FORECAST_LEVEL),
                             calendar_frame(fcst.get("events")), products)
    if stored_fc is not None:
        note(*_compare(stored_fc, fresh, ("yhat",), "forecast"))
    report(0.8, "Re-computing the plan…")
    demand = fresh[["sku", "period", "yhat"]].rename(columns={"yhat": "qty"})
    if snap.get("base_overrides"):
        over = pd.DataFrame(snap["base_overrides"], columns=["sku", "period", "qty"])
        over["period"] = pd.to_datetime(over["period"])
        demand = demand.merge(over, on=["sku", "period"], how="outer", suffixes=("", "_o"))
        demand["qty"] = demand["qty_o"].where(demand["qty_o"].notna(), demand["qty"]).fillna(0.0)
        demand = demand[["sku", "period", "qty"]]
    inputs = inputs_from_json(snap["plan_inputs"], demand)
    result = sc.evaluate(inputs, sc.Levers.from_dict(snap["levers"]))
    note(*_compare(stored_lines, result.lines, PLAN_FIELDS, "plan line"))
    report(1.0, out.summary())
    log.info(out.summary())
    return out


# --------------------------------------------------------------------------- plan diff
def version_frame(engine: Engine, cycle_id: int, version: int | None = None) -> pd.DataFrame:
    """A plan version as :data:`sop_core.planning.plan_diff.VERSION_COLUMNS` (frozen: as stored; open: evaluated now
    from the cycle's inputs and the proposed scenario, or the baseline when nothing was promoted)."""
    with session_scope(engine) as s:
        cyc = _cycle_row(s, cycle_id)
        version = cyc.plan_version if version is None else version
        stored = repo.read_frame(
            s, PlanVersionLine, PlanVersionLine.cycle_id == cycle_id, PlanVersionLine.plan_version == version
        )
        families = plan_repo.products(s)[["sku", "family"]]
        if stored.empty:
            run = plan_repo.latest_forecast_run(s, cycle_id)
            stat = plan_repo.forecast_demand(s, run.id).rename(columns={"quantity": "qty"}) if run is not None else None
            scenario_id = plan_repo.plan_scenario_id(s, cycle_id, version)
            row = s.get(m.Scenario, scenario_id) if scenario_id is not None else None
            levers = sc.Levers.from_dict(row.levers) if row is not None else sc.Levers()
    if not stored.empty:
        return stored.merge(families, on="sku", how="left")[plan_diff_math.VERSION_COLUMNS]
    if stat is None:
        raise WorkflowError(f"cycle {cycle_id} has no forecast yet")
    inputs = plan.scenario_inputs(engine, cycle_id)
    snap = build_snapshot(
        label="", version=version, stat=stat, inputs=inputs, levers=levers, run={}, data_hash="",
        scenario=None, overrides=[],
    )
    return snap.components[plan_diff_math.VERSION_COLUMNS]


def actual_sales(engine: Engine, first: dt.date, last: dt.date) -> pd.DataFrame:
    """``sku, period, quantity, revenue`` of the sales history in ``[first, last]`` (revenue = quantity ×
    net price, the product's unit price where the net price is missing)."""
    with session_scope(engine) as s:
        hist = repo.read_frame(s, m.SalesHistory, m.SalesHistory.period >= first, m.SalesHistory.period <= last)
        prices = repo.read_frame(s, m.Product)[["sku", "unit_price"]]
    if hist.empty:
        return pd.DataFrame(columns=["sku", "period", "quantity", "revenue"])
    hist = hist.merge(prices, on="sku", how="left")
    price = hist["net_price"].where(hist["net_price"].notna(), hist["unit_price"]).astype(float)
    hist["revenue"] = hist["quantity"].astype(float) * price
    return hist[["sku", "period", "quantity", "revenue"]]


def months_text(first: Any, last: Any) -> str:
    """``2026-10`` for one month, ``2026-10 – 2028-03`` for a range (month starts or dates)."""
    a, b = f"{pd.Timestamp(first):%Y-%m}", f"{pd.Timestamp(last):%Y-%m}"
    return a if a == b else f"{a} – {b}"


@dataclass
class DiffResult:
    """A plan diff: the labels of both sides, the lines (:func:`sop_core.planning.plan_diff.decompose`) and the waterfall.

    ``after_first`` is the first planned month of the plan after: the months of the comparison window
    before it are history now, and their whole change is new actuals.
    """

    before_label: str
    after_label: str
    lines: pd.DataFrame
    waterfall: pd.DataFrame
    measure: str
    after_first: dt.date | None = None

    def by(self, level: str | list[str] | None) -> pd.DataFrame:
        return plan_diff_math.summarize(self.lines, level)

    @property
    def total_change(self) -> float:
        """After − before over the comparison window [currency, or units for the measure ``units``]."""
        return float(self.lines["change"].sum()) if not self.lines.empty else 0.0

    @property
    def new_actuals(self) -> float:
        """The part of :attr:`total_change` from the months that are history now (actual − plan before)."""
        return float(self.lines["new_actuals"].sum()) if not self.lines.empty else 0.0

    @property
    def actual_months(self) -> list[pd.Timestamp]:
        """The months of the window that are history now (before the plan after's first month)."""
        if self.lines.empty or self.after_first is None:
            return []
        periods = pd.to_datetime(self.lines["period"])
        return sorted(periods[periods < pd.Timestamp(self.after_first)].unique())

    @property
    def window(self) -> str:
        """The comparison window as text, ``2026-10 – 2028-03`` (empty without lines)."""
        if self.lines.empty:
            return ""
        return months_text(self.lines["period"].min(), self.lines["period"].max())

    @property
    def forecast_window(self) -> str:
        """The months of the window that both plans forecast (from the plan after's first month on)."""
        periods = pd.to_datetime(self.lines["period"]) if not self.lines.empty else pd.Series(dtype="datetime64[ns]")
        if self.after_first is not None:
            periods = periods[periods >= pd.Timestamp(self.after_first)]
        return months_text(periods.min(), periods.max()) if len(periods) else ""

    @property
    def basis(self) -> str:
        """What the total change covers, in words: the window, and the months counted at actual sales.

        Example: ``2026-10 – 2028-03, the months of 2026-10 v1 up to the last month of 2026-11 v1; 2026-10 at
        actual sales (new actuals)``.
        """
        if self.lines.empty:
            return "no month in both plans"
        text = f"{self.window}, the months of {self.before_label} up to the last month of {self.after_label}"
        actual = self.actual_months
        if actual:
            text += f"; {months_text(actual[0], actual[-1])} at actual sales (new actuals)"
        return text


def last_signed_version(engine: Engine, cycle_id: int) -> tuple[int, int] | None:
    """``(cycle id, version)`` of the newest frozen version of an earlier cycle (None when there is none)."""
    with session_scope(engine) as s:
        cyc = _cycle_row(s, cycle_id)
        row = s.execute(
            select(PlanVersion.cycle_id, PlanVersion.version)
            .join(m.PlanCycle, m.PlanCycle.id == PlanVersion.cycle_id)
            .where(m.PlanCycle.month < cyc.month, PlanVersion.status == "frozen")
            .order_by(m.PlanCycle.month.desc(), PlanVersion.version.desc())
            .limit(1)
        ).first()
    return (int(row[0]), int(row[1])) if row else None


def _version_label(engine: Engine, cycle_id: int, version: int | None) -> str:
    with session_scope(engine) as s:
        cyc = _cycle_row(s, cycle_id)
        return f"{_label(cyc.month)} v{version if version is not None else cyc.plan_version}"


def plan_diff(
    engine: Engine,
    after: tuple[int, int | None],
    before: tuple[int, int | None] | None = None,
    measure: str = "revenue",
) -> DiffResult:
    """The change from ``before`` to ``after`` (each ``(cycle id, version or None = current)``) per
    SKU × month, split by cause (:mod:`sop_core.planning.plan_diff`). ``before`` defaults to the last signed plan of
    an earlier cycle.

    Raises:
        WorkflowError: no earlier signed plan to compare with.
    """
    if before is None:
        before = last_signed_version(engine, after[0])
        if before is None:
            raise WorkflowError("no earlier signed plan to compare with")
    a = version_frame(engine, *before)
    b = version_frame(engine, *after)
    first = pd.Timestamp(a["period"].min()).date() if not a.empty else dt.date.min
    last = pd.Timestamp(b["period"].min()).date() if not b.empty else dt.date.max
    actuals = actual_sales(engine, first, last)
    lines = plan_diff_math.decompose(a, b, actuals, measure=measure)
    return DiffResult(
        before_label=_version_label(engine, *before),
        after_label=_version_label(engine, *after),
        lines=lines,
        waterfall=plan_diff_math.waterfall(lines),
        measure=measure,
        after_first=pd.Timestamp(b["period"].min()).date() if not b.empty else None,
    )


#: What the plan margin of a plan line is (the margin vs last plan and vs budget, the plan table's margin).
LINE_MARGIN_BASIS = (
    "revenue − cost of goods − holding cost − overtime − alternate-supplier premium (each SKU's share of the plan's)"
)


@dataclass(frozen=True)
class LastPlanChange:
    """The cycle's current plan against the last signed plan of an earlier cycle: the one "vs last plan"
    comparison that the Executive review page, the meeting pack (workbook and deck) and the ``diff`` command
    show (:func:`last_plan_change`).

    Revenue vs last plan is the plan diff's total change (:attr:`DiffResult.total_change`): over the last
    plan's months up to this plan's last month, the months that are history now at actual sales (their
    change is *new actuals*). Margin vs last plan is over the months both plans forecast only (there is
    no actual margin), with the line margin of :data:`LINE_MARGIN_BASIS`. Money in the company currency.
    """

    label: str | None  # the last signed plan, "2026-10 v1"; None: there is none
    diff: DiffResult | None
    margin_change: float | None

    @property
    def revenue_change(self) -> float | None:
        """Revenue vs last plan: this plan − the last signed plan over :attr:`revenue_basis` [currency]."""
        return self.diff.total_change if self.diff is not None else None

    @property
    def new_actuals(self) -> float | None:
        """The part of :attr:`revenue_change` from the months that are history now [currency]."""
        return self.diff.new_actuals if self.diff is not None else None

    @property
    def forecast_change(self) -> float | None:
        """The part of :attr:`revenue_change` over the months both plans forecast [currency]."""
        return self.diff.total_change - self.diff.new_actuals if self.diff is not None else None

    @property
    def revenue_basis(self) -> str | None:
        """``2026-10 – 2028-03 (2026-10 at actual sales)``: the months the revenue change covers."""
        if self.diff is None:
            return None
        actual = self.diff.actual_months
        return self.diff.window + (f" ({months_text(actual[0], actual[-1])} at actual sales)" if actual else "")

    @property
    def margin_basis(self) -> str | None:
        """``2026-11 – 2028-03, the months both plans forecast``: the months the margin change covers."""
        return f"{self.diff.forecast_window}, the months both plans forecast" if self.diff is not None else None

    def figures(self) -> dict[str, Any]:
        """The comparison as plain values (the keys :func:`headline` adds)."""
        return {
            "last_plan_label": self.label,
            "revenue_vs_last_plan": self.revenue_change,
            "revenue_vs_last_plan_new_actuals": self.new_actuals,
            "revenue_vs_last_plan_forecast_months": self.forecast_change,
            "margin_vs_last_plan": self.margin_change,
            "last_plan_revenue_basis": self.revenue_basis,
            "last_plan_margin_basis": self.margin_basis,
        }


def last_plan_change(engine: Engine, cycle_id: int, *, current: plan.CurrentPlan | None = None) -> LastPlanChange:
    """The cycle's current plan version against the last signed plan of an earlier cycle (:class:`LastPlanChange`;
    every field None when there is no earlier signed plan).

    The revenue change is :func:`plan_diff` of the default pair (:func:`default_diff_pair`), the figure the
    ``diff`` command prints as its total change; the margin change compares the plan lines (``current``: the
    cycle's :func:`sop_core.services.plan.current_plan`, when the caller has it already) with the signed
    version's over the months both forecast.
    """
    last = last_signed_version(engine, cycle_id)
    if last is None:
        return LastPlanChange(label=None, diff=None, margin_change=None)
    diff = plan_diff(engine, (cycle_id, cycle_info(engine, cycle_id).plan_version), last)
    _info, lines = current if current is not None else plan.current_plan(engine, cycle_id)
    with session_scope(engine) as s:
        prev = plan_repo.plan_lines(s, *last)
    lines = lines.assign(period=pd.to_datetime(lines["period"]))
    prev = prev.assign(period=pd.to_datetime(prev["period"]))
    common = set(lines["period"]) & set(prev["period"])
    now = lines[lines["period"].isin(common)]
    was = prev[prev["period"].isin(common)]
    margin = float((now["revenue"].sum() - now["cost"].sum()) - (was["revenue"].sum() - was["cost"].sum()))
    return LastPlanChange(label=diff.before_label, diff=diff, margin_change=margin)


#: Columns of :func:`diff_choices`.
DIFF_CHOICE_COLUMNS = ["key", "cycle_id", "month", "version", "state", "frozen", "current", "proposed", "label"]


def plan_key(month: str | dt.date, version: int) -> str:
    """The text that names a plan version: ``YYYY-MM:vN`` (as :func:`plan_ref` reads it)."""
    return f"{month if isinstance(month, str) else _label(month)}:v{int(version)}"


def diff_choices(engine: Engine) -> pd.DataFrame:
    """The plan versions a plan diff can compare, newest cycle and version first.

    Per cycle: every frozen (signed) version, every version with plan lines and the current version.
    Columns :data:`DIFF_CHOICE_COLUMNS`: ``key`` (``YYYY-MM:vN``), ``cycle_id``, ``month``
    (``YYYY-MM``), ``version``, ``state`` (the cycle's state), ``frozen`` (signed off), ``current``
    (the cycle's current version), ``proposed`` (has plan lines; an open version without them is the
    baseline) and ``label`` — e.g. ``2026-10 v1 (signed)``, ``2026-11 v1 (demand review, baseline)``,
    ``2026-12 v1 (superseded)`` for an earlier version that was never signed.
    """
    records = []
    with session_scope(engine) as s:
        conn = s.connection()
        for cyc in s.scalars(select(m.PlanCycle).order_by(m.PlanCycle.month.desc())):
            stored = set(s.scalars(select(PlanVersion.version).where(PlanVersion.cycle_id == cyc.id)))
            with_lines = set(
                s.scalars(select(m.PlanLine.plan_version).where(m.PlanLine.cycle_id == cyc.id).distinct())
            )
            for version in sorted(stored | with_lines | {cyc.plan_version}, reverse=True):
                frozen = version_frozen(conn, cyc.id, version)
                current = version == cyc.plan_version
                proposed = version in with_lines
                if frozen:
                    note = "signed"
                elif current:
                    note = STATE_LABELS.get(cyc.status, cyc.status).lower() + ("" if proposed else ", baseline")
                else:
                    note = "superseded"
                month = _label(cyc.month)
                records.append(
                    {
                        "key": plan_key(month, version),
                        "cycle_id": cyc.id,
                        "month": month,
                        "version": int(version),
                        "state": cyc.status,
                        "frozen": frozen,
                        "current": current,
                        "proposed": proposed,
                        "label": f"{month} v{version} ({note})",
                    }
                )
    return pd.DataFrame(records, columns=DIFF_CHOICE_COLUMNS)


def plan_ref(engine: Engine, text: str) -> tuple[int, int]:
    """``YYYY-MM`` (the cycle's current version) or ``YYYY-MM:vN`` → ``(cycle id, version)``.

    Raises:
        WorkflowError: not a month, no cycle for it, or a version the cycle does not have.
    """
    month, _, version_text = str(text).strip().partition(":")
    cyc = cycle_by_month(engine, month)
    if not version_text:
        return cyc.id, cyc.plan_version
    digits = version_text.strip().lower().removeprefix("v")
    if not digits.isdigit():
        raise WorkflowError(f"{text!r}: the version is vN, e.g. {cyc.label}:v1")
    choices = diff_choices(engine)
    versions = choices.loc[choices["cycle_id"] == cyc.id, "version"].tolist()
    if int(digits) not in versions:
        known = ", ".join(f"v{v}" for v in sorted(versions))
        raise WorkflowError(f"cycle {cyc.label} has no plan version {int(digits)}; versions: {known}")
    return cyc.id, int(digits)


def default_diff_pair(engine: Engine, cycle_id: int) -> tuple[str | None, str]:
    """Keys (:func:`plan_key`) of the default plan diff of a cycle: the last signed plan of an earlier
    cycle (None when there is none) → the cycle's current version."""
    cyc = cycle_info(engine, cycle_id)
    before = last_signed_version(engine, cycle_id)
    before_key = plan_key(cycle_info(engine, before[0]).month, before[1]) if before is not None else None
    return before_key, plan_key(cyc.month, cyc.plan_version)


# --------------------------------------------------------------------------- decisions
DECISION_COLUMNS = ["id", "decision", "owner", "due_date", "scenario", "scenario_id", "family", "status", "outcome",
                    "created_by", "created_at"]


def add_decision(
    engine: Engine,
    cycle_id: int,
    decision: str,
    owner: str,
    due_date: dt.date | None,
    user: str,
    scenario_id: int | None = None,
    family: str = "*",
) -> int:
    """Log a decision of the executive review; returns its id.

    Raises:
        WorkflowError: empty text or owner, or a scenario of another cycle.
    """
    if not decision.strip():
        raise WorkflowError("the decision is empty: write what was decided")
    if not owner.strip():
        raise WorkflowError("a decision needs an owner")
    with session_scope(engine) as s:
        _cycle_row(s, cycle_id)
        if scenario_id is not None:
            row = s.get(m.Scenario, scenario_id)
            if row is None or row.cycle_id != cycle_id:
                raise WorkflowError(f"scenario {scenario_id} is not a scenario of this cycle")
        d = Decision(
            cycle_id=cycle_id, decision=decision.strip(), owner=owner.strip(), due_date=due_date,
            scenario_id=scenario_id, family=family or "*", status="open", outcome="", created_by=user,
            created_at=_now(),
        )
        s.add(d)
        s.flush()
        plan_repo.audit(s, user, "decision_added", "decision", d.id, {"cycle_id": cycle_id, "decision": d.decision})
        return d.id


def update_decision(engine: Engine, decision_id: int, status: str, outcome: str, user: str) -> None:
    """Record a decision's status (open | done | dropped) and its outcome text.

    Raises:
        WorkflowError: unknown decision or status.
    """
    if status not in ("open", "done", "dropped"):
        raise WorkflowError(f"unknown decision status {status!r}: open, done or dropped")
    with session_scope(engine) as s:
        d = s.get(Decision, decision_id)
        if d is None:
            raise WorkflowError(f"decision {decision_id} does not exist")
        d.status, d.outcome = status, outcome
        plan_repo.audit(s, user, "decision_updated", "decision", decision_id, {"status": status, "outcome": outcome})


def decisions(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """The decision log of a cycle (:data:`DECISION_COLUMNS`)."""
    with session_scope(engine) as s:
        frame = repo.read_frame(s, Decision, Decision.cycle_id == cycle_id)
        names = {r.id: r.name for r in plan_repo.scenarios(s, cycle_id)}
    if frame.empty:
        return pd.DataFrame(columns=DECISION_COLUMNS)
    frame["scenario"] = frame["scenario_id"].map(lambda i: names.get(int(i), "") if pd.notna(i) else "")
    frame["due_date"] = frame["due_date"].dt.date
    return frame[DECISION_COLUMNS]


#: Columns of :func:`past_decisions`.
PAST_DECISION_COLUMNS = [*DECISION_COLUMNS, "cycle", "changes", "scope", "months", "planned_qty", "actual_qty",
                         "planned_revenue", "actual_revenue", "actual_vs_plan", "volume_vs_plan", "result"]
NO_ACTUALS = "no actuals yet"


def _signed_version(session: Any, cycle_id: int) -> PlanVersion | None:
    return session.scalar(select(PlanVersion).where(PlanVersion.cycle_id == cycle_id, PlanVersion.status == "frozen")
                          .order_by(PlanVersion.version.desc()).limit(1))


def _scenario_plan(engine: Engine, cycle_id: int, version: int, levers: sc.Levers) -> pd.DataFrame:
    """Plan lines of ``levers`` evaluated on the inputs the signed ``version`` was evaluated on (its stored
    snapshot, and the demand it started from: ``plan_version_line.base_qty``)."""
    with session_scope(engine) as s:
        pv = s.scalar(select(PlanVersion).where(PlanVersion.cycle_id == cycle_id, PlanVersion.version == version))
        snap = dict(pv.inputs or {})
        base = repo.read_frame(s, PlanVersionLine, PlanVersionLine.cycle_id == cycle_id,
                               PlanVersionLine.plan_version == version)
    demand = base[["sku", "period", "base_qty"]].rename(columns={"base_qty": "qty"})
    inputs = inputs_from_json(snap["plan_inputs"], demand)
    return sc.evaluate(inputs, levers).lines[["sku", "period", "demand_qty", "revenue"]]


def _outcome(plan_lines: pd.DataFrame | None, actual: pd.DataFrame, scope: sc.LeverScope,
             last_actual: dt.date | None) -> dict[str, Any]:
    """Planned against actual volume and revenue of ``scope`` over the plan's months that have actuals."""
    out: dict[str, Any] = {"months": "", "planned_qty": None, "actual_qty": None, "planned_revenue": None,
                           "actual_revenue": None, "actual_vs_plan": None, "volume_vs_plan": None}
    if plan_lines is None or plan_lines.empty:
        return {**out, "result": "no signed plan"}
    pl = plan_lines.assign(period=pd.to_datetime(plan_lines["period"]))
    if scope.skus is not None:
        pl = pl[pl["sku"].isin(scope.skus)]
    if scope.first is not None:
        pl = pl[pl["period"] >= scope.first]
    if scope.last is not None:
        pl = pl[pl["period"] <= scope.last]
    pl = pl[pl["period"] <= pd.Timestamp(last_actual)] if last_actual is not None else pl.iloc[0:0]
    months = sorted(pl["period"].unique())
    if not months:
        return {**out, "result": NO_ACTUALS}
    ac = actual.assign(period=pd.to_datetime(actual["period"]))
    ac = ac[ac["period"].isin(months)]
    if scope.skus is not None:
        ac = ac[ac["sku"].isin(scope.skus)]
    planned_qty, actual_qty = float(pl["demand_qty"].sum()), float(ac["quantity"].sum())
    planned_rev, actual_rev = float(pl["revenue"].sum()), float(ac["revenue"].sum())
    n = len(months)
    return {
        "months": ", ".join(f"{pd.Timestamp(x):%Y-%m}" for x in months),
        "planned_qty": planned_qty,
        "actual_qty": actual_qty,
        "planned_revenue": planned_rev,
        "actual_revenue": actual_rev,
        "actual_vs_plan": actual_rev / planned_rev - 1.0 if planned_rev else None,
        "volume_vs_plan": actual_qty / planned_qty - 1.0 if planned_qty else None,
        "result": f"actuals for {n} month{'s' if n > 1 else ''}",
    }


def past_decisions(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """Decisions of earlier cycles with their actual outcome, tied to what the decision's linked scenario
    changed.

    For a decision linked to a scenario: ``changes`` lists its levers (:func:`sop_core.planning.scenario.describe_levers`) and
    ``scope`` the SKUs and months they act on (:func:`sop_core.planning.scenario.lever_scope`; a scenario that changes every SKU is
    narrowed to the decision's family when it names one). The plan is the scenario's own: the signed plan
    when the scenario is the one signed off, else the scenario's levers evaluated on the signed version's
    inputs. Without a linked scenario the scope is the decision's family (``*``: the whole signed plan).
    The outcome compares, over the plan's months in scope that now have actuals, the planned demand and
    revenue of the scope's SKUs with their actual sales (quantity and quantity × net price).

    Columns: :data:`PAST_DECISION_COLUMNS`: :data:`DECISION_COLUMNS` + ``cycle, changes, scope, months,
    planned_qty, actual_qty`` [units], ``planned_revenue, actual_revenue`` [currency], ``actual_vs_plan``
    (revenue) and ``volume_vs_plan`` (shares: actual ÷ planned − 1; None without actual months) and
    ``result`` ("no actuals yet", "no signed plan" or "actuals for N months").
    """
    with session_scope(engine) as s:
        cyc = _cycle_row(s, cycle_id)
        earlier = list(s.scalars(select(m.PlanCycle).where(m.PlanCycle.month < cyc.month)
                                 .order_by(m.PlanCycle.month.desc())))
        products = plan_repo.products(s)[["sku", "family"]]
        routing = plan_repo.routing(s)
        items = plan_repo.supplier_items(s)
        last_actual = s.scalar(select(func.max(m.SalesHistory.period)))
    frames = []
    for prev in earlier:
        log_frame = decisions(engine, prev.id)
        if log_frame.empty:
            continue
        signed_lines: pd.DataFrame | None = None
        version, signed_scenario = 0, None
        with session_scope(engine) as s:
            pv = _signed_version(s, prev.id)
            if pv is not None:
                version, signed_scenario = pv.version, pv.scenario_id
                signed_lines = plan_repo.plan_lines(s, prev.id, version)
            linked = {int(i) for i in log_frame["scenario_id"].dropna()}
            levers = {r.id: sc.Levers.from_dict(r.levers) for r in plan_repo.scenarios(s, prev.id) if r.id in linked}
        actual = (
            actual_sales(engine, prev.month, last_actual)
            if last_actual is not None
            else pd.DataFrame(columns=["sku", "period", "quantity", "revenue"])
        )
        plans: dict[int, pd.DataFrame | None] = {}
        rows = []
        for rec in log_frame.to_dict("records"):
            fam = rec["family"] if rec["family"] not in ("*", "", None) else None
            family_skus = frozenset(products.loc[products["family"] == fam, "sku"]) if fam else None
            sid = int(rec["scenario_id"]) if pd.notna(rec["scenario_id"]) else None
            if sid is not None and sid in levers:
                scope = sc.lever_scope(levers[sid], products, routing, items)
                if scope.skus is None and fam:
                    scope = dataclasses.replace(scope, skus=family_skus, label=f"family {fam}")
                changes = sc.describe_levers(levers[sid])
                if sid not in plans:
                    if signed_lines is None:
                        plans[sid] = None
                    elif sid == signed_scenario:
                        plans[sid] = signed_lines
                    else:
                        plans[sid] = _scenario_plan(engine, prev.id, version, levers[sid])
                lines = plans[sid]
            else:
                scope = sc.LeverScope(family_skus, f"family {fam}" if fam else "whole plan")
                changes, lines = "", signed_lines
            rows.append({**rec, "cycle": _label(prev.month), "changes": changes, "scope": scope.label,
                         **_outcome(lines, actual, scope, last_actual)})
        frames.append(pd.DataFrame(rows, columns=PAST_DECISION_COLUMNS))
    if not frames:
        return pd.DataFrame(columns=PAST_DECISION_COLUMNS)
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- executive headline
def capacity_table(engine: Engine, cycle_id: int, *, current: plan.CurrentPlan | None = None) -> pd.DataFrame:
    """Rough-cut capacity of the current plan (:func:`sop_core.planning.supply_math.rough_cut_capacity` on the plan's
    supply of routed SKUs): ``resource, period, load_hours, capacity_hours, utilisation,
    shortfall_hours, status`` per resource and month (``current``: :func:`plan.current_plan`, if known)."""
    _info, lines = current if current is not None else plan.current_plan(engine, cycle_id)
    with session_scope(engine) as s:
        routing = repo.read_frame(s, m.Routing)
        resources = repo.read_frame(s, m.Resource)
    cols = ["resource", "period", "load_hours", "capacity_hours", "utilisation", "shortfall_hours", "status"]
    if routing.empty or resources.empty:
        return pd.DataFrame(columns=cols)
    plan_qty = lines[["sku", "period", "supply_qty"]].rename(columns={"supply_qty": "quantity"})
    return supply_math.rough_cut_capacity(plan_qty, routing, resources)[cols]


def capacity_risks(engine: Engine, cycle_id: int, *, current: plan.CurrentPlan | None = None) -> pd.DataFrame:
    """Resource-months of the current plan whose load exceeds regular capacity (rows of
    :func:`capacity_table` with status ``bottleneck``)."""
    out = capacity_table(engine, cycle_id, current=current)
    return out[out["status"] == "bottleneck"].reset_index(drop=True)


def budget_margin(lines: pd.DataFrame, budget: pd.DataFrame) -> dict[str, Any]:
    """Plan margin against the margin budget over the family-months that have one (pure).

    Args:
        lines: plan lines ``family, period, revenue, cost`` [currency]; the plan margin of a line is
            revenue − cost (cost of goods sold plus holding cost, as in the plan's margin).
        budget: budget rows ``family, period, margin`` [currency]; rows with an empty margin are left out.

    Returns:
        ``budget_margin`` (Σ budget margin, None when no row has one), ``margin_budget_months`` (months
        with a margin budget), ``plan_margin_budget_months`` (Σ plan revenue − cost over the same
        family-months) and ``margin_vs_budget`` (plan − budget; None without a margin budget).

    Example:
        >>> lines = pd.DataFrame({"family": ["F", "F", "G"], "period": pd.to_datetime(["2026-11-01", "2026-12-01",
        ...                       "2026-11-01"]), "revenue": [100.0, 80.0, 50.0], "cost": [60.0, 50.0, 45.0]})
        >>> budget = pd.DataFrame({"family": ["F", "G"], "period": pd.to_datetime(["2026-11-01", "2026-11-01"]),
        ...                        "margin": [35.0, None]})
        >>> budget_margin(lines, budget)["margin_vs_budget"]  # F Nov only: (100 − 60) − 35
        5.0
    """
    none = {"budget_margin": None, "margin_budget_months": 0, "plan_margin_budget_months": None,
            "margin_vs_budget": None}
    if budget.empty or "margin" not in budget.columns:
        return none
    bud = budget.loc[budget["margin"].notna(), ["family", "period", "margin"]]
    if bud.empty:
        return none
    bud = bud.assign(period=pd.to_datetime(bud["period"]))
    plan_fm = lines.assign(period=pd.to_datetime(lines["period"]), plan_margin=lines["revenue"] - lines["cost"])
    plan_fm = plan_fm.groupby(["family", "period"], as_index=False)["plan_margin"].sum()
    joined = bud.merge(plan_fm, on=["family", "period"], how="left")
    budget_sum = float(bud["margin"].sum())
    plan_sum = float(joined["plan_margin"].fillna(0.0).sum())
    return {
        "budget_margin": budget_sum,
        "margin_budget_months": int(bud["period"].nunique()),
        "plan_margin_budget_months": plan_sum,
        "margin_vs_budget": plan_sum - budget_sum,
    }


def headline(
    engine: Engine,
    cycle_id: int,
    *,
    current: plan.CurrentPlan | None = None,
    last_plan: LastPlanChange | None = None,
) -> dict[str, Any]:
    """The executive headline figures of the cycle's current plan.

    Returns:
        ``plan_summary`` keys (:func:`sop_core.services.plan.plan_summary`) plus the comparison with the
        last signed plan of an earlier cycle (:meth:`LastPlanChange.figures`: ``last_plan_label``,
        ``revenue_vs_last_plan`` — the plan diff's total change —, its parts
        ``revenue_vs_last_plan_new_actuals`` and ``revenue_vs_last_plan_forecast_months``,
        ``margin_vs_last_plan`` and the texts ``last_plan_revenue_basis`` / ``last_plan_margin_basis``
        naming the months each covers; None without a last plan), ``revenue_vs_budget`` (=
        ``budget_gap``), the margin against the margin budget over the horizon's family-months that
        have one (:func:`budget_margin`: ``budget_margin``, ``margin_budget_months``,
        ``plan_margin_budget_months``, ``margin_vs_budget``), ``capacity_risks`` (number of
        resource-months over regular capacity in the load of the constrained plan), ``frozen`` and
        ``state``. ``current``: the cycle's :func:`sop_core.services.plan.current_plan` and ``last_plan``
        its :func:`last_plan_change`, when the caller has them already (computed once otherwise).
    """
    if current is None:
        current = plan.current_plan(engine, cycle_id)
    summary = plan.plan_summary(engine, cycle_id, current=current)
    out = dict(summary)
    out["revenue_vs_budget"] = summary.get("budget_gap")
    _info, lines = current
    with session_scope(engine) as s:
        budget = plan_repo.budget(s, summary["first_period"], summary["last_period"])
    out.update(budget_margin(lines, budget))
    if last_plan is None:
        last_plan = last_plan_change(engine, cycle_id, current=current)
    out.update(last_plan.figures())
    out["capacity_risks"] = len(capacity_risks(engine, cycle_id, current=current))
    with session_scope(engine) as s:
        cyc = _cycle_row(s, cycle_id)
        out["state"] = cyc.status
        out["frozen"] = version_frozen(s.connection(), cycle_id, cyc.plan_version)
    return out


def risks_opportunities(
    engine: Engine, cycle_id: int, n: int = 5, *, current: plan.CurrentPlan | None = None
) -> dict[str, pd.DataFrame]:
    """Top risks and opportunities by family: ``risks`` = families with the largest lost sales
    (unserved demand × price) or revenue below budget; ``opportunities`` = families with revenue
    above budget or the largest growth vs the last signed plan. Columns: ``family, kind, value, text``
    (``current``: the cycle's :func:`sop_core.services.plan.current_plan`, when the caller has it already)."""
    if current is None:
        current = plan.current_plan(engine, cycle_id)
    table = plan.plan_table(engine, cycle_id, current=current)
    fam = table.groupby("family", as_index=False)[["revenue", "budget_revenue", "demand_qty"]].sum(min_count=1)
    fam["gap"] = fam["revenue"] - fam["budget_revenue"]
    rows_r, rows_o = [], []
    for r in fam.sort_values("gap").itertuples(index=False):
        if pd.notna(r.gap) and r.gap < 0:
            rows_r.append({"family": r.family, "kind": "below budget", "value": float(r.gap),
                           "text": f"{r.family}: plan below budget"})
        elif pd.notna(r.gap) and r.gap > 0:
            rows_o.append({"family": r.family, "kind": "above budget", "value": float(r.gap),
                           "text": f"{r.family}: plan above budget"})
    risks = capacity_risks(engine, cycle_id, current=current)
    risks = risks.assign(over_hours=risks["load_hours"] - risks["capacity_hours"])
    by_resource = risks.groupby("resource", as_index=False).agg(
        months=("period", "size"), over_hours=("over_hours", "sum"), shortfall_hours=("shortfall_hours", "sum"))
    for r in by_resource.itertuples(index=False):
        beyond = f", {r.shortfall_hours:,.0f} h beyond overtime" if r.shortfall_hours > 0 else ", within overtime"
        rows_r.append({"family": "", "kind": "capacity", "value": -float(r.over_hours),
                       "text": f"{r.resource}: {r.months} month{'s' if r.months != 1 else ''} over regular capacity, "
                               f"{r.over_hours:,.0f} h above it{beyond}"})
    cols = ["family", "kind", "value", "text"]
    risk = pd.DataFrame(rows_r, columns=cols).sort_values("value").head(n).reset_index(drop=True)
    opp = pd.DataFrame(rows_o, columns=cols).sort_values("value", ascending=False).head(n).reset_index(drop=True)
    return {"risks": risk, "opportunities": opp}


def proposed_scenarios(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """The cycle's saved scenarios with their stored KPIs, the proposed one first."""
    frame = plan.list_scenarios(engine, cycle_id)
    if frame.empty:
        return frame
    return frame.sort_values(["status", "id"], key=lambda c: c != "proposed" if c.name == "status" else c)
