"""The executive review of a cycle as one frozen result (:func:`review`): the headline figures, risks
and opportunities, rough-cut capacity, the change against the last signed plan, scenarios, decisions and
sign-off; and the meeting pack (.xlsx), the deck (.pptx) and the summary for print (.pdf) rendered from it
(:mod:`sop_core.io.export`, :mod:`sop_core.io.export_deck`, :mod:`sop_core.io.export_summary`).

Money is in the company currency, quantities in units, capacity in hours, periods are month starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from sop_core.db import master_repo, plan_repo, version_repo
from sop_core.db.engine import session_scope
from sop_core.io import export, export_deck, export_summary
from sop_core.planning import supply_math
from sop_core.services import cycle, decisions, plan, plan_changes, scenarios, signoff
from sop_core.services import supply as supply_service
from sop_core.services.cycle import CycleInfo, cycle_row
from sop_core.services.plan_changes import LastPlanChange, last_plan_change, review_stamp


def capacity_table(engine: Engine, cycle_id: int, *, current: plan.CurrentPlan | None = None) -> pd.DataFrame:
    """Rough-cut capacity of the current plan (:func:`sop_core.planning.supply_math.rough_cut_capacity` on the plan's
    supply of routed SKUs): ``resource, period, load_hours, capacity_hours, utilisation,
    shortfall_hours, status`` per resource and month (``current``: :func:`plan.current_plan`, if known)."""
    _info, lines = current if current is not None else plan.current_plan(engine, cycle_id)
    with session_scope(engine) as s:
        routing = master_repo.routing(s)
        resources = master_repo.resources(s)
    cols = ["resource", "period", "load_hours", "capacity_hours", "utilisation", "shortfall_hours", "status"]
    if routing.empty or resources.empty:
        return pd.DataFrame(columns=cols)
    plan_qty = lines[["sku", "period", "supply_qty"]].rename(columns={"supply_qty": "quantity"})
    return supply_math.rough_cut_capacity(plan_qty, routing, resources)[cols]


def capacity_risks(
    engine: Engine, cycle_id: int, *, current: plan.CurrentPlan | None = None, capacity: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Resource-months of the current plan whose load exceeds regular capacity (rows of
    :func:`capacity_table` with status ``bottleneck``; ``capacity``: that table, when the caller has it)."""
    out = capacity if capacity is not None else capacity_table(engine, cycle_id, current=current)
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
    capacity: pd.DataFrame | None = None,
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
        ``state``. ``current``: the cycle's :func:`sop_core.services.plan.current_plan`, ``last_plan``
        its :func:`last_plan_change` and ``capacity`` its :func:`capacity_table`, when the caller has them already
        (computed once otherwise).
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
    out["capacity_risks"] = len(capacity_risks(engine, cycle_id, current=current, capacity=capacity))
    with session_scope(engine) as s:
        cyc = cycle_row(s, cycle_id)
        out["state"] = cyc.status
        out["frozen"] = version_repo.is_frozen(s, cycle_id, cyc.plan_version)
    return out


def risks_opportunities(
    engine: Engine,
    cycle_id: int,
    n: int = 5,
    *,
    current: plan.CurrentPlan | None = None,
    table: pd.DataFrame | None = None,
    capacity: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Top risks and opportunities by family: ``risks`` = families with the largest lost sales
    (unserved demand × price) or revenue below budget; ``opportunities`` = families with revenue
    above budget or the largest growth vs the last signed plan. Columns: ``family, kind, value, text``
    (``current``: the cycle's :func:`sop_core.services.plan.current_plan`, ``table`` its
    :func:`sop_core.services.plan.plan_table` and ``capacity`` its :func:`capacity_table`, when the caller has them
    already)."""
    if current is None:
        current = plan.current_plan(engine, cycle_id)
    if table is None:
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
    risks = capacity_risks(engine, cycle_id, current=current, capacity=capacity)
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


@dataclass(frozen=True)
class ExecutiveReview:
    """Everything the Executive review page, the meeting pack and the deck show of one cycle, read once
    (:func:`review`). Frames as the functions named below return them."""

    cycle: CycleInfo
    headline: dict[str, Any]  # :func:`headline`
    table: pd.DataFrame  # :func:`sop_core.services.plan.plan_table`
    risks: pd.DataFrame  # :func:`risks_opportunities` ``risks``
    opportunities: pd.DataFrame  # :func:`risks_opportunities` ``opportunities``
    capacity: pd.DataFrame  # :func:`capacity_table`: the load of the constrained plan
    demand_capacity: pd.DataFrame  # :func:`sop_core.services.supply.capacity_load`: the load of the demand
    demand_basis: str  # what the load of the demand is called (:func:`sop_core.services.supply.demand_load_basis`)
    unsourced: str | None  # :func:`sop_core.services.supply.unsourced_warning`
    scenarios: pd.DataFrame  # :func:`sop_core.services.scenarios.list_scenarios`
    last_plan: LastPlanChange  # against the last signed plan of an earlier cycle
    decisions: pd.DataFrame  # :func:`sop_core.services.decisions.decisions`
    past: pd.DataFrame  # :func:`sop_core.services.decisions.past_decisions`
    signoff: pd.DataFrame  # :func:`sop_core.services.signoff.signoff_status`
    state_history: pd.DataFrame  # :func:`sop_core.services.cycle.state_history`
    diff_choices: pd.DataFrame  # :func:`sop_core.services.plan_changes.diff_choices`
    default_pair: tuple[str | None, str]  # :func:`sop_core.services.plan_changes.default_diff_pair`
    plan_load_basis: str = supply_service.PLAN_LOAD_BASIS
    line_margin_basis: str = plan_changes.LINE_MARGIN_BASIS

    @property
    def label(self) -> str:
        """The cycle, ``YYYY-MM``."""
        return self.cycle.label

    @property
    def state_label(self) -> str:
        """The cycle's state in words (``Executive review``)."""
        state = str(self.headline["state"])
        return cycle.STATE_LABELS.get(state, state)

    @property
    def diff(self) -> plan_changes.DiffResult | None:
        """The plan diff from the last signed plan to this one (None without an earlier signed plan)."""
        return self.last_plan.diff

    @property
    def proposed_scenarios(self) -> pd.DataFrame:
        """:attr:`scenarios`, the proposed one first."""
        frame = self.scenarios
        if frame.empty:
            return frame
        return frame.sort_values(["status", "id"], key=lambda c: c != "proposed" if c.name == "status" else c)


def review(engine: Engine, cycle_id: int, *, load_inputs: plan.InputsLoader | None = None,
           stamp: str | None = None) -> ExecutiveReview:
    """The executive review of a cycle (:class:`ExecutiveReview`), its current plan computed once; ``load_inputs``
    gives the cycle's plan inputs when they are needed (:data:`sop_core.services.plan.InputsLoader`). The change
    against the last plan and the outcome of past decisions are figures of the data version ``stamp``
    (:func:`sop_core.services.plan_changes.review_stamp`, read when not given), stored ahead with the pages' figures.

    Raises:
        plan.PlanError: the cycle does not exist or has no forecast to plan on.
    """
    # once: the headline, the risks, the capacity and the table
    stamp = stamp or review_stamp(engine, cycle_id)
    current = plan.current_plan(engine, cycle_id, load_inputs=load_inputs)
    # once: the headline and the waterfall
    last_plan = last_plan_change(engine, cycle_id, current=current, load_inputs=load_inputs, stamp=stamp)
    table = plan.plan_table(engine, cycle_id, current=current)
    capacity = capacity_table(engine, cycle_id, current=current)
    ro = risks_opportunities(engine, cycle_id, current=current, table=table, capacity=capacity)
    return ExecutiveReview(
        cycle=cycle.cycle_info(engine, cycle_id),
        headline=headline(engine, cycle_id, current=current, last_plan=last_plan, capacity=capacity),
        table=table,
        risks=ro["risks"],
        opportunities=ro["opportunities"],
        capacity=capacity,
        demand_capacity=supply_service.capacity_load(engine, cycle_id),
        demand_basis=supply_service.demand_load_basis(supply_service.plan_demand(engine, cycle_id)[1]),
        unsourced=supply_service.unsourced_warning(supply_service.unsourced_skus(engine, cycle_id)),
        scenarios=scenarios.list_scenarios(engine, cycle_id),
        last_plan=last_plan,
        decisions=decisions.decisions(engine, cycle_id),
        past=decisions.past_decisions(engine, cycle_id, stamp=stamp),
        signoff=signoff.signoff_status(engine, cycle_id),
        state_history=cycle.state_history(engine, cycle_id),
        diff_choices=plan_changes.diff_choices(engine),
        default_pair=plan_changes.default_diff_pair(engine, cycle_id),
    )


def excel_pack(engine: Engine, cycle_id: int) -> bytes:
    """The meeting pack of a cycle as .xlsx bytes (:func:`sop_core.io.export.excel_pack` of :func:`review`)."""
    return export.excel_pack(review(engine, cycle_id))


def deck(engine: Engine, cycle_id: int) -> bytes:
    """The executive deck of a cycle as .pptx bytes (:func:`sop_core.io.export_deck.deck` of :func:`review`)."""
    return export_deck.deck(review(engine, cycle_id))


def summary(engine: Engine, cycle_id: int) -> bytes:
    """The executive summary of a cycle for print as PDF bytes, A4 landscape
    (:func:`sop_core.io.export_summary.summary_pdf` of :func:`review`)."""
    return export_summary.summary_pdf(review(engine, cycle_id))


def meeting_files(data: ExecutiveReview) -> tuple[bytes, bytes, bytes]:
    """The meeting pack (.xlsx), the deck (.pptx) and the summary for print (.pdf, A4 landscape) of a cycle's
    review, from the one read of what they show."""
    return export.excel_pack(data), export_deck.deck(data), export_summary.summary_pdf(data)
