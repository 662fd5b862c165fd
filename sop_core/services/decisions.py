"""The decision log of the executive review, and how earlier cycles' decisions turned out against
actual sales.

Money is in the company currency, quantities in units, periods are month starts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from sop_core.db import (
    audit_repo,
    cycle_repo,
    decision_repo,
    locking,
    master_repo,
    plan_repo,
    stock_repo,
    version_repo,
)
from sop_core.db.engine import session_scope
from sop_core.db.models import PlanCycle
from sop_core.db.models_cycle import Decision
from sop_core.errors import Change, EditConflict
from sop_core.formatting import plural
from sop_core.planning import levers as lev
from sop_core.planning import scenario as sc
from sop_core.services import figures, permissions
from sop_core.services.cycle import WorkflowError, cycle_row, month_label, now
from sop_core.services.plan_changes import actual_sales, review_stamp
from sop_core.services.snapshot import inputs_from_json
from sop_core.text_checks import checked

#: Columns of :func:`decisions`.
DECISION_COLUMNS = ["id", "decision", "owner", "due_date", "scenario", "scenario_id", "family", "status", "outcome",
                    "created_by", "created_at", "updated_by", "updated_at", "version"]


def _check_open(cyc: PlanCycle) -> None:
    """Refuse a new decision in a signed or closed cycle."""
    if cyc.status in ("signed", "closed"):
        raise WorkflowError(f"cycle {month_label(cyc.month)} is {cyc.status}: its decisions stay as they were signed; "
                            "log a follow-up in the open cycle")


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
        NotAllowed: ``user`` may not log decisions (:mod:`sop_core.services.permissions`).
        WorkflowError: empty text or owner, a scenario of another cycle, or a signed or closed cycle.
        TextRejected: a text too long, with a control character or not valid Unicode.
    """
    checked("decision", decision)
    checked("owner", owner, single_line=True)
    if not decision.strip():
        raise WorkflowError("the decision is empty: write what was decided")
    if not owner.strip():
        raise WorkflowError("a decision needs an owner")
    with session_scope(engine) as s:
        permissions.require(s, user, "decisions")
        _check_open(cycle_row(s, cycle_id))
        if scenario_id is not None:
            row = plan_repo.scenario(s, scenario_id)
            if row is None or row.cycle_id != cycle_id:
                raise WorkflowError(f"scenario {scenario_id} is not a scenario of this cycle")
        d = Decision(
            cycle_id=cycle_id, decision=decision.strip(), owner=owner.strip(), due_date=due_date,
            scenario_id=scenario_id, family=family or "*", status="open", outcome="", created_by=user,
            created_at=now(),
        )
        decision_id = decision_repo.add_decision(s, d)
        audit_repo.audit(s, user, "decision_added", "decision", decision_id,
                         {"cycle_id": cycle_id, "decision": d.decision},
                         after={"decision": d.decision, "owner": d.owner, "due_date": due_date,
                                "scenario_id": scenario_id, "family": d.family, "status": d.status})
        return decision_id


def update_decision(engine: Engine, decision_id: int, status: str, outcome: str, user: str, seen: int) -> None:
    """Record a decision's status (open | done | dropped) and its outcome text, unless someone else changed them
    since the user read the decision at version ``seen`` (the ``version`` column of :func:`decisions`).

    A decision of a signed or closed cycle stays as it was signed; its outcome is recorded once, while it is
    still open (the past decisions of the executive review), and is not rewritten afterwards.

    Raises:
        NotAllowed: ``user`` may not change decisions (:mod:`sop_core.services.permissions`).
        WorkflowError: unknown decision or status, or a decision of a signed or closed cycle whose outcome is
            recorded already.
        EditConflict: the decision was changed since version ``seen``: who, when, their status and outcome against
            the user's, and the version to pass to save over it.
        TextRejected: an outcome too long, with a control character or not valid Unicode.
    """
    checked("outcome", outcome)
    if status not in ("open", "done", "dropped"):
        raise WorkflowError(f"unknown decision status {status!r}: open, done or dropped")
    with session_scope(engine) as s:
        permissions.require(s, user, "decisions")
        d = decision_repo.decision(s, decision_id)
        if d is None:
            raise WorkflowError(f"decision {decision_id} does not exist")
        cyc = cycle_row(s, d.cycle_id)
        if cyc.status in ("signed", "closed") and (d.status != "open" or d.outcome):
            raise WorkflowError(
                f"decision {decision_id} of the {cyc.status} cycle {month_label(cyc.month)} has its outcome "
                f"recorded ({d.status}: {d.outcome or 'no text'}); it is not rewritten: log a follow-up decision"
            )
        previous = {"status": d.status, "outcome": d.outcome}
        saved = locking.bump(s, Decision, decision_id, seen, status=status, outcome=outcome, updated_by=user,
                             updated_at=now())
        if saved:
            audit_repo.audit(s, user, "decision_updated", "decision", decision_id,
                             {"status": status, "outcome": outcome, "version": seen + 1},
                             before=previous, after={"status": status, "outcome": outcome})
    if not saved:
        with session_scope(engine) as s:
            d = decision_repo.decision(s, decision_id)
        who = (d.updated_by or d.created_by) if d is not None else "someone"
        when = (d.updated_at or d.created_at) if d is not None else None
        theirs = f"{d.status}: {d.outcome}" if d is not None else "deleted"
        raise EditConflict(
            f"{who} changed this decision since you opened it; nothing was saved: keep theirs or save yours over it",
            [Change("decision outcome", who, when, theirs, f"{status}: {outcome}")], d.version if d else None)


def decisions(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """The decision log of a cycle (:data:`DECISION_COLUMNS`)."""
    with session_scope(engine) as s:
        frame = decision_repo.decisions(s, cycle_id)
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


def _scenario_plan(engine: Engine, cycle_id: int, version: int, levers: lev.Levers) -> pd.DataFrame:
    """Plan lines of ``levers`` evaluated on the inputs the signed ``version`` was evaluated on (its stored
    snapshot, and the demand it started from: ``plan_version_line.base_qty``)."""
    with session_scope(engine) as s:
        pv = version_repo.version(s, cycle_id, version)
        snap = dict(pv.inputs or {}) if pv is not None else {}
        base = version_repo.version_lines(s, cycle_id, version)
    demand = base[["sku", "period", "base_qty"]].rename(columns={"base_qty": "qty"})
    inputs = inputs_from_json(snap["plan_inputs"], demand)
    return sc.evaluate(inputs, levers).lines[["sku", "period", "demand_qty", "revenue"]]


def _outcome(plan_lines: pd.DataFrame | None, actual: pd.DataFrame, scope: lev.LeverScope,
             last_actual: dt.date | None) -> dict[str, Any]:
    """Planned against actual volume and revenue of ``scope`` over the plan's months that have actuals
    (``plan_lines``: None when there is no signed plan; it may hold only the months up to ``last_actual``)."""
    out: dict[str, Any] = {"months": "", "planned_qty": None, "actual_qty": None, "planned_revenue": None,
                           "actual_revenue": None, "actual_vs_plan": None, "volume_vs_plan": None}
    if plan_lines is None:
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
        "result": f"actuals for {plural(n, 'month')}",
    }


def past_decisions(engine: Engine, cycle_id: int, *, stamp: str | None = None) -> pd.DataFrame:
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

    Computed once per version of the data the executive review reads (``stamp``:
    :func:`sop_core.services.plan_changes.review_stamp`, read when not given) and stored ahead with the pages'
    figures.
    """
    stamp = stamp or review_stamp(engine, cycle_id)
    return figures.once(engine, "past_decisions", (cycle_id,), stamp, lambda: _past_decisions(engine, cycle_id),
                        tables=figures.ONE_TABLE)


def _past_decisions(engine: Engine, cycle_id: int) -> pd.DataFrame:
    with session_scope(engine) as s:
        earlier = cycle_repo.cycles_before(s, cycle_row(s, cycle_id).month)
        products = master_repo.products(s)[["sku", "family"]]
        routing = master_repo.routing(s)
        items = master_repo.supplier_items(s)
        last_actual = stock_repo.last_sales_period(s)
    rows: list[dict[str, object]] = []  # every cycle's rows, made into one frame at the end (no concat of pieces)
    logged = [(prev, log) for prev in earlier if not (log := decisions(engine, prev.id)).empty]
    # the actual sales of those cycles' months, read once (each cycle takes the months from its own on)
    first = min((prev.month for prev, _log in logged), default=None)
    sales = (
        actual_sales(engine, first, last_actual)
        if last_actual is not None and first is not None
        else pd.DataFrame(columns=["sku", "period", "quantity", "revenue"])
    )
    for prev, log_frame in logged:
        signed_lines: pd.DataFrame | None = None
        version, signed_scenario = 0, None
        with session_scope(engine) as s:
            pv = version_repo.newest_frozen(s, prev.id)
            if pv is not None:
                version, signed_scenario = pv.version, pv.scenario_id
                if plan_repo.plan_line_count(s, prev.id, version):  # the months with actuals are all it needs
                    signed_lines = plan_repo.plan_lines(s, prev.id, version, through=last_actual or dt.date.min)
            linked = {int(i) for i in log_frame["scenario_id"].dropna()}
            levers = {r.id: lev.Levers.from_dict(r.levers) for r in plan_repo.scenarios(s, prev.id) if r.id in linked}
        actual = sales[pd.to_datetime(sales["period"]) >= pd.Timestamp(prev.month)]
        plans: dict[int, pd.DataFrame | None] = {}
        for rec in log_frame.to_dict("records"):
            fam = rec["family"] if rec["family"] not in ("*", "", None) else None
            family_skus = frozenset(products.loc[products["family"] == fam, "sku"]) if fam else None
            sid = int(rec["scenario_id"]) if pd.notna(rec["scenario_id"]) else None
            if sid is not None and sid in levers:
                scope = lev.lever_scope(levers[sid], products, routing, items)
                if scope.skus is None and fam:
                    scope = dataclasses.replace(scope, skus=family_skus, label=f"family {fam}")
                changes = lev.describe_levers(levers[sid])
                if sid not in plans:
                    if signed_lines is None:
                        plans[sid] = None
                    elif sid == signed_scenario:
                        plans[sid] = signed_lines
                    else:
                        plans[sid] = _scenario_plan(engine, prev.id, version, levers[sid])
                lines = plans[sid]
            else:
                scope = lev.LeverScope(family_skus, f"family {fam}" if fam else "whole plan")
                changes, lines = "", signed_lines
            rows.append({**rec, "cycle": month_label(prev.month), "changes": changes, "scope": scope.label,
                         **_outcome(lines, actual, scope, last_actual)})
    return pd.DataFrame(rows, columns=PAST_DECISION_COLUMNS)
