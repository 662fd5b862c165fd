"""Inventory policy services: safety stock, reorder point and order quantity of every product for a cycle,
the projected inventory against those levels, and replenishment proposals for the items projected below
their reorder point.

Inputs come from :mod:`sop_core.db.master_repo` and :mod:`sop_core.db.stock_repo` (data before the cycle month), lead times from
:func:`sop_core.services.suppliers.lead_times`, formulas from :mod:`sop_core.planning.inventory`. This one
policy feeds the Supply review, the KPI page and its monitor, and the plan's safety stock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from dateutil.relativedelta import relativedelta
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from sop_core.db import cycle_repo, master_repo, stock_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.planning import inventory, replenishment, segmentation
from sop_core.planning import supply_math as supply
from sop_core.services import figures
from sop_core.services.demand import CONSENSUS_INPUTS
from sop_core.services.suppliers import OTIF_TARGET, lead_times
from sop_core.services.supply import EXCESS_COVER_DAYS, SupplyDataError, projected_inventory
from sop_core.units import DAYS_PER_MONTH

#: Lead time of in-house production (items without a supplier) [days].
IN_HOUSE_LEAD_TIME_DAYS = DAYS_PER_MONTH
#: The ``supplier`` of an item made in house (no supplier item) in :func:`inventory_policy`.
IN_HOUSE = "in-house"
#: Review period of the monthly planning cycle R [months].
REVIEW_PERIOD_MONTHS = 1.0
#: Average demand interval above which an item is intermittent (Syntetos & Boylan 2005, ADI > 1.32).
ADI_INTERMITTENT = 1.32


def monthly_history(session: Session, products: pd.DataFrame, last_month: dt.date, months: int) -> pd.DataFrame:
    """``sku, period, quantity`` [units/month] of every product over the ``months`` months up to ``last_month``
    (a month start), months without a sale as 0."""
    first = last_month - relativedelta(months=months - 1)
    sales = stock_repo.sales(session, first, last_month + relativedelta(months=1) - relativedelta(days=1))
    grid = pd.MultiIndex.from_product(
        [products["sku"], pd.date_range(first, last_month, freq="MS")], names=["sku", "period"]
    )
    return sales.groupby(["sku", "period"])["quantity"].sum().reindex(grid, fill_value=0.0).reset_index()


#: Columns of :func:`inventory_policy`.
POLICY_COLUMNS = [
    "sku", "name", "family", "abc", "xyz", "class", "intermittent", "method", "annual_value", "demand_mean",
    "demand_std", "cv", "cycle_service_level", "supplier", "lead_time_days", "lead_time_std_days", "lt_source",
    "lead_time_months", "review_months", "safety_stock", "reorder_point", "eoq", "moq", "order_qty", "max_stock",
    "on_hand", "on_order", "unit_cost", "safety_stock_value", "below_reorder_point",
]  # fmt: skip


def intermittent_samples(frame: pd.DataFrame, monthly: pd.DataFrame) -> dict[int, np.ndarray]:
    """Demand of L + R consecutive months (rounded to whole months) of each intermittent item, by row position."""
    ordered = monthly.sort_values(["sku", "period"])
    quantity = ordered["quantity"].to_numpy()
    rows_of = ordered.reset_index(drop=True).groupby("sku").indices  # each SKU's months, in order
    protect = frame["lead_time_months"].to_numpy() + frame["review_months"].to_numpy()
    skus = frame["sku"].to_numpy()
    out: dict[int, np.ndarray] = {}
    for i in np.flatnonzero(frame["intermittent"].to_numpy()):
        periods = max(1, int(round(protect[i])))
        where = rows_of.get(skus[i])
        if where is not None and len(where) >= periods:
            out[int(i)] = inventory.lead_time_demand_samples(quantity[where], periods)
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

    Computed once per data version (:mod:`sop_core.services.figures`).

    Raises:
        SupplyDataError: when the cycle does not exist or ``targets`` is unknown.
    """
    if targets not in ("product", "matrix"):
        raise SupplyDataError(f"targets must be 'product' or 'matrix', got {targets!r}")
    return figures.once(
        engine, "inventory_policy", (cycle_id, targets, review_period_months, history_months), policy_stamp(engine),
        lambda: _inventory_policy(engine, cycle_id, targets, review_period_months, history_months),
        tables=figures.ONE_TABLE,
    )


#: The tables the inventory policy reads.
POLICY_INPUTS = (m.PlanCycle, m.Product, m.SalesHistory, m.SupplierItem, m.Receipt, m.Inventory, m.OpenOrder)


def policy_stamp(engine: Engine) -> str:
    """The stamp of the tables :func:`inventory_policy` reads (:data:`POLICY_INPUTS`)."""
    return figures.data_stamp(engine, *POLICY_INPUTS)


def _inventory_policy(
    engine: Engine, cycle_id: int, targets: str, review_period_months: float, history_months: int
) -> pd.DataFrame:
    with session_scope(engine) as s:
        cyc = cycle_repo.cycle(s, cycle_id)
        if cyc is None:
            raise SupplyDataError(f"plan cycle {cycle_id} does not exist")
        month = cyc.month
        products = master_repo.products(s)
        last = month - relativedelta(months=1)
        monthly = monthly_history(s, products, last, history_months)
        items = master_repo.supplier_items(s)
        receipts = stock_repo.receipts(s, received_to=month - relativedelta(days=1))
        stock = stock_repo.on_hand(s, at_most=month - relativedelta(days=1))
        on_order = stock_repo.open_orders(s).groupby("sku")["quantity"].sum()
    recent = monthly[monthly["period"] > pd.Timestamp(last) - pd.DateOffset(months=12)]
    stats = segmentation.demand_stats(recent, ddof=1)
    annual = recent.groupby("sku")["quantity"].sum() * products.set_index("sku")["unit_cost"]
    classes = segmentation.abc_xyz(stats.assign(annual_value=stats["sku"].map(annual).fillna(0.0)))
    frame = products.merge(
        classes[["sku", "abc", "xyz", "class", "annual_value", "demand_mean", "demand_std", "cv"]], on="sku", how="left"
    )
    sources = lead_times(receipts, items)
    pref = sources.sort_values(["sku", "priority", "supplier"]).drop_duplicates("sku").set_index("sku")
    frame["supplier"] = frame["sku"].map(pref["supplier"]).fillna(IN_HOUSE)
    frame["lead_time_days"] = frame["sku"].map(pref["lt_mean_days"]).astype(float).fillna(IN_HOUSE_LEAD_TIME_DAYS)
    frame["lead_time_std_days"] = frame["sku"].map(pref["lt_std_days"]).astype(float).fillna(0.0)
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
    samples = intermittent_samples(frame, monthly)
    if samples:
        rows = list(samples)
        safety = frame["safety_stock"].to_numpy(dtype=float).copy()
        levels = frame["cycle_service_level"].to_numpy(dtype=float)[rows]
        safety[rows] = inventory.empirical_safety_stocks([samples[i] for i in rows], levels)
        frame["safety_stock"] = safety
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


@dataclass(frozen=True)
class PolicyView:
    """The inventory policy of a cycle as the KPI page's policy section shows it."""

    policy: pd.DataFrame  # inventory_policy: POLICY_COLUMNS
    abc_xyz_counts: pd.DataFrame  # SKUs per ABC (rows A, B, C) × XYZ (columns X, Y, Z) class
    cell_targets: pd.DataFrame  # the default cycle service level of each ABC/XYZ cell [share]


def policy_view(engine: Engine, cycle_id: int, targets: str = "product") -> PolicyView:
    """The policy of :func:`inventory_policy` (``targets``: ``"product"`` or ``"matrix"``) with its ABC/XYZ counts
    and the default cycle service level target of each cell
    (:func:`sop_core.planning.segmentation.service_target_matrix`).

    Raises:
        SupplyDataError: when the cycle does not exist or ``targets`` is unknown.
    """
    policy = inventory_policy(engine, cycle_id, targets=targets)
    return PolicyView(
        policy=policy,
        abc_xyz_counts=segmentation.abc_xyz_matrix(policy),
        cell_targets=segmentation.service_target_matrix(),
    )


def projection_with_levels(
    engine: Engine,
    cycle_id: int,
    sku: str | None = None,
    family: str | None = None,
    *,
    run_id: int | None = None,
    policy: supply.Policy = "lost_sales",
    cover_periods: int = 3,
    excess_cover_days: float = EXCESS_COVER_DAYS,
) -> pd.DataFrame:
    """Projected inventory (:func:`sop_core.services.supply.projected_inventory`, same arguments) with the
    safety stock, reorder point and maximum stock of :func:`inventory_policy` (summed over a family) and the
    flags of :func:`sop_core.planning.supply_math.flag_projection`.

    Args:
        excess_cover_days: days of cover above which stock is excess [days].

    Returns:
        :func:`sop_core.planning.supply_math.flag_projection` columns.

    Computed once per data version (:mod:`sop_core.services.figures`).

    Raises:
        SupplyDataError: when the cycle, its forecast, the SKU or the family is missing.
    """
    return figures.once(
        engine, "projection_with_levels", (cycle_id, sku, family, run_id, policy, cover_periods, excess_cover_days),
        figures.data_stamp(engine, *CONSENSUS_INPUTS, *POLICY_INPUTS),
        lambda: _projection_with_levels(engine, cycle_id, sku, family, run_id, policy, cover_periods,
                                        excess_cover_days),
        tables=figures.ONE_TABLE,
    )


def _projection_with_levels(engine: Engine, cycle_id: int, sku: str | None, family: str | None, run_id: int | None,
                            policy: supply.Policy, cover_periods: int, excess_cover_days: float) -> pd.DataFrame:
    projection = projected_inventory(
        engine, cycle_id, sku, family, run_id=run_id, policy=policy, cover_periods=cover_periods
    )
    levels = inventory_policy(engine, cycle_id)
    if sku is not None:
        levels = levels[levels["sku"] == sku]
    elif family is not None:
        levels = levels[levels["family"] == family]
    levels = levels[["sku", "safety_stock", "reorder_point", "max_stock"]]
    if family is not None and sku is None:  # a family's lines are the sums of its SKUs' levels
        levels = levels.drop(columns="sku").sum().to_frame().T.assign(sku=family)
    return supply.flag_projection(projection, levels, excess_cover_days=excess_cover_days)


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
    (:func:`sop_core.services.supply.projected_inventory`); policy = :func:`inventory_policy`; supplier reliability = OTIF
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
        cyc = cycle_repo.cycle(s, cycle_id)
        month = cyc.month if cyc is not None else None
        items = master_repo.supplier_items(s)
        receipts = stock_repo.receipts(s, received_to=month - relativedelta(days=1) if month else None)
    sources = lead_times(receipts, items).rename(columns={"lead_time_days": "master_lead_time_days"})
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
