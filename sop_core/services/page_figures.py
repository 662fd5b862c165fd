"""The figures the Demand review, Supply review and KPI pages open with, computed and stored ahead of the first
visit (:mod:`sop_core.services.figures`): after the demo company is seeded, and by ``python -m sop_core figures``
after an import or a forecast run (a nightly job of a team's server). Each figure is stored with the stamp of the
data it was computed from, so a page shows it only while that data is unchanged; otherwise the page computes it
again, as without this step.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from sqlalchemy import Engine

from sop_core.planning import forecast as fc
from sop_core.services import cycle as cycle_service
from sop_core.services import (
    demand,
    demand_accuracy,
    executive,
    figures,
    inventory_policy,
    kpi_review,
    overrides,
    plan_changes,
    policy_backtest,
    pricing,
    supply,
    supply_review,
)
from sop_core.services import suppliers as suppliers_service
from sop_core.services.forecasting import DemandError
from sop_core.units import Progress

log = logging.getLogger(__name__)


def store_page_figures(engine: Engine, cycle_id: int | None = None, progress: Progress | None = None) -> list[str]:
    """Compute and store what the pages show first for a cycle (default: the newest, the pages' default): the
    consensus, the total's chart, headline and override grid, the changes against the last cycle and the accuracy
    of earlier cycles (Demand review), the supply review with its worst bottleneck's drill-down, the first family's
    projection and the supplier scorecards (Supply review), the KPI review of all SKUs, the inventory policy and its
    evaluation (KPIs), the price elasticities (Reconciliation), the change against the last plan and the outcome of past
    decisions (Executive review).

    Returns:
        The figures stored (their names); a figure the data do not allow yet (no forecast, say) is left out.
    """
    report = progress or (lambda _f, _m: None)
    cycles = cycle_service.list_cycles(engine)
    cycle = next((c for c in cycles if cycle_id is None or c.id == cycle_id), None)  # newest first
    if cycle is None:
        return []
    run = demand.latest_run(engine, cycle.id)
    total = fc.TOTAL_ITEM
    steps: list[tuple[str, Callable[[], object]]] = [
        ("consensus", lambda: demand.consensus_detail(engine, cycle.id)),
        ("demand of the total", lambda: demand.chart_view(engine, cycle.id, "total", total)),
        ("headline of the total", lambda: demand.item_summary(engine, "total", total, run["id"] if run else None, cycle.id)),
        ("overrides of the total", lambda: overrides.override_grid(engine, cycle.id, "total", total)),
        ("changes by family", lambda: demand_accuracy.changes_vs_last_cycle(engine, cycle.id, "family")),
        ("changes by SKU", lambda: demand_accuracy.changes_vs_last_cycle(engine, cycle.id, "sku")),
        ("accuracy of the total", lambda: demand_accuracy.item_accuracy(engine, cycle.id, "total", total)),
        ("forecast value added", lambda: demand_accuracy.fva_table(engine, cycle.id)),
        ("tracking signals", lambda: demand_accuracy.tracking_flags(engine, cycle.id, "sku")),
        ("inventory policy", lambda: inventory_policy.policy_view(engine, cycle.id)),
        ("supply review", lambda: _supply_review(engine, cycle.id, cycle.label)),
        ("supplier scorecards", lambda: _worst_supplier_items(engine)),
        ("KPI review", lambda: kpi_review.review(engine, "all")),
        ("policy evaluation", lambda: policy_backtest.evaluate_policy(engine, cycle.id)),
        ("price elasticities", lambda: pricing.family_elasticities(engine)),
        ("executive review", lambda: executive.review(engine, cycle.id)),
    ]
    stored = []
    with figures.held_stamps(), figures.storing():  # one version of the data for every figure, stored
        for i, (name, compute) in enumerate(steps):
            report(i / len(steps), f"Storing the pages' figures: {name}…")
            try:
                compute()
            except Exception as err:  # noqa: BLE001 - e.g. no forecast or too short a history yet: the page says so
                log.info("figure %r not stored: %s", name, err)
                continue
            stored.append(name)
    report(1.0, "The pages' figures are stored")
    return stored


def _worst_supplier_items(engine: Engine) -> None:
    """The supplier scorecards, and the items of the supplier the page shows first (the worst OTIF)."""
    card = suppliers_service.supplier_review(engine).card
    if len(card):
        suppliers_service.supplier_items(engine, str(card["supplier"].iloc[0]))


def _supply_review(engine: Engine, cycle_id: int, label: str) -> None:
    """The supply review, the drill-down of its worst bottleneck and the projection of the first family: what the
    Supply review opens with."""
    review = supply_review.review(engine, cycle_id, label)
    if len(review.bottlenecks):
        worst = review.bottlenecks.iloc[0]
        supply.bottleneck_drilldown(engine, cycle_id, str(worst["resource"]), worst["period"])
    families = sorted(review.products["family"].unique())
    if families:
        inventory_policy.projection_with_levels(engine, cycle_id, family=families[0])


def read_ahead(engine: Engine) -> None:
    """Read the newest cycle's data stamps (the demand review's, the plan inputs' and the executive review's:
    :func:`sop_core.services.figures.cycle_stamp`) and the Demand review's opening chart (the total's,
    read from the stored figures into this process), so that the first visit after a server start, which opens on
    the Demand review, finds them at hand (at 17,600 SKUs the stamps take ≈ 0.6 s, the chart ≈ 0.15 s). Writes
    nothing; a database without a cycle, or a cycle without a forecast, is left as it is."""
    cycles = cycle_service.list_cycles(engine)
    if not cycles:
        return
    demand.review_stamp(engine, cycles[0].id)
    plan_changes.review_stamp(engine, cycles[0].id)
    with contextlib.suppress(DemandError):  # a cycle without a forecast yet has no chart
        demand.chart_view(engine, cycles[0].id, "total", fc.TOTAL_ITEM)
