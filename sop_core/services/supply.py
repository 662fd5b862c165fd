"""Supply review services: the demand the supply review plans against, capacity load and bottlenecks of
that plan, SKUs without any source, and projected inventory.

Each function loads from the database through :mod:`sop_core.db.master_repo` and :mod:`sop_core.db.stock_repo`, computes with
:mod:`sop_core.planning.supply_math` and returns DataFrames for the pages and the command line. Supplier
performance lives in :mod:`sop_core.services.suppliers`, safety stocks and reorder points in
:mod:`sop_core.services.inventory_policy`.

The plan of a cycle is its consensus demand when the demand review provides one
(:func:`sop_core.services.demand.consensus_demand`), otherwise the demand of its newest finished forecast
run (``forecast.yhat``, clipped at zero), for the months from the cycle month on. Optionally the last
``history_months`` months of sales history are prepended, so a chart can show how loaded the resources were.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import pandas as pd
from dateutil.relativedelta import relativedelta
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from sop_core.db import cycle_repo, forecast_repo, master_repo, stock_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.errors import SopError
from sop_core.planning import supply_math as supply
from sop_core.services import figures
from sop_core.services.demand import CONSENSUS_INPUTS, consensus_demand

log = logging.getLogger(__name__)


#: Days of cover above which projected stock counts as excess [days].
EXCESS_COVER_DAYS = 120.0
#: What the load of the constrained plan is called on every page and in the meeting pack.
PLAN_LOAD_BASIS = "Load of the constrained plan"
#: Columns of :func:`unsourced_skus`.
UNSOURCED_COLUMNS = ["sku", "name", "family", "demand_qty", "demand_value", "share"]


def demand_load_basis(source: str = "consensus") -> str:
    """What the load of the demand is called on every page and in the meeting pack, for the demand's source
    (:func:`plan_demand`): ``Load of the consensus demand (unconstrained)``, or ``Load of the statistical
    forecast (unconstrained)`` before the demand review made a consensus.

    Example:
        >>> demand_load_basis("consensus")
        'Load of the consensus demand (unconstrained)'
    """
    return f"Load of the {'consensus demand' if source == 'consensus' else source} (unconstrained)"


class SupplyDataError(SopError):
    """The database lacks what a supply calculation needs (one line for the user)."""


@dataclass(frozen=True)
class PlanInputs:
    month: dt.date
    run_id: int
    plan: pd.DataFrame  # sku, period, quantity
    routing: pd.DataFrame
    resources: pd.DataFrame
    source: str = "statistical forecast"


def _consensus(engine: Engine, cycle_id: int, first_period: dt.date) -> pd.DataFrame | None:
    """The cycle's consensus demand ``sku, period, qty`` [units/month] from ``first_period`` on, quantities
    clipped at zero; None when the demand review has none (no finished forecast run)."""
    frame = consensus_demand(engine, cycle_id)
    if frame.empty:
        return None
    out = frame[["sku", "period", "qty"]].copy()
    out["period"] = pd.to_datetime(out["period"])
    out["qty"] = out["qty"].astype(float).clip(lower=0.0)
    return out[out["period"] >= pd.Timestamp(first_period)].reset_index(drop=True)


def plan_demand(engine: Engine, cycle_id: int, run_id: int | None = None) -> tuple[pd.DataFrame, str]:
    """Demand the supply review plans against: consensus when present, else the statistical forecast.

    Returns:
        ``(frame, source)``: ``sku, period, quantity`` [units/month] from the cycle month on, and
        ``"consensus"`` or ``"statistical forecast"``.

    Raises:
        SupplyDataError: when the cycle is missing or has neither consensus nor forecast.
    """
    with session_scope(engine) as s:
        cyc = cycle_repo.cycle(s, cycle_id)
        month = cyc.month if cyc is not None else None
    if month is None:
        raise SupplyDataError(f"plan cycle {cycle_id} does not exist")
    if run_id is None:
        consensus = _consensus(engine, cycle_id, month)
        if consensus is not None:  # the supply plan speaks of quantities, as the forecast and sales tables do
            return consensus.rename(columns={"qty": "quantity"}), "consensus"
    with session_scope(engine) as s:
        _month, run = _cycle_and_run(s, cycle_id, run_id)
        demand = forecast_repo.forecast_demand(s, run, first_period=month)
        return demand.assign(quantity=demand["quantity"].clip(lower=0.0)), "statistical forecast"


def _cycle_and_run(session: Session, cycle_id: int, run_id: int | None) -> tuple[dt.date, int]:
    cyc = cycle_repo.cycle(session, cycle_id)
    if cyc is None:
        raise SupplyDataError(f"plan cycle {cycle_id} does not exist")
    newest = forecast_repo.latest_run(session, cycle_id) if run_id is None else None
    run = run_id if run_id is not None else (newest.id if newest is not None else None)
    if run is None:
        raise SupplyDataError(f"cycle {cyc.month:%Y-%m} has no forecast yet: run the forecast in Demand review first")
    return cyc.month, int(run)


def plan_run_id(engine: Engine, cycle_id: int) -> int | None:
    """The forecast run a cycle's plan uses by default (its newest finished run), None when there is none."""
    with session_scope(engine) as s:
        run = forecast_repo.latest_run(s, cycle_id)
        return run.id if run is not None else None


def load_plan_inputs(engine: Engine, cycle_id: int, run_id: int | None = None, history_months: int = 0) -> PlanInputs:
    """The plan (forecast of the cycle, with optional actuals before it), routing and resources."""
    plan, source = plan_demand(engine, cycle_id, run_id)
    with session_scope(engine) as s:
        month, run = _cycle_and_run(s, cycle_id, run_id)
        if history_months > 0:
            first = month - relativedelta(months=history_months)
            actual = stock_repo.sales(s, first, month - relativedelta(days=1))
            plan = pd.concat([actual, plan], ignore_index=True)
        routing = master_repo.routing(s)
        resources = master_repo.resources(s)
    return PlanInputs(month=month, run_id=run, plan=plan, routing=routing, resources=resources, source=source)


def capacity_load(engine: Engine, cycle_id: int, run_id: int | None = None, *, history_months: int = 0) -> pd.DataFrame:
    """Rough-cut capacity of a cycle's plan: load vs capacity per resource and month.

    Args:
        engine: the database.
        cycle_id: the plan cycle.
        run_id: a forecast run of the cycle (default: the newest finished one).
        history_months: months of actual sales before the cycle month to include [months].

    Returns:
        :func:`sop_core.planning.supply_math.rough_cut_capacity` columns plus the resource ``name`` (after
        ``resource``); utilisation as a share.

    Raises:
        SupplyDataError: when the cycle or its forecast is missing.
    """
    inputs = load_plan_inputs(engine, cycle_id, run_id, history_months)
    load = supply.rough_cut_capacity(inputs.plan, inputs.routing, inputs.resources)
    names = inputs.resources.set_index("resource")["name"]
    load.insert(1, "name", load["resource"].map(names))
    return load


def utilisation_table(load: pd.DataFrame) -> pd.DataFrame:
    """Utilisation in percent, one row per resource and one column per month (``YYYY-MM``), rounded to 0.1."""
    wide = load.assign(month=load["period"].dt.strftime("%Y-%m")).pivot(
        index="resource", columns="month", values="utilisation"
    )
    return (100 * wide).round(1).rename_axis(index="resource", columns=None)


def bottlenecks(
    engine: Engine, cycle_id: int, run_id: int | None = None, *, top_n: int = 3, include_warnings: bool = True
) -> pd.DataFrame:
    """Resources and months over capacity (and, optionally, above the 90 % warning line).

    Returns:
        ``resource, name, period, utilisation, load_hours, capacity_hours, overtime_hours,
        shortfall_hours, status, top_skus`` sorted by utilisation (highest first); ``top_skus`` names
        the ``top_n`` SKUs loading the resource most in that month with their hours, e.g.
        ``"K-101 (120 h), K-205 (80 h)"``.
    """
    inputs = load_plan_inputs(engine, cycle_id, run_id)
    load = supply.rough_cut_capacity(inputs.plan, inputs.routing, inputs.resources)
    load.insert(1, "name", load["resource"].map(inputs.resources.set_index("resource")["name"]))
    statuses = ("bottleneck", "warning") if include_warnings else ("bottleneck",)
    hot = load[load["status"].isin(statuses)]
    by_sku = supply.capacity_load_by_sku(inputs.plan, inputs.routing)
    top = (
        by_sku[by_sku["load_hours"] > 0]
        .groupby(["resource", "period"], sort=False)
        .head(top_n)
        .assign(label=lambda f: f["sku"] + " (" + f["load_hours"].round(0).astype(int).astype(str) + " h)")
        .groupby(["resource", "period"])["label"]
        .agg(", ".join)
        .rename("top_skus")
        .reset_index()
    )
    out = hot.merge(top, on=["resource", "period"], how="left")
    cols = [
        "resource",
        "name",
        "period",
        "utilisation",
        "load_hours",
        "capacity_hours",
        "overtime_hours",
        "shortfall_hours",
        "status",
        "top_skus",
    ]
    return out[cols].sort_values(["utilisation", "resource"], ascending=[False, True], ignore_index=True)


def unsourced_skus(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """The SKUs with demand in the cycle but neither a routing nor a supplier item: nothing limits their
    supply, so the constrained plan supplies whatever they need (at any volume) and their load is on no
    resource.

    Demand is the cycle's plan demand (:func:`plan_demand`: consensus, else the statistical forecast) from
    the cycle month on, valued at list price.

    Returns:
        :data:`UNSOURCED_COLUMNS`: ``sku, name, family``, ``demand_qty`` [units] and ``demand_value``
        [currency] = Σ demand × unit price over the cycle's months, and ``share`` = the SKU's demand value ÷
        the demand value of every SKU in the cycle (a share); largest demand value first. Empty when every
        SKU with demand has a routing or a supplier item.

    Raises:
        SupplyDataError: when the cycle or its forecast is missing.
    """
    demand, _source = plan_demand(engine, cycle_id)
    with session_scope(engine) as s:
        unsourced = master_repo.products_without_source(s)
        prices = master_repo.products(s)[["sku", "unit_price"]]
    valued = demand.merge(prices, on="sku", how="left")
    valued["value"] = valued["quantity"] * valued["unit_price"].fillna(0.0).astype(float)
    total = float(valued["value"].sum())
    per_sku = valued.groupby("sku", as_index=False).agg(demand_qty=("quantity", "sum"), demand_value=("value", "sum"))
    out = unsourced.merge(per_sku, on="sku", how="inner")
    out = out[out["demand_qty"] > 0].copy()
    out["share"] = out["demand_value"] / total if total > 0 else 0.0
    out = out.sort_values(["demand_value", "sku"], ascending=[False, True], ignore_index=True)
    return out[UNSOURCED_COLUMNS]


def unsourced_warning(skus: pd.DataFrame, *, limit: int = 5) -> str | None:
    """The warning the planning pages and the meeting pack show for :func:`unsourced_skus` (None when empty):
    how many SKUs, and the first ``limit`` of them with their share of the cycle's demand value.

    Example:
        >>> frame = pd.DataFrame({"sku": ["KA-9001", "KA-9002"], "share": [0.6152, 0.0031]})
        >>> head, tail = unsourced_warning(frame).split(" — ")
        >>> head
        '2 SKUs have neither a routing nor a supplier: their supply is not limited by any capacity'
        >>> tail
        "KA-9001 (61.5 %), KA-9002 (0.3 %) of the cycle's demand value. Add a routing or a supplier item for each."
    """
    if skus.empty:
        return None
    n = len(skus)
    named = ", ".join(f"{r.sku} ({100 * r.share:.1f} %)" for r in skus.head(limit).itertuples(index=False))
    if n > limit:
        named += f" and {n - limit} more ({100 * float(skus['share'].iloc[limit:].sum()):.1f} %)"
    if n == 1:
        head = "1 SKU has neither a routing nor a supplier: its supply is not limited by any capacity"
    else:
        head = f"{n} SKUs have neither a routing nor a supplier: their supply is not limited by any capacity"
    return f"{head} — {named} of the cycle's demand value. Add a routing or a supplier item for {'each' if n > 1 else 'it'}."


def product_choices(engine: Engine) -> pd.DataFrame:
    """``sku, name, family`` of every product, for pickers."""
    with session_scope(engine) as s:
        return master_repo.products(s)[["sku", "name", "family"]].sort_values(["family", "sku"], ignore_index=True)


def projected_inventory(
    engine: Engine,
    cycle_id: int,
    sku: str | None = None,
    family: str | None = None,
    *,
    run_id: int | None = None,
    policy: supply.Policy = "lost_sales",
    cover_periods: int = 3,
) -> pd.DataFrame:
    """Projected inventory over the cycle's horizon from on hand, open orders and the forecast.

    Inputs: on hand = each SKU's newest snapshot before the cycle month; receipts = open purchase
    and production orders by due month (orders due before the cycle month count in its first
    month); demand = the forecast of the cycle. Unmet demand is lost (``policy="lost_sales"``).

    Args:
        engine: the database.
        cycle_id: the plan cycle.
        sku: one SKU (its own rows).
        family: a product family: its SKUs are projected one by one and summed per month, with
            ``sku`` set to the family name.
        run_id: a forecast run of the cycle (default: the newest finished one).
        policy: ``"lost_sales"`` or ``"backorder"``.
        cover_periods: months ahead averaged for days of cover [months].

    Returns:
        :func:`sop_core.planning.supply_math.projected_inventory` columns (all SKUs when neither ``sku`` nor
        ``family`` is given); with the policy's levels and flags:
        :func:`sop_core.services.inventory_policy.projection_with_levels`.

    Raises:
        SupplyDataError: when the cycle, its forecast, the SKU or the family is missing.
    """
    demand, _source = plan_demand(engine, cycle_id, run_id)
    with session_scope(engine) as s:
        month, _run = _cycle_and_run(s, cycle_id, run_id)
        products = master_repo.products(s)
        stock = stock_repo.on_hand(s, at_most=month - relativedelta(days=1))
        receipts = stock_repo.open_orders(s)
    if sku is not None:
        if sku not in set(products["sku"]):
            raise SupplyDataError(f"unknown SKU {sku!r}")
        keep = {sku}
    elif family is not None:
        keep = set(products.loc[products["family"] == family, "sku"])
        if not keep:
            raise SupplyDataError(f"unknown product family {family!r}")
    else:
        keep = set(products["sku"])
    receipts["period"] = receipts["period"].clip(lower=pd.Timestamp(month))
    receipts = receipts[receipts["period"] <= demand["period"].max()] if not demand.empty else receipts
    projection = supply.projected_inventory(
        stock[stock["sku"].isin(keep)],
        receipts[receipts["sku"].isin(keep)],
        demand[demand["sku"].isin(keep)],
        policy=policy,
        cover_periods=cover_periods,
    )
    label = family if family is not None and sku is None else None
    if label is not None:
        projection = supply.summarise_projection(projection, label, cover_periods=cover_periods)
    return projection


def bottleneck_drilldown(
    engine: Engine, cycle_id: int, resource: str, period: dt.date | pd.Timestamp, run_id: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Which families and SKUs load one resource in one month.

    Returns:
        ``(families, skus)``: ``family, load_hours, share`` and ``family, sku, name, quantity,
        load_hours, share`` (shares of the resource-month load, 0..1), largest first; computed once per data
        version (:mod:`sop_core.services.figures`).
    """
    stamp = figures.data_stamp(engine, *CONSENSUS_INPUTS, m.Routing, m.Resource)
    return figures.once(engine, "bottleneck_drilldown", (cycle_id, resource, pd.Timestamp(period), run_id), stamp,
                        lambda: _bottleneck_drilldown(engine, cycle_id, resource, period, run_id),
                        tables=figures.Tables(lambda r: {"families": r[0], "skus": r[1]},
                                              lambda t: (t["families"], t["skus"])))


def _bottleneck_drilldown(engine: Engine, cycle_id: int, resource: str, period: dt.date | pd.Timestamp,
                          run_id: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    inputs = load_plan_inputs(engine, cycle_id, run_id)
    with session_scope(engine) as s:
        products = master_repo.products(s)
    parts = supply.load_contributions(inputs.plan, inputs.routing, products)
    one = parts[(parts["resource"] == resource) & (parts["period"] == pd.Timestamp(period))]
    one = one[one["load_hours"] > 0]
    skus = one.assign(name=one["sku"].map(products.set_index("sku")["name"]))[
        ["family", "sku", "name", "quantity", "load_hours", "share"]
    ].reset_index(drop=True)
    families = (
        skus.groupby("family", as_index=False)[["load_hours", "share"]]
        .sum()
        .sort_values("load_hours", ascending=False, ignore_index=True)
    )
    return families, skus
