"""Reconciliation and executive review: the plan inputs, a scenario's evaluation and its promotion to the proposed
plan (saving, finding and listing scenarios: :mod:`.scenarios`; the sign-off: :mod:`.signoff`).

Load (``sop_core.db.*_repo``) → compute (:func:`sop_core.planning.scenario.evaluate`) → store. Every write is one
transaction that also writes an ``audit_log`` row. A promotion names the proposed plan the user saw
(:func:`promotion_seen`): promotions of one cycle run one after the other, and the database holds one proposed
scenario per cycle, so two promotions at once never leave two proposed plans or two sets of plan lines.

Money is in the company currency (:data:`sop_core.config.CURRENCY`), quantities in units, periods
are month starts.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from sop_core.db import (
    audit_repo,
    cycle_repo,
    forecast_repo,
    locking,
    master_repo,
    plan_repo,
    repo,
    stock_repo,
)
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.errors import Change, EditConflict, SopError
from sop_core.planning import levers as lev
from sop_core.planning import scenario as sc
from sop_core.planning import scenario_inputs as sci
from sop_core.planning import scenario_result as scr
from sop_core.services import demand as demand_service
from sop_core.services import figures, permissions, pricing
from sop_core.services import inventory_policy as policy_service
from sop_core.units import DAYS_PER_MONTH, PLAN_HORIZON

log = logging.getLogger(__name__)

#: The roles that sign off a plan, in the order they usually do.
ROLE_LABELS = {
    "demand_planner": "Demand planner",
    "supply_planner": "Supply planner",
    "finance": "Finance",
    "executive": "Executive",
}
BASELINE = "Baseline"


class PlanError(SopError):
    """A plan action cannot be done; the message says why in one line."""


@dataclass(frozen=True)
class ScenarioRecord:
    """A saved scenario as plain values (``results`` holds the KPIs computed when it was saved)."""

    id: int
    cycle_id: int
    name: str
    levers: lev.Levers
    results: dict[str, Any]
    status: str
    author: str
    updated_at: dt.datetime | None
    version: int


def timestamp() -> dt.datetime:
    """The time stamped on a scenario (whole seconds)."""
    return dt.datetime.now().replace(microsecond=0)


def when_text(value: dt.datetime | None) -> str:
    """A stamp as ``YYYY-MM-DD HH:MM`` in a sentence (``an unknown time`` for none)."""
    return value.strftime("%Y-%m-%d %H:%M") if value else "an unknown time"


def kpis_json(kpis: dict[str, float]) -> dict[str, float | None]:
    """KPIs as JSON-safe numbers (NaN → None: PostgreSQL JSON has no NaN)."""
    return {k: (None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)) for k, v in kpis.items()}


def scenario_record(row: m.Scenario) -> ScenarioRecord:
    """A stored scenario as plain values."""
    return ScenarioRecord(
        id=row.id,
        cycle_id=row.cycle_id,
        name=row.name,
        levers=lev.Levers.from_dict(row.levers),
        results=dict(row.results or {}),
        status=row.status,
        author=row.author,
        updated_at=row.updated_at,
        version=row.version,
    )


def _cycle_label(row: m.PlanCycle) -> str:
    return row.month.strftime("%Y-%m")


def get_cycle(session: Any, cycle_id: int) -> m.PlanCycle:
    """The plan cycle ``cycle_id``; PlanError when it does not exist."""
    row = cycle_repo.cycle(session, cycle_id)
    if row is None:
        raise PlanError(f"plan cycle {cycle_id} does not exist")
    return row


# --------------------------------------------------------------------------- inputs and evaluation
def consensus_or_none(engine: Engine, cycle_id: int) -> pd.DataFrame | None:
    """The cycle's consensus demand ``sku, period, qty`` [units per month]
    (:func:`sop_core.services.demand.consensus_demand`), period as a month-start timestamp; None when the
    cycle has none or it cannot be made (the statistical forecast is then the demand)."""
    try:
        frame = demand_service.consensus_demand(engine, cycle_id)
    except SopError as err:  # refused (e.g. no forecast run): the statistical forecast is the demand
        log.info("consensus demand of cycle %s not available (%s); using the forecast", cycle_id, err)
        return None
    if frame.empty:
        return None
    return frame.assign(period=pd.to_datetime(frame["period"]))


def safety_stock_inputs(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """The safety-stock inputs of every product (:data:`sop_core.planning.scenario_inputs.POLICY_INPUT_COLUMNS`) from the
    Supply review's inventory policy of the cycle (:func:`sop_core.services.inventory_policy.inventory_policy`), so that
    the what-if holds the same safety stock as the Supply review and the KPIs pages."""
    policy = policy_service.inventory_policy(engine, cycle_id)
    return pd.DataFrame(
        {
            "sku": policy["sku"].astype(str),
            "demand_mean": policy["demand_mean"],
            "demand_std": policy["demand_std"],
            "lead_time_months": policy["lead_time_months"],
            "lead_time_std_months": policy["lead_time_std_days"] / DAYS_PER_MONTH,
            "review_months": policy["review_months"],
            "cycle_service_level": policy["cycle_service_level"],
            "safety_stock": policy["safety_stock"],
            "bought": policy["supplier"] != policy_service.IN_HOUSE,
        }
    )


def learned_elasticities(engine: Engine) -> dict[str, float]:
    """Family → the own-price elasticity the what-if uses when its lever is left empty: the estimate learned
    from the sales history where the data support it, else its fallback
    (:func:`sop_core.services.pricing.family_elasticities`, column ``value_used``)."""
    frame = pricing.family_elasticities(engine)
    return {str(f): float(v) for f, v in zip(frame["family"], frame["value_used"], strict=True)}


def scenario_inputs(engine: Engine, cycle_id: int, horizon: int = PLAN_HORIZON) -> sci.ScenarioInputs:
    """Demand (the cycle's consensus demand, else its latest forecast run) over the first ``horizon`` months
    [months] the forecast covers, products, stock on hand, open orders, routings, resources and supplier items.
    The plan horizon is its own parameter: a forecast may look further ahead than the plan. The constrained plan
    is solved per SKU up to :data:`sop_core.units.SKU_PLAN_MAX_SKUS` SKUs, per family × make/buy above
    (:func:`sop_core.planning.scenario_inputs.plan_level`).

    Raises:
        PlanError: when the cycle has no finished forecast run, or a forecast SKU has no product row.
    """
    consensus = consensus_or_none(engine, cycle_id)
    with session_scope(engine) as s:
        cyc = get_cycle(s, cycle_id)
        if consensus is not None:
            demand = consensus
        else:
            run = forecast_repo.latest_run(s, cycle_id)
            if run is None:
                raise PlanError(
                    f"cycle {_cycle_label(cyc)} has no forecast yet: run the forecast on the Demand review page"
                )
            demand = forecast_repo.forecast_demand(s, run.id).rename(columns={"quantity": "qty"})
            if demand.empty:
                raise PlanError(f"forecast run {run.id} of cycle {_cycle_label(cyc)} has no rows")
        plan_months = sorted(pd.to_datetime(demand["period"]).unique())[:horizon]
        demand = demand[pd.to_datetime(demand["period"]).isin(plan_months)].reset_index(drop=True)
        level = sci.plan_level(demand["sku"].nunique())
        inputs = sci.ScenarioInputs(
            demand=demand,
            products=master_repo.products(s)[["sku", "family", "unit_price", "unit_cost", "holding_rate"]],
            on_hand=stock_repo.on_hand(s)[["sku", "on_hand"]].rename(columns={"on_hand": "qty"}),
            receipts=stock_repo.open_orders(s)
            .groupby(["sku", "period"], as_index=False)["quantity"]
            .sum()
            .rename(columns={"quantity": "qty"}),
            routing=master_repo.routing(s),
            resources=master_repo.resources(s).drop(columns="plant"),
            supplier_items=master_repo.supplier_items(s)[["supplier", "sku", "lead_time_days", "unit_cost", "priority"]],
            policy=safety_stock_inputs(engine, cycle_id),
            elasticities=learned_elasticities(engine),
            level=level,
        )
    try:
        _ = inputs.grid  # check the inputs once (and keep the dense arrays with them)
    except lev.ScenarioInputError as err:
        raise PlanError(f"cycle {_cycle_label(cyc)}: {err}") from None
    return inputs


def inputs_stamp(engine: Engine, cycle_id: int) -> str:
    """A short text that changes whenever what :func:`scenario_inputs` reads of the cycle does, for every user:
    the key of shared caches of the inputs (a forecast run, an override, an import or a change of stock shows at
    once)."""
    return figures.cycle_stamp(engine, plan_repo.INPUT_TABLES, cycle_id)


def evaluate(inputs: sci.ScenarioInputs, levers: lev.Levers) -> scr.ScenarioResult:
    """:func:`sop_core.planning.scenario.evaluate` with its errors as :class:`PlanError`."""
    try:
        return sc.evaluate(inputs, levers)
    except lev.ScenarioInputError as err:
        raise PlanError(str(err)) from None


def latest_forecast_run_id(engine: Engine, cycle_id: int) -> int | None:
    """The id of the cycle's newest finished forecast run (a cache key for :func:`scenario_inputs`)."""
    with session_scope(engine) as s:
        run = forecast_repo.latest_run(s, cycle_id)
        return run.id if run is not None else None


#: Gives a cycle's plan inputs (:func:`scenario_inputs`) when a service needs them: a caller that keeps the inputs
#: (a page's shared cache) hands its own, so they are read once and their evaluations are shared.
InputsLoader = Callable[[], sci.ScenarioInputs]


def cycle_inputs(engine: Engine, cycle_id: int, load_inputs: InputsLoader | None) -> sci.ScenarioInputs:
    """The cycle's plan inputs from ``load_inputs`` when given, else read now (:func:`scenario_inputs`)."""
    return load_inputs() if load_inputs is not None else scenario_inputs(engine, cycle_id)


def baseline(engine: Engine, cycle_id: int, *, load_inputs: InputsLoader | None = None) -> scr.ScenarioResult:
    """The cycle's plan with every lever at its default (``load_inputs``: :data:`InputsLoader`)."""
    return evaluate(cycle_inputs(engine, cycle_id, load_inputs), lev.Levers())


def evaluate_scenario(engine: Engine, scenario_id: int) -> scr.ScenarioResult:
    """A saved scenario evaluated on the cycle's current inputs."""
    record = load_scenario(engine, scenario_id)
    return evaluate(scenario_inputs(engine, record.cycle_id), record.levers)


# --------------------------------------------------------------------------- scenarios (saved: .scenarios)
def load_scenario(engine: Engine, scenario_id: int) -> ScenarioRecord:
    """The saved scenario ``scenario_id``; PlanError when it does not exist."""
    with session_scope(engine) as s:
        row = s.get(m.Scenario, scenario_id)
        if row is None:
            raise PlanError(f"scenario {scenario_id} does not exist")
        return scenario_record(row)


# --------------------------------------------------------------------------- the proposed plan
@dataclass(frozen=True)
class PromotionSeen:
    """What the user saw of a cycle's proposed plan: its scenario's id and version (None, None: no plan proposed)."""

    scenario_id: int | None
    version: int | None


def _proposed(session: Any, cycle_id: int) -> PromotionSeen:
    row = plan_repo.proposed_scenario(session, cycle_id)
    return PromotionSeen(row.id, row.version) if row is not None else PromotionSeen(None, None)


def promotion_seen(engine: Engine, cycle_id: int) -> PromotionSeen:
    """The cycle's proposed plan as the user sees it now: what :func:`promote` takes as ``seen``."""
    with session_scope(engine) as s:
        return _proposed(s, cycle_id)


class _Stale(Exception):
    """Inside :func:`promote`: the proposed plan or the scenario changed since the user saw them."""


def _promotion_conflict(engine: Engine, record: ScenarioRecord) -> EditConflict:
    with session_scope(engine) as s:
        now = _proposed(s, record.cycle_id)
        row = plan_repo.scenario(s, now.scenario_id) if now.scenario_id is not None else None
        last = audit_repo.last_entry(s, "plan_promoted", "plan_cycle", record.cycle_id)
        mine = plan_repo.scenario(s, record.id)
    if mine is None or mine.version != record.version:
        who, when = (mine.author, mine.updated_at) if mine is not None else ("someone", None)
        return EditConflict(f"scenario '{record.name}' changed while promoting; keep theirs or promote it again",
                            [Change(f"scenario '{record.name}'", who, when, "changed", "promote")], now)
    theirs = f"scenario '{row.name}'" if row is not None else "no proposed plan"
    who = last.username if last is not None else "someone"
    when = last.at if last is not None else None
    return EditConflict(
        f"{who} changed the proposed plan at {when_text(when)} (now {theirs}) since you looked; "
        "nothing was promoted: keep theirs or promote yours over it",
        [Change("proposed plan", who, when, theirs, f"scenario '{record.name}'")], now)


def promote(engine: Engine, scenario_id: int, user: str, seen: PromotionSeen, *,
            load_inputs: InputsLoader | None = None) -> int:
    """Make a scenario the cycle's proposed plan and write its plan lines; returns the plan version.

    The scenario's status becomes ``proposed`` (any other proposed scenario of the cycle goes back to
    ``draft``); the plan lines of the cycle's current plan version are replaced. When that version
    is already signed off by anyone, a new plan version is started instead (a signed plan is never
    changed). ``seen``: the proposed plan as the user saw it (:func:`promotion_seen`); ``load_inputs``: the
    scenario's cycle's plan inputs (:data:`InputsLoader`; default: read now).

    Promotions of one cycle never interleave (the first statement holds the cycle's row), and the database
    holds one proposed scenario per cycle.

    Raises:
        EditConflict: someone promoted (or changed the scenario) since the user saw ``seen``; nothing changed.
    """
    permissions.require(engine, user, "scenario_promote")
    record = load_scenario(engine, scenario_id)
    result = evaluate(cycle_inputs(engine, record.cycle_id, load_inputs), record.levers)
    kpis = kpis_json(result.kpis)
    try:
        with session_scope(engine) as s:
            locking.claim(s, m.PlanCycle.plan_version, record.cycle_id)
            cyc = get_cycle(s, record.cycle_id)
            row = s.get(m.Scenario, scenario_id)
            if row is None or row.version != record.version or _proposed(s, cyc.id) != seen:
                raise _Stale
            version = cyc.plan_version
            was_id = plan_repo.plan_scenario_id(s, cyc.id, version)
            was = plan_repo.scenario(s, was_id) if was_id is not None else None
            was_lines = plan_repo.plan_lines(s, cyc.id, version)
            previous = {"plan_version": version, "scenario_id": was_id, "scenario": was.name if was else None,
                        "lines": len(was_lines), "revenue": float(was_lines["revenue"].sum()) if len(was_lines) else None,
                        "cycle_status": cyc.status}
            if plan_repo.signoff_count(s, cyc.id, version):
                version = plan_repo.bump_plan_version(s, cyc.id)
            plan_repo.delete_plan_lines(s, cyc.id, version)
            plan_repo.demote_proposed(s, cyc.id, keep_id=row.id)
            s.flush()  # the demoted one first: one proposed scenario per cycle, checked by the database
            row.status = "proposed"
            row.results = {**kpis, "plan_version": version}
            row.updated_at = timestamp()
            s.flush()
            repo.insert_frame(s, m.PlanLine, result.lines, cycle_id=cyc.id, plan_version=version, scenario_id=row.id)
            audit_repo.audit(
                s,
                user,
                "plan_promoted",
                "plan_cycle",
                cyc.id,
                {
                    "scenario": record.name,
                    "scenario_id": row.id,
                    "plan_version": version,
                    "lines": len(result.lines),
                    "revenue": kpis["revenue"],
                },
                before=previous,
                after={"plan_version": version, "scenario_id": row.id, "scenario": record.name,
                       "lines": len(result.lines), "revenue": kpis["revenue"], "cycle_status": cyc.status},
            )
    except (_Stale, *locking.LOST_RACE):
        raise _promotion_conflict(engine, record) from None
    log.info("scenario %r promoted to plan version %s by %s", record.name, version, user)
    return version


def plan_lines(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """Stored plan lines of the cycle's current plan version (empty when nothing was promoted)."""
    with session_scope(engine) as s:
        cyc = get_cycle(s, cycle_id)
        return plan_repo.plan_lines(s, cycle_id, cyc.plan_version)


#: The cycle's current plan: facts about it and its lines (see :func:`current_plan`).
CurrentPlan = tuple[dict[str, Any], pd.DataFrame]


def current_plan(engine: Engine, cycle_id: int, *, load_inputs: InputsLoader | None = None) -> CurrentPlan:
    """Facts about the current plan and its lines per SKU × period with ``family`` (proposed or baseline).

    Without a proposed plan this evaluates the baseline (on the inputs of ``load_inputs``, :data:`InputsLoader`),
    the costly part of the executive figures: a caller that shows several of them computes it once and hands it
    to each as ``current``."""
    with session_scope(engine) as s:
        cyc = get_cycle(s, cycle_id)
        version = cyc.plan_version
        lines = plan_repo.plan_lines(s, cycle_id, version)
        scenario_id = plan_repo.plan_scenario_id(s, cycle_id, version) if not lines.empty else None
        scenario_row = s.get(m.Scenario, scenario_id) if scenario_id is not None else None
        record = scenario_record(scenario_row) if scenario_row is not None else None
        families = master_repo.products(s)[["sku", "family"]]
    info: dict[str, Any] = {"plan_version": version, "scenario_id": scenario_id, "kpis": None}
    if not lines.empty:
        info.update(source="proposed", scenario_name=record.name if record else "")
        info["kpis"] = {k: v for k, v in (record.results if record else {}).items() if k in scr.KPI_LABELS}
        lines = lines.merge(families, on="sku", how="left")
        return info, lines
    result = baseline(engine, cycle_id, load_inputs=load_inputs)
    info.update(source="baseline", scenario_name=BASELINE, kpis=kpis_json(result.kpis))
    return info, result.lines


def plan_summary(engine: Engine, cycle_id: int, *, current: CurrentPlan | None = None) -> dict[str, Any]:
    """Headline figures of the cycle's proposed plan, or of the baseline when nothing was promoted.

    Returns:
        ``source`` ("proposed" | "baseline"), ``scenario_name``, ``scenario_id``, ``plan_version``,
        ``first_period``/``last_period``, every KPI of :data:`sop_core.planning.scenario_result.KPI_LABELS` (for a
        proposed plan: the KPIs computed from the same evaluation that wrote its lines), and
        ``budget_revenue`` (Σ budget revenue over the horizon's budgeted months, None when there is
        no budget), ``budget_months``, ``plan_revenue_budget_months`` (plan revenue over those same
        months) and ``budget_gap`` = plan − budget over those months. ``current``: the cycle's
        :func:`current_plan`, when the caller has it already.
    """
    info, lines = current if current is not None else current_plan(engine, cycle_id)
    info = dict(info)
    kpis = dict(info.pop("kpis") or {})
    if "revenue" not in kpis:
        # plan lines without a stored evaluation (written by another planner): what the lines tell
        revenue, cost = float(lines["revenue"].sum()), float(lines["cost"].sum())
        kpis = {
            "revenue": revenue,
            "margin": revenue - cost,
            "margin_rate": (revenue - cost) / revenue if revenue else None,
        }
    summary: dict[str, Any] = {k: kpis.get(k) for k in scr.KPI_LABELS}
    summary.update(info)
    first, last = pd.Timestamp(lines["period"].min()), pd.Timestamp(lines["period"].max())
    summary.update(first_period=first.date(), last_period=last.date())
    with session_scope(engine) as s:
        budget = plan_repo.budget(s, first.date(), last.date())
    if budget.empty:
        summary.update(budget_revenue=None, budget_months=0, plan_revenue_budget_months=None, budget_gap=None)
    else:
        months = set(pd.to_datetime(budget["period"]))
        in_budget = lines[pd.to_datetime(lines["period"]).isin(months)]
        plan_rev = float(in_budget["revenue"].sum())
        budget_rev = float(budget["revenue"].sum())
        summary.update(
            budget_revenue=budget_rev,
            budget_months=len(months),
            plan_revenue_budget_months=plan_rev,
            budget_gap=plan_rev - budget_rev,
        )
    return summary


def plan_table(engine: Engine, cycle_id: int, *, current: CurrentPlan | None = None) -> pd.DataFrame:
    """The current plan (proposed or baseline) by family and month:
    ``family, period, demand_qty, supply_qty, inventory_qty, revenue, cost, margin, budget_revenue``
    (``current``: the cycle's :func:`current_plan`, when the caller has it already)."""
    _info, lines = current if current is not None else current_plan(engine, cycle_id)
    cols = ["demand_qty", "supply_qty", "inventory_qty", "revenue", "cost"]
    table = scr.by_family_period(lines[["family", "period", *cols]])
    first, last = table["period"].min(), table["period"].max()
    with session_scope(engine) as s:
        budget = plan_repo.budget(s, pd.Timestamp(first).date(), pd.Timestamp(last).date())
    budget = budget.rename(columns={"revenue": "budget_revenue"})[["family", "period", "budget_revenue"]]
    budget["period"] = pd.to_datetime(budget["period"])
    table["period"] = pd.to_datetime(table["period"])
    return table.merge(budget, on=["family", "period"], how="left")
