"""Supply review services: capacity load and bottlenecks of the plan, projected inventory, supplier
scorecards, inventory policy, replenishment proposals, the inventory needed per cycle service level target
(frontier) and the policy backtest per fill-rate target.

Each function loads from the database through :mod:`sop_core.db.supply_repo`, computes with
:mod:`sop_core.planning.supply_math`, :mod:`sop_core.planning.inventory` and :mod:`sop_core.planning.policy`, and returns DataFrames
for the pages and the command line.

The plan of a cycle is its consensus demand when the demand review provides one
(``sop_core.services.demand.consensus_demand(engine, cycle_id) -> sku, period, qty``), otherwise the
demand of its newest finished forecast run (``forecast.yhat``, clipped at zero), for the months from
the cycle month on. Optionally the last ``history_months`` months of sales history are prepended, so a
chart can show how loaded the resources were.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from dateutil.relativedelta import relativedelta
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from sop_core.db import supply_repo as q
from sop_core.db.engine import session_scope
from sop_core.errors import SopError
from sop_core.planning import inventory, inventory_frontier, policy, replenishment, segmentation
from sop_core.planning import supply_math as supply
from sop_core.units import DAYS_PER_MONTH

log = logging.getLogger(__name__)


#: Days of cover above which projected stock counts as excess [days].
EXCESS_COVER_DAYS = 120.0
#: Lead time of in-house production (items without a supplier) [days].
IN_HOUSE_LEAD_TIME_DAYS = DAYS_PER_MONTH
#: The ``supplier`` of an item made in house (no supplier item) in :func:`inventory_policy`.
IN_HOUSE = "in-house"
#: Review period of the monthly planning cycle R [months].
REVIEW_PERIOD_MONTHS = 1.0
#: OTIF below which a supplier counts as unreliable [share].
OTIF_TARGET = 0.90
#: Closed deliveries a supplier item needs before its own lead-time spread is used.
MIN_RECEIPTS = 3
#: Average demand interval above which an item is intermittent (Syntetos & Boylan 2005, ADI > 1.32).
ADI_INTERMITTENT = 1.32


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
    """The cycle's consensus demand (``sku, period, quantity``) when the demand service offers it."""
    demand_service = importlib.import_module("sop_core.services.demand")
    consensus_demand = getattr(demand_service, "consensus_demand", None)
    if consensus_demand is None:
        return None
    frame = consensus_demand(engine, cycle_id)
    if frame is None or len(frame) == 0:
        return None
    out = frame.rename(columns={"qty": "quantity"})[["sku", "period", "quantity"]].copy()
    out["period"] = pd.to_datetime(out["period"])
    out["quantity"] = out["quantity"].astype(float).clip(lower=0.0)
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
        month = q.cycle_month(s, cycle_id)
    if month is None:
        raise SupplyDataError(f"plan cycle {cycle_id} does not exist")
    if run_id is None:
        consensus = _consensus(engine, cycle_id, month)
        if consensus is not None:
            return consensus, "consensus"
    with session_scope(engine) as s:
        _month, run = _cycle_and_run(s, cycle_id, run_id)
        return q.forecast(s, run, first_period=month), "statistical forecast"


def _cycle_and_run(session: Session, cycle_id: int, run_id: int | None) -> tuple[dt.date, int]:
    month = q.cycle_month(session, cycle_id)
    if month is None:
        raise SupplyDataError(f"plan cycle {cycle_id} does not exist")
    run = run_id if run_id is not None else q.latest_run_id(session, cycle_id)
    if run is None:
        raise SupplyDataError(f"cycle {month:%Y-%m} has no forecast yet: run the forecast in Demand review first")
    return month, int(run)


def plan_run_id(engine: Engine, cycle_id: int) -> int | None:
    """The forecast run a cycle's plan uses by default (its newest finished run), None when there is none."""
    with session_scope(engine) as s:
        return q.latest_run_id(s, cycle_id)


def plan_fingerprint(engine: Engine, cycle_id: int) -> str:
    """A short hash of the plan demand and its source: changes when the consensus or the forecast does
    (pages key their cached loaders on it, so an override made in the demand review shows at once)."""
    frame, source = plan_demand(engine, cycle_id)
    digest = int(pd.util.hash_pandas_object(frame, index=False).sum()) & 0xFFFFFFFFFFFF
    return f"{source[:3]}-{len(frame)}-{digest:012x}"


def load_plan_inputs(engine: Engine, cycle_id: int, run_id: int | None = None, history_months: int = 0) -> PlanInputs:
    """The plan (forecast of the cycle, with optional actuals before it), routing and resources."""
    plan, source = plan_demand(engine, cycle_id, run_id)
    with session_scope(engine) as s:
        month, run = _cycle_and_run(s, cycle_id, run_id)
        if history_months > 0:
            first = month - relativedelta(months=history_months)
            actual = q.sales(s, first, month - relativedelta(days=1))
            plan = pd.concat([actual, plan], ignore_index=True)
        routing = q.routing(s)
        resources = q.resources(s)
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
        unsourced = q.products_without_source(s)
        prices = q.products(s)[["sku", "unit_price"]]
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
        return q.products(s)[["sku", "name", "family"]].sort_values(["family", "sku"], ignore_index=True)


def projected_inventory(
    engine: Engine,
    cycle_id: int,
    sku: str | None = None,
    family: str | None = None,
    *,
    run_id: int | None = None,
    policy: supply.Policy = "lost_sales",
    cover_periods: int = 3,
    with_levels: bool = False,
    excess_cover_days: float = EXCESS_COVER_DAYS,
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
        with_levels: add safety stock, reorder point and maximum stock of :func:`inventory_policy`
            (summed over a family) and the flags of :func:`sop_core.planning.supply_math.flag_projection`.
        excess_cover_days: days of cover above which stock is excess [days].

    Returns:
        :func:`sop_core.planning.supply_math.projected_inventory` columns (all SKUs when neither ``sku`` nor
        ``family`` is given), plus the levels and flags with ``with_levels``.

    Raises:
        SupplyDataError: when the cycle, its forecast, the SKU or the family is missing.
    """
    demand, _source = plan_demand(engine, cycle_id, run_id)
    with session_scope(engine) as s:
        month, _run = _cycle_and_run(s, cycle_id, run_id)
        products = q.products(s)
        stock = q.on_hand(s, at_most=month - relativedelta(days=1))
        receipts = q.open_orders(s)
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
    if not with_levels:
        return projection
    levels = inventory_policy(engine, cycle_id)
    levels = levels[levels["sku"].isin(keep)][["sku", "safety_stock", "reorder_point", "max_stock"]]
    if label is not None:  # a family's lines are the sums of its SKUs' levels
        levels = levels.drop(columns="sku").sum().to_frame().T.assign(sku=label)
    return supply.flag_projection(projection, levels, excess_cover_days=excess_cover_days)


def supplier_scorecard(
    engine: Engine,
    *,
    since: dt.date | None = None,
    on_time_tolerance_days: int = 0,
    in_full_tolerance: float = 0.0,
) -> pd.DataFrame:
    """Supplier OTIF and lead-time statistics from the receipt history (open orders excluded).

    Args:
        engine: the database.
        since: count deliveries received on or after this date only (default: the whole history).
        on_time_tolerance_days: allowed lateness [days].
        in_full_tolerance: allowed missing share of the ordered quantity [0..1).

    Returns:
        ``supplier, name`` and the columns of :func:`sop_core.planning.supply_math.supplier_performance`.
    """
    with session_scope(engine) as s:
        receipts = q.receipts(s, received_from=since)
        names = q.suppliers(s).set_index("supplier")["name"]
    card = supply.supplier_performance(receipts, on_time_tolerance_days, in_full_tolerance)
    card.insert(1, "name", card["supplier"].map(names))
    return card


def supplier_item_scorecard(
    engine: Engine,
    *,
    supplier: str | None = None,
    on_time_tolerance_days: int = 0,
    in_full_tolerance: float = 0.0,
) -> pd.DataFrame:
    """OTIF and lead-time statistics per supplier and item (closed deliveries).

    Args:
        engine: the database.
        supplier: the items of this supplier only (default: every supplier item).
        on_time_tolerance_days: allowed lateness [days].
        in_full_tolerance: allowed missing share of the ordered quantity [0..1).

    Returns:
        ``supplier, sku, name`` (the product's) and the columns of
        :func:`sop_core.planning.supply_math.supplier_performance`; worst OTIF first.
    """
    with session_scope(engine) as s:
        receipts = q.receipts(s)
        names = q.products(s).set_index("sku")["name"]
    if supplier is not None:
        receipts = receipts[receipts["supplier"] == supplier]
    card = supply.supplier_performance(receipts, on_time_tolerance_days, in_full_tolerance, by=("supplier", "sku"))
    card.insert(2, "name", card["sku"].map(names))
    return card


def supplier_trend(
    engine: Engine, *, freq: str = "Q", on_time_tolerance_days: int = 0, in_full_tolerance: float = 0.0
) -> pd.DataFrame:
    """OTIF and mean lead time per supplier and quarter (``freq="Q"``) or month (``"M"``) of receipt."""
    with session_scope(engine) as s:
        receipts = q.receipts(s)
    return supply.reliability_trend(receipts, on_time_tolerance_days, in_full_tolerance, freq=freq)  # type: ignore[arg-type]


ITEM_TREND_COLUMNS = ["supplier", "sku", "name", "period", "orders", "otif", "lt_mean_days", "master_lead_time_days"]


def supplier_item_trend(
    engine: Engine,
    supplier: str,
    *,
    sku: str | None = None,
    freq: Literal["M", "Q"] = "M",
    on_time_tolerance_days: int = 0,
    in_full_tolerance: float = 0.0,
) -> pd.DataFrame:
    """Reliability trend of one supplier's items: OTIF and mean lead time per item and month of receipt.

    Same definitions as :func:`supplier_scorecard` (closed deliveries; on time = received on or before
    the promised date plus the tolerance, in full = the ordered quantity less the tolerance), bucketed
    by the month (``freq="M"``) or quarter (``"Q"``) of ``received_date``
    (:func:`sop_core.planning.supply_math.reliability_trend` with ``by=("supplier", "sku")``). Months without a
    delivery have no row.

    Args:
        engine: the database.
        supplier: the supplier code.
        sku: one of its items (default: all the items it delivered).
        freq: ``"M"`` (months) or ``"Q"`` (quarters).
        on_time_tolerance_days: allowed lateness [days].
        in_full_tolerance: allowed missing share of the ordered quantity [0..1).

    Returns:
        :data:`ITEM_TREND_COLUMNS`: ``supplier, sku, name`` (the product's), ``period`` (bucket start),
        ``orders`` (deliveries received in it), ``otif`` [share 0..1], ``lt_mean_days`` (mean of
        received − ordered) [days] and ``master_lead_time_days``, the item's lead time in the
        supplier master data [days] (NaN when the item is not listed there); sorted by SKU and period.

    Raises:
        SupplyDataError: when the supplier is unknown or ``sku`` is not one of its items.
    """
    with session_scope(engine) as s:
        known = set(q.suppliers(s)["supplier"])
        receipts = q.receipts(s)
        items = q.supplier_items(s)
        names = q.products(s).set_index("sku")["name"]
    if supplier not in known:
        raise SupplyDataError(f"unknown supplier {supplier!r}")
    receipts = receipts[receipts["supplier"] == supplier]
    if sku is not None:
        listed = set(items.loc[items["supplier"] == supplier, "sku"]) | set(receipts["sku"])
        if sku not in listed:
            raise SupplyDataError(f"supplier {supplier} does not deliver SKU {sku!r}")
        receipts = receipts[receipts["sku"] == sku]
    trend = supply.reliability_trend(
        receipts, on_time_tolerance_days, in_full_tolerance, freq=freq, by=("supplier", "sku")
    )
    master = items[items["supplier"] == supplier].set_index("sku")["lead_time_days"]
    trend.insert(2, "name", trend["sku"].map(names))
    trend["master_lead_time_days"] = trend["sku"].map(master).astype(float)
    return trend[ITEM_TREND_COLUMNS].reset_index(drop=True)


def item_trend_table(trend: pd.DataFrame, value: str = "otif", order: list[str] | None = None) -> pd.DataFrame:
    """One row per SKU and one column per month (``YYYY-MM``) of :func:`supplier_item_trend` output.

    Args:
        trend: output of :func:`supplier_item_trend` (monthly buckets).
        value: ``"otif"`` (shown in percent) or ``"lt_mean_days"`` [days]; rounded to 0.1.
        order: SKUs in the order of the rows (default: sorted); SKUs without deliveries are left out.

    Returns:
        Every month from the first to the last delivery as a column; NaN where an item had no
        delivery that month.
    """
    if value not in ("otif", "lt_mean_days"):
        raise ValueError(f"value must be 'otif' or 'lt_mean_days', got {value!r}")
    if trend.empty:
        return pd.DataFrame(index=pd.Index([], name="sku"))
    months = pd.date_range(trend["period"].min(), trend["period"].max(), freq="MS")
    wide = trend.pivot(index="sku", columns="period", values=value).reindex(columns=months)
    rows = [s for s in (order if order is not None else sorted(wide.index)) if s in wide.index]
    wide = wide.reindex(rows) * (100.0 if value == "otif" else 1.0)
    wide.columns = [f"{m:%Y-%m}" for m in wide.columns]
    return wide.round(1).rename_axis(index="sku")


def bottleneck_drilldown(
    engine: Engine, cycle_id: int, resource: str, period: dt.date | pd.Timestamp, run_id: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Which families and SKUs load one resource in one month.

    Returns:
        ``(families, skus)``: ``family, load_hours, share`` and ``family, sku, name, quantity,
        load_hours, share`` (shares of the resource-month load, 0..1), largest first.
    """
    inputs = load_plan_inputs(engine, cycle_id, run_id)
    with session_scope(engine) as s:
        products = q.products(s)
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


def _lead_times(receipts: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Lead time mean and spread [days] per supplier item: measured when it has ≥ MIN_RECEIPTS closed
    deliveries, else the supplier's measured spread around the item's master lead time, else master data."""
    if items.empty:
        extra = {"lt_mean_days": [], "lt_std_days": [], "lt_source": [], "otif": [], "in_full": []}
        return items.assign(**{k: pd.Series(v, dtype=object if k == "lt_source" else float) for k, v in extra.items()})
    per_item = supply.supplier_performance(receipts, by=("supplier", "sku")).set_index(["supplier", "sku"])
    per_sup = supply.supplier_performance(receipts).set_index("supplier")
    out = items.copy()
    key = pd.MultiIndex.from_frame(out[["supplier", "sku"]])
    n = per_item["orders"].reindex(key).fillna(0).to_numpy()
    measured = n >= MIN_RECEIPTS
    item_mean = per_item["lt_mean_days"].reindex(key).to_numpy()
    item_std = per_item["lt_std_days"].reindex(key).to_numpy()
    sup_std = out["supplier"].map(per_sup["lt_std_days"]).to_numpy(dtype=float)
    out["lt_mean_days"] = np.where(measured, item_mean, out["lead_time_days"])
    out["lt_std_days"] = np.where(measured, item_std, np.where(np.isnan(sup_std), out["lead_time_std_days"], sup_std))
    out["lt_source"] = np.where(
        measured, "measured (item)", np.where(np.isnan(sup_std), "master data", "measured (supplier)")
    )
    out["otif"] = out["supplier"].map(per_sup["otif"])
    out["in_full"] = out["supplier"].map(per_sup["in_full"])
    return out


def _monthly_history(session: Session, products: pd.DataFrame, last_month: dt.date, months: int) -> pd.DataFrame:
    first = last_month - relativedelta(months=months - 1)
    sales = q.sales(session, first, last_month + relativedelta(months=1) - relativedelta(days=1))
    grid = pd.MultiIndex.from_product(
        [products["sku"], pd.date_range(first, last_month, freq="MS")], names=["sku", "period"]
    )
    return sales.groupby(["sku", "period"])["quantity"].sum().reindex(grid, fill_value=0.0).reset_index()


POLICY_COLUMNS = [
    "sku", "name", "family", "abc", "xyz", "class", "intermittent", "method", "annual_value", "demand_mean",
    "demand_std", "cv", "cycle_service_level", "supplier", "lead_time_days", "lead_time_std_days", "lt_source",
    "lead_time_months", "review_months", "safety_stock", "reorder_point", "eoq", "moq", "order_qty", "max_stock",
    "on_hand", "on_order", "unit_cost", "safety_stock_value", "below_reorder_point",
]  # fmt: skip


def _intermittent_samples(frame: pd.DataFrame, monthly: pd.DataFrame) -> dict[int, np.ndarray]:
    """Demand of L + R consecutive months (rounded to whole months) of each intermittent item, by row position."""
    series = monthly.sort_values(["sku", "period"]).groupby("sku")["quantity"].apply(np.asarray)
    out: dict[int, np.ndarray] = {}
    for i in np.flatnonzero(frame["intermittent"].to_numpy()):
        row = frame.iloc[i]
        periods = max(1, int(round(row["lead_time_months"] + row["review_months"])))
        history = series.get(row["sku"])
        if history is not None and len(history) >= periods:
            out[int(i)] = inventory.lead_time_demand_samples(history, periods)
    return out


def inventory_policy(
    engine: Engine,
    cycle_id: int,
    *,
    targets: str = "product",
    review_period_months: float = REVIEW_PERIOD_MONTHS,
    history_months: int = 24,
) -> pd.DataFrame:
    """Safety stock, reorder point and order quantity of every product for a cycle (formulas in
    :mod:`sop_core.planning.inventory`).

    Inputs, all from data before the cycle month:

    * demand d̄ and σ_d [units/month]: mean and *sample* deviation (ddof = 1) of the last 12 months
      (months without sales count as 0); ABC by the annual value Σ qty × unit cost of those months,
      XYZ by σ_d / d̄.
    * lead time L and σ_L of the preferred supplier (priority 1): measured from its closed
      deliveries of the item (≥ 3), else the supplier's measured spread, else master data; items
      without a supplier are made in house in one month (σ_L = 0). Converted to months (÷ 30.44).
    * review period R = 1 month (the monthly S&OP cycle).
    * cycle service level CSL (the probability of no stock-out per replenishment cycle, column
      ``cycle_service_level``): ``targets="product"`` uses ``product.service_target``; ``"matrix"`` the
      default target of the item's ABC/XYZ cell (:data:`sop_core.planning.segmentation.DEFAULT_SERVICE_TARGETS`).
    * intermittent items (average demand interval > 1.32 months over the last 12 months, Syntetos &
      Boylan, *J. Oper. Res. Soc.* 56 (2005) 495–503) get the *empirical* safety stock: quantile of the demand of L + R
      consecutive months (rounded to whole months) minus its mean, over ``history_months``
      (:func:`sop_core.planning.inventory.empirical_safety_stock`); the others the normal formula
      SS = z·sqrt((L + R)·σ_d² + d̄²·σ_L²). Negative safety stocks are set to 0.
    * ROP = d̄·(L + R) + SS; order quantity = EOQ (12·d̄, order cost, holding rate × unit cost) raised
      to the preferred supplier's MOQ; maximum stock = ROP + order quantity (min–max band).

    Returns:
        :data:`POLICY_COLUMNS`, items below their reorder point (on hand + on order) first.

    Raises:
        SupplyDataError: when the cycle does not exist or ``targets`` is unknown.
    """
    if targets not in ("product", "matrix"):
        raise SupplyDataError(f"targets must be 'product' or 'matrix', got {targets!r}")
    with session_scope(engine) as s:
        month = q.cycle_month(s, cycle_id)
        if month is None:
            raise SupplyDataError(f"plan cycle {cycle_id} does not exist")
        products = q.product_policy_inputs(s).merge(q.products(s)[["sku", "unit_price"]], on="sku")
        last = month - relativedelta(months=1)
        monthly = _monthly_history(s, products, last, history_months)
        items = q.supplier_items(s)
        receipts = q.receipts(s, received_to=month - relativedelta(days=1))
        stock = q.on_hand(s, at_most=month - relativedelta(days=1))
        on_order = q.open_orders(s).groupby("sku")["quantity"].sum()
    recent = monthly[monthly["period"] > pd.Timestamp(last) - pd.DateOffset(months=12)]
    stats = segmentation.demand_stats(recent, ddof=1)
    annual = recent.groupby("sku")["quantity"].sum() * products.set_index("sku")["unit_cost"]
    classes = segmentation.abc_xyz(stats.assign(annual_value=stats["sku"].map(annual).fillna(0.0)))
    frame = products.merge(
        classes[["sku", "abc", "xyz", "class", "annual_value", "demand_mean", "demand_std", "cv"]], on="sku", how="left"
    )
    sources = _lead_times(receipts, items)
    pref = sources.sort_values(["sku", "priority", "supplier"]).drop_duplicates("sku").set_index("sku")
    frame["supplier"] = frame["sku"].map(pref["supplier"]).fillna(IN_HOUSE)
    frame["lead_time_days"] = frame["sku"].map(pref["lt_mean_days"]).fillna(IN_HOUSE_LEAD_TIME_DAYS)
    frame["lead_time_std_days"] = frame["sku"].map(pref["lt_std_days"]).fillna(0.0)
    frame["lt_source"] = frame["sku"].map(pref["lt_source"]).fillna("in-house")
    frame["moq"] = frame["sku"].map(pref["moq"]).fillna(0.0)
    frame["lead_time_months"] = frame["lead_time_days"] / DAYS_PER_MONTH
    frame["review_months"] = review_period_months
    if targets == "matrix":
        frame["cycle_service_level"] = segmentation.service_targets(frame)
    else:
        frame["cycle_service_level"] = frame["service_target"].clip(0.5, 0.9999)
    nonzero = recent[recent["quantity"] > 0].groupby("sku").size()
    adi = 12 / frame["sku"].map(nonzero).replace(0, np.nan)
    frame["intermittent"] = (adi > ADI_INTERMITTENT).fillna(True) & (frame["demand_mean"] > 0)
    frame["method"] = np.where(frame["intermittent"], "empirical", "normal")
    frame["safety_stock"] = inventory.safety_stock(
        frame["cycle_service_level"],
        frame["demand_mean"],
        frame["demand_std"],
        frame["lead_time_months"],
        frame["lead_time_std_days"] / DAYS_PER_MONTH,
        frame["review_months"],
    )
    for i, samples in _intermittent_samples(frame, monthly).items():
        frame.iat[i, frame.columns.get_loc("safety_stock")] = inventory.empirical_safety_stock(
            samples, float(frame["cycle_service_level"].iat[i])
        )
    frame["safety_stock"] = frame["safety_stock"].clip(lower=0.0)
    frame["reorder_point"] = (
        frame["demand_mean"] * (frame["lead_time_months"] + frame["review_months"]) + frame["safety_stock"]
    )
    holding = frame["holding_rate"] * frame["unit_cost"]
    ok = holding > 0
    frame["eoq"] = np.nan
    frame.loc[ok, "eoq"] = inventory.eoq(12 * frame.loc[ok, "demand_mean"], frame.loc[ok, "order_cost"], holding[ok])
    frame["order_qty"] = np.nan
    frame.loc[ok, "order_qty"] = inventory.order_quantity(
        12 * frame.loc[ok, "demand_mean"], frame.loc[ok, "order_cost"], holding[ok], frame.loc[ok, "moq"]
    )
    frame["max_stock"] = frame["reorder_point"] + frame["order_qty"].fillna(0.0)
    frame["on_hand"] = frame["sku"].map(stock.set_index("sku")["on_hand"]).fillna(0.0)
    frame["on_order"] = frame["sku"].map(on_order).fillna(0.0)
    frame["safety_stock_value"] = frame["safety_stock"] * frame["unit_cost"]
    position = frame["on_hand"] + frame["on_order"]
    frame["below_reorder_point"] = (position < frame["reorder_point"]) & (frame["demand_mean"] > 0)
    return frame[POLICY_COLUMNS].sort_values(["below_reorder_point", "sku"], ascending=[False, True], ignore_index=True)


def replenishment_proposals(
    engine: Engine,
    cycle_id: int,
    *,
    otif_target: float = OTIF_TARGET,
    in_full_target: float = 0.95,
    within_months: int | None = 3,
) -> pd.DataFrame:
    """Proposed orders for items projected below their reorder point, with alternate suppliers.

    Projection = on hand + open orders − plan demand (consensus or forecast) per SKU and month
    (:func:`projected_inventory`); policy = :func:`inventory_policy`; supplier reliability = OTIF
    and in-full rate of each supplier over its closed deliveries, lead times measured per supplier
    item. Rule in :func:`sop_core.planning.replenishment.replenishment_proposals`.

    Args:
        engine: the database.
        cycle_id: the plan cycle.
        otif_target: OTIF below which a supplier is unreliable [share].
        in_full_target: in-full rate below which a supplier delivers short [share].
        within_months: keep orders to place in the first ``within_months`` months of the horizon
            (None = the whole horizon) [months].

    Returns:
        ``name, family`` and :data:`sop_core.planning.replenishment.PROPOSAL_COLUMNS`, most urgent first.
    """
    levels = inventory_policy(engine, cycle_id)
    projection = projected_inventory(engine, cycle_id)
    with session_scope(engine) as s:
        month = q.cycle_month(s, cycle_id)
        items = q.supplier_items(s)
        receipts = q.receipts(s, received_to=month - relativedelta(days=1) if month else None)
    sources = _lead_times(receipts, items).rename(columns={"lead_time_days": "master_lead_time_days"})
    sources = sources.rename(columns={"lt_mean_days": "lead_time_days"})
    items_in = levels[["sku", "reorder_point", "order_qty", "demand_mean"]]
    out = replenishment.replenishment_proposals(
        projection,
        items_in,
        sources,
        as_of=pd.Timestamp(month),
        otif_target=otif_target,
        in_full_target=in_full_target,
        in_house_lead_time_days=IN_HOUSE_LEAD_TIME_DAYS,
    )
    if within_months is not None and month is not None:
        fence = pd.Timestamp(month) + pd.DateOffset(months=within_months)
        out = out[out["order_date"] < fence].reset_index(drop=True)
    names = levels.set_index("sku")
    out.insert(1, "name", out["sku"].map(names["name"]))
    out.insert(2, "family", out["sku"].map(names["family"]))
    return out


def service_frontier(
    engine: Engine,
    cycle_id: int,
    cycle_service_levels: tuple[float, ...] = inventory_frontier.FRONTIER_LEVELS,
    *,
    history_months: int = 24,
) -> pd.DataFrame:
    """Inventory value needed for each cycle service level target, per ABC class (analytic, from the policy inputs).

    Safety stock per level as in :func:`inventory_policy`: the normal formula for regular items and,
    for intermittent ones, the empirical quantile of their demand over L + R months (no normal
    assumption), so the frontier matches the policy table at each item's own CSL target.

    Returns:
        :func:`sop_core.planning.inventory_frontier.analytic_frontier` columns: ``segment`` (ABC class), ``cycle_service_level``,
        ``safety_stock_value``, ``cycle_stock_value``, ``inventory_value``.
    """
    items = inventory_policy(engine, cycle_id, history_months=history_months)
    with session_scope(engine) as s:
        month = q.cycle_month(s, cycle_id)
        products = q.products(s)
        monthly = _monthly_history(s, products, month - relativedelta(months=1), history_months)
    frame = pd.DataFrame(
        {
            "segment": items["abc"].fillna("C"),
            "demand_mean": items["demand_mean"].fillna(0.0),
            "demand_std": items["demand_std"].fillna(0.0),
            "lead_time": items["lead_time_months"],
            "lead_time_std": items["lead_time_std_days"].fillna(0.0) / DAYS_PER_MONTH,
            "review_period": items["review_months"],
            "order_qty": items["order_qty"].fillna(0.0),
            "unit_cost": items["unit_cost"],
        }
    )
    samples = _intermittent_samples(items, monthly)
    return inventory_frontier.analytic_frontier(
        frame, cycle_service_levels, samples={frame.index[i]: x for i, x in samples.items()}
    )


#: Months at the start of the replayed history in which an item must have sold to be replayed [months].
BACKTEST_MIN_HISTORY_MONTHS = 12


def policy_backtest(
    engine: Engine,
    cycle_id: int,
    *,
    fill_rate_targets: tuple[float, ...] = (0.90, 0.95, 0.98),
    history_months: int = 48,
    progress: Callable[[float, str], None] | None = None,
) -> pd.DataFrame:
    """Replay the sales history before the cycle under the (R, S) policy, per ABC class and fill-rate target.

    Each ABC class is replayed with lead time L = the class's median preferred lead time in whole
    months, R = 1 month, the seasonal forecast with trend (a mean forecast when most of the class is
    intermittent) and the safety factor from the class's pooled empirical forecast errors
    (``method="pooled"`` of :mod:`sop_core.planning.policy`: no normality assumed, fast and intermittent
    items alike), over the last ``history_months`` months from the first month with a sale (the
    first 24 as warm-up). The naive
    rule S = k × mean demand is tuned to the same achieved fill rate to compare stock (NaN when
    it cannot reach it). Items first sold after the first :data:`BACKTEST_MIN_HISTORY_MONTHS`
    months of that history are left out and counted in ``new_items``: a launch has no history a
    replenishment rule could learn from (its first months come from the planners' forecast).

    Returns:
        ``segment, items, new_items, method, lead_time_months, fill_rate_target, fill_rate, csl,
        avg_inventory_value, orders, naive_cover_months, naive_inventory_value, inventory_ratio`` (shares,
        currency, counts); ``fill_rate`` and ``csl`` are the fill rate and cycle service level achieved.
    """
    items = inventory_policy(engine, cycle_id)
    with session_scope(engine) as s:
        month = q.cycle_month(s, cycle_id)
        products = q.products(s)
        monthly = _monthly_history(s, products, month - relativedelta(months=1), history_months)
    history = monthly.rename(columns={"sku": "unique_id", "period": "ds", "quantity": "y"})
    selling_months = history.loc[history["y"] > 0, "ds"]
    if not selling_months.empty:  # the months before the first sale of any item are no history
        history = history[history["ds"] >= selling_months.min()]
    value = products.set_index("sku")["unit_cost"]
    early = history[history["ds"] < history["ds"].min() + pd.DateOffset(months=BACKTEST_MIN_HISTORY_MONTHS)]
    established = set(early.loc[early["y"] > 0, "unique_id"])
    rows = []
    segments = [seg for seg in ("A", "B", "C") if (items["abc"] == seg).any()]
    steps = max(1, len(segments) * len(fill_rate_targets))
    for seg in segments:
        selling = items[(items["abc"] == seg) & (items["demand_mean"] > 0)]
        part_items = selling[selling["sku"].isin(established)]
        if part_items.empty:
            continue
        lead = int(round(float(part_items["lead_time_months"].median())))
        method = "pooled"
        model = "mean" if part_items["intermittent"].mean() > 0.5 else "seasonal_trend"
        part = history[history["unique_id"].isin(part_items["sku"])]
        for target in fill_rate_targets:
            if progress is not None:
                progress(len(rows) / steps, f"Replaying class {seg} at a fill-rate target of {100 * target:.0f} %")
            common = dict(lead_time=lead, review_period=1, window=24, warmup=24, unit_value=value)
            got = policy.summarise(policy.backtest_policy(part, target, method=method, model=model, **common))
            try:
                k, naive = inventory_frontier.naive_cover_for_fill_rate(part, got["fill_rate"], **common)
            except ValueError:  # the naive rule cannot reach that fill rate on this history
                k, naive = np.nan, {"avg_inventory_value": np.nan}
            rows.append(
                {
                    "segment": seg,
                    "items": int(got["items"]),
                    "new_items": len(selling) - len(part_items),
                    "method": method,
                    "lead_time_months": lead,
                    "fill_rate_target": target,
                    "fill_rate": got["fill_rate"],
                    "csl": got["csl"],
                    "avg_inventory_value": got["avg_inventory_value"],
                    "orders": int(got["orders"]),
                    "naive_cover_months": k,
                    "naive_inventory_value": naive["avg_inventory_value"],
                    "inventory_ratio": got["avg_inventory_value"] / naive["avg_inventory_value"]
                    if naive["avg_inventory_value"] > 0  # NaN compares False
                    else np.nan,
                }  # fmt: skip
            )
    if progress is not None:
        progress(1.0, "Backtest done")
    return pd.DataFrame(rows)
