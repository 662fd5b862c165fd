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

from sop_core.db import models as m
from sop_core.services import figures, supply
from sop_core.services.inventory_policy import POLICY_INPUTS, replenishment_proposals


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


#: The tables the review reads: the plan (forecast runs, overrides, products), routings and resources, and what
#: the inventory policy and the replenishment proposals read.
REVIEW_INPUTS = (m.ForecastRun, m.ForecastOverride, m.Routing, m.Resource, *POLICY_INPUTS)


def review_key(engine: Engine, cycle_id: int, cycle_label: str) -> str:
    """The key the page caches :func:`review` under: the stamp of the tables it reads (:data:`REVIEW_INPUTS`),
    which changes when the consensus, the forecast or any of its other inputs does.

    Raises:
        SupplyDataError: when the cycle has no forecast yet (named by ``cycle_label``, ``YYYY-MM``).
    """
    _require_forecast(engine, cycle_id, cycle_label)
    return figures.data_stamp(engine, *REVIEW_INPUTS)


#: How a :class:`SupplyReview` is stored (:mod:`sop_core.services.figures`): its tables and one row of its facts.
REVIEW_TABLES: figures.Tables[SupplyReview] = figures.Tables(
    lambda r: {
        "facts": pd.DataFrame({"run_id": [r.run_id], "source": [r.source], "basis": [r.basis],
                               "unsourced_warning": [r.unsourced_warning]}),
        "load": r.load, "utilisation": r.utilisation, "bottlenecks": r.bottlenecks, "products": r.products,
        "proposals": r.proposals,
    },
    lambda t: SupplyReview(
        run_id=int(t["facts"].at[0, "run_id"]), source=str(t["facts"].at[0, "source"]),
        basis=str(t["facts"].at[0, "basis"]), unsourced_warning=t["facts"].at[0, "unsourced_warning"],
        load=t["load"], utilisation=t["utilisation"], bottlenecks=t["bottlenecks"], products=t["products"],
        proposals=t["proposals"],
    ),
)


def review(engine: Engine, cycle_id: int, cycle_label: str) -> SupplyReview:
    """The Supply review of a cycle (see :class:`SupplyReview`), computed once per data version
    (:mod:`sop_core.services.figures`, keyed by :func:`review_key`).

    Args:
        engine: the database.
        cycle_id: the plan cycle.
        cycle_label: its month as shown (``YYYY-MM``), for the message when it has no forecast.

    Raises:
        SupplyDataError: when the cycle has no forecast yet, or its data are missing.
    """
    run_id = _require_forecast(engine, cycle_id, cycle_label)
    return figures.once(engine, "supply_review", (cycle_id,), figures.data_stamp(engine, *REVIEW_INPUTS),
                        lambda: _review(engine, cycle_id, run_id), tables=REVIEW_TABLES)


def _review(engine: Engine, cycle_id: int, run_id: int) -> SupplyReview:
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
