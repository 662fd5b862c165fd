"""The KPI monitor: load the data, run the triggers of :mod:`sop_core.planning.triggers`, store the exceptions.

One run (:func:`run_monitor`, ``python -m sop_core monitor``):

1. **Reorder-point breaches** on the projected inventory of the cycle
   (:func:`sop_core.services.supply.projected_inventory`, lost sales) against the reorder points and
   EOQs of the cycle's inventory policy (:func:`sop_core.services.inventory_policy.inventory_policy`,
   :mod:`sop_core.planning.inventory` formulas), looking :data:`LOOKAHEAD_MONTHS` month(s) ahead.
2. **Tracking signals** of the SKUs over the last 12 months of actuals against the forecasts of
   earlier cycles (the forecast the planners had when each month began). Nothing fires while no
   earlier run covers a month with actuals.
3. **Supplier OTIF** over the deliveries of the last 12 months against the OTIF target of segment
   ``all`` (``kpi_target``, else the default), for suppliers with at least :data:`MIN_ORDERS` orders.

Storing deduplicates: an exception whose ``(kind, sku, supplier)`` is already open is not stored again
(its row keeps its first ``run_at``); an open exception that the run no longer finds is marked
``resolved``. Everything lands in one transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd
from dateutil.relativedelta import relativedelta
from sqlalchemy import Engine

from sop_core.db import audit_repo, forecast_repo, master_repo, monitor_repo, stock_repo
from sop_core.db.engine import session_scope
from sop_core.db.models_monitor import KpiException
from sop_core.formatting import plural
from sop_core.planning import triggers as monitor
from sop_core.services import inventory_policy as policy_service
from sop_core.services import kpi_targets as targets_service
from sop_core.services import permissions
from sop_core.services import suppliers as suppliers_service
from sop_core.services import supply as supply_service
from sop_core.units import Progress

log = logging.getLogger(__name__)

#: Months of the projection searched for a reorder-point breach [months]: 1 = the position falls below
#: the reorder point in the cycle's first month, so the order is due now (later breaches are next runs' business).
LOOKAHEAD_MONTHS = 1
#: Closed orders a supplier needs in the 12 months before it is judged on OTIF [orders].
MIN_ORDERS = 5
KIND_LABELS = {
    "reorder_point": "Reorder point breach",
    "tracking_signal": "Tracking signal",
    "supplier_otif": "Supplier OTIF",
}


@dataclass(frozen=True)
class MonitorResult:
    """What one monitor run found and stored."""

    run_at: dt.datetime
    cycle_id: int | None
    found: dict[str, int]  # per kind
    stored: int  # new open exceptions
    already_open: int  # found again, not stored twice
    resolved: int  # open before, no longer found
    notes: tuple[str, ...]


def find_exceptions(
    engine: Engine, cycle_id: int | None = None, *, today: dt.date | None = None, progress: Progress | None = None
) -> tuple[pd.DataFrame, int | None, list[str]]:
    """Run the three triggers without storing anything.

    Args:
        engine: the database.
        cycle_id: the cycle whose forecast drives the projection (default: the newest with a forecast).
        user: who runs it: an enabled user with the ``monitor`` action of :mod:`sop_core.services.permissions`.
        today: the day orders may be dated from (default: the system date).
        progress: optional callback ``(fraction 0..1, message)``.

    Returns:
        ``(exceptions, cycle_id, notes)``: :data:`sop_core.planning.triggers.EXCEPTION_COLUMNS` rows, the cycle
        used, and one line per check that could not run.
    """
    report = progress or (lambda _f, _m: None)
    today = today or dt.date.today()
    notes: list[str] = []
    with session_scope(engine) as s:
        found = forecast_repo.latest_cycle_with_forecast(s) if cycle_id is None else None
        cycle_id = found[0] if found is not None else cycle_id
        as_of = stock_repo.latest_inventory_date(s) or today
        first = as_of.replace(day=1) - relativedelta(months=11)
        scored = monitor_repo.scored_forecasts(s, first, as_of)
        items = master_repo.supplier_items(s)
    parts: list[pd.DataFrame] = []

    report(0.1, "Projecting inventory against reorder points…")
    if cycle_id is None:
        notes.append("reorder points: no cycle has a forecast yet")
    else:
        try:
            projection = supply_service.projected_inventory(engine, cycle_id)
            policy = policy_service.inventory_policy(engine, cycle_id)
            parts.append(
                monitor.reorder_point_breaches(projection, policy, items, today=today, horizon_months=LOOKAHEAD_MONTHS)
            )
        except supply_service.SupplyDataError as err:
            notes.append(f"reorder points: {err}")

    report(0.6, "Scoring tracking signals…")
    if scored.empty:
        notes.append("tracking signal: no earlier forecast covers a month with actuals yet")
    parts.append(monitor.tracking_signal_alerts(scored))

    report(0.8, "Checking supplier OTIF…")
    target = float(targets_service.kpi_targets(engine, "all").loc["otif", "target"]) / 100.0
    card = suppliers_service.supplier_scorecard(engine, since=as_of - relativedelta(years=1) + dt.timedelta(days=1))
    parts.append(monitor.supplier_otif_alerts(card, items, target=target, min_orders=MIN_ORDERS))
    found = (
        pd.concat([p for p in parts if not p.empty], ignore_index=True)
        if any(not p.empty for p in parts)
        else (pd.DataFrame(columns=monitor.EXCEPTION_COLUMNS))
    )
    report(1.0, f"{plural(len(found), 'exception')} found")
    return found, cycle_id, notes


def run_monitor(
    engine: Engine,
    cycle_id: int | None = None,
    *,
    user: str,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
) -> MonitorResult:
    """Run the checks and store new exceptions, once each (see the module docstring).

    Args:
        engine: the database.
        cycle_id: the cycle whose forecast drives the projection (default: the newest with a forecast).
        today: the day orders may be dated from (default: the system date).
        now: the time stamp of the run (default: now).
        progress: optional callback ``(fraction 0..1, message)``.

    Returns:
        The counts of the run.

    Raises:
        NotAllowed: ``user`` may not run the monitor; nothing was checked.
    """
    permissions.require(engine, user, "monitor")
    run_at = (now or dt.datetime.now()).replace(microsecond=0)
    found, cycle_id, notes = find_exceptions(engine, cycle_id, today=today, progress=progress)
    keys = {(r.kind, r.sku, r.supplier) for r in found.itertuples(index=False)}
    stored = already = resolved = 0
    with session_scope(engine) as s:
        open_rows = monitor_repo.open_exceptions(s)
        open_keys = {(r.kind, r.sku, r.supplier) for r in open_rows}
        open_before = [r.id for r in open_rows]
        resolved_ids = []
        for row in open_rows:
            if (row.kind, row.sku, row.supplier) not in keys:
                row.status, row.resolved_at = "resolved", run_at
                resolved += 1
                resolved_ids.append(row.id)
        for r in found.itertuples(index=False):
            if (r.kind, r.sku, r.supplier) in open_keys:
                already += 1
                continue
            s.add(
                KpiException(
                    run_at=run_at,
                    kind=r.kind,
                    sku=r.sku,
                    supplier=r.supplier,
                    kpi=r.kpi,
                    value=None if pd.isna(r.value) else float(r.value),
                    threshold=None if pd.isna(r.threshold) else float(r.threshold),
                    message=str(r.message)[:400],
                    proposal=r.proposal,
                    status="open",
                )
            )
            open_keys.add((r.kind, r.sku, r.supplier))
            stored += 1
        s.flush()
        audit_repo.audit(
            s, user, "monitor_run", "kpi_exception", "", {"cycle_id": cycle_id, "stored": stored,
                                                          "already_open": already, "resolved": resolved},
            before={"open": open_before},
            after={"open": [r.id for r in monitor_repo.open_exceptions(s)], "resolved": resolved_ids},
        )
    counts = found.groupby("kind").size().to_dict() if len(found) else {}
    result = MonitorResult(
        run_at=run_at,
        cycle_id=cycle_id,
        found={k: int(counts.get(k, 0)) for k in KIND_LABELS},
        stored=stored,
        already_open=already,
        resolved=resolved,
        notes=tuple(notes),
    )
    log.info("monitor run %s: %s", run_at, result)
    return result


def exception_list(engine: Engine, status: str | None = "open") -> pd.DataFrame:
    """Stored exceptions for the page and the command line, newest run first.

    Returns:
        ``id, run_at, kind, type`` (a label), ``sku, supplier, kpi, value, threshold, message, action``
        (the proposal in one line), ``proposal`` (dict), ``status``.
    """
    with session_scope(engine) as s:
        frame = monitor_repo.exceptions(s, status)
    frame.insert(3, "type", frame["kind"].map(KIND_LABELS).fillna(frame["kind"]))
    frame["action"] = frame["proposal"].map(describe_proposal)
    cols = ["id", "run_at", "kind", "type", "sku", "supplier", "kpi", "value", "threshold", "message", "action",
            "proposal", "status"]  # fmt: skip
    return frame[cols].reset_index(drop=True)


def describe_proposal(proposal: dict[str, Any] | None) -> str:
    """A proposal in one line: "Order 920 from SUP-03 on 2026-11-25, due 2026-12-20", "Re-forecast …"."""
    if not proposal:
        return ""
    action = proposal.get("action")
    if action == "replenish":
        source = f"from {proposal['supplier']}" if proposal.get("supplier") else "(make in house)"
        return f"Order {proposal['qty']:,.0f} {source} on {proposal['order_date']}, due {proposal['due_date']}"
    if action == "reforecast":
        return f"Re-forecast ({proposal['direction']}, {proposal['periods']} months scored)"
    if action == "alternate_source":
        alt = proposal.get("alternate")
        if not alt:
            return "No alternate supplier on file: qualify one"
        return f"Source from {alt['supplier']} (lead time {alt['lead_time_days']:.0f} days, unit cost {alt['unit_cost']:,.2f})"
    return str(proposal)
