"""The Supply review of a cycle in one call: what the page shows before any selection (the demand the plan
uses, capacity load, bottlenecks, SKUs without a source, the product list and the replenishment proposals).

The selections' details come from their own services: :func:`sop_core.services.supply.bottleneck_drilldown`,
:func:`sop_core.services.inventory_policy.projection_with_levels` and
:func:`sop_core.services.suppliers.supplier_review` / :func:`sop_core.services.suppliers.supplier_items`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from sop_core.services import supply
from sop_core.services.inventory_policy import replenishment_proposals


@dataclass(frozen=True)
class SupplyReview:
    """What the Supply review shows of a cycle."""

    run_id: int  # the forecast run the statistical forecast comes from
    source: str  # "consensus" or "statistical forecast": the demand the plan uses
    basis: str  # what the load of that demand is called (supply.demand_load_basis)
    load: pd.DataFrame  # supply.capacity_load: load vs capacity per resource and month [hours]
    utilisation: pd.DataFrame  # supply.utilisation_table: resources × months [%]
    bottlenecks: pd.DataFrame  # supply.bottlenecks: resource-months above 90 % of regular capacity
    unsourced_warning: str | None  # supply.unsourced_warning of supply.unsourced_skus
    products: pd.DataFrame  # supply.product_choices: sku, name, family
    proposals: pd.DataFrame  # inventory_policy.replenishment_proposals


def _require_forecast(engine: Engine, cycle_id: int, cycle_label: str) -> int:
    run_id = supply.plan_run_id(engine, cycle_id)
    if run_id is None:
        raise supply.SupplyDataError(
            f"Cycle {cycle_label} has no forecast yet: run the forecast in Demand review first."
        )
    return run_id


def review_key(engine: Engine, cycle_id: int, cycle_label: str) -> str:
    """The key the page caches :func:`review` under: :func:`sop_core.services.supply.plan_fingerprint`, which
    changes when the consensus or the forecast does.

    Raises:
        SupplyDataError: when the cycle has no forecast yet (named by ``cycle_label``, ``YYYY-MM``).
    """
    _require_forecast(engine, cycle_id, cycle_label)
    return supply.plan_fingerprint(engine, cycle_id)


def review(engine: Engine, cycle_id: int, cycle_label: str) -> SupplyReview:
    """The Supply review of a cycle (see :class:`SupplyReview`).

    Args:
        engine: the database.
        cycle_id: the plan cycle.
        cycle_label: its month as shown (``YYYY-MM``), for the message when it has no forecast.

    Raises:
        SupplyDataError: when the cycle has no forecast yet, or its data are missing.
    """
    run_id = _require_forecast(engine, cycle_id, cycle_label)
    load = supply.capacity_load(engine, cycle_id)
    hot = supply.bottlenecks(engine, cycle_id)
    source = supply.plan_demand(engine, cycle_id)[1]
    return SupplyReview(
        run_id=run_id,
        source=source,
        basis=supply.demand_load_basis(source),
        load=load,
        utilisation=supply.utilisation_table(load),
        bottlenecks=hot,
        unsourced_warning=supply.unsourced_warning(supply.unsourced_skus(engine, cycle_id)),
        products=supply.product_choices(engine),
        proposals=replenishment_proposals(engine, cycle_id),
    )
