"""The data the KPIs are measured on and the measures themselves (definitions in :mod:`sop_core.services.kpi`),
and the ABC/XYZ classes of the 12 months to a date, which also define the ``abc:`` segments.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from dateutil.relativedelta import relativedelta
from sqlalchemy import Engine

from sop_core.db import forecast_repo, master_repo, monitor_repo, stock_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.planning import accuracy as metrics
from sop_core.planning import kpi_formulas as kpi
from sop_core.planning import segmentation
from sop_core.planning import supply_math as supply
from sop_core.services import figures

log = logging.getLogger(__name__)

#: Days of supply above which a SKU's stock counts as excess [days].
EXCESS_DAYS = 180.0


def month_start(day: dt.date) -> dt.date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


@dataclass
class KpiData:
    """What the KPIs of one segment are measured on, as of ``as_of`` (frames of :mod:`sop_core.db.stock_repo`)."""

    as_of: dt.date
    products: pd.DataFrame
    sales: pd.DataFrame
    snapshots: pd.DataFrame
    stock: pd.DataFrame
    receipts: pd.DataFrame
    demand: pd.DataFrame
    orders: pd.DataFrame
    scored: pd.DataFrame
    backtest: dict[str, Any] = field(default_factory=dict)


#: The tables the KPIs are measured on.
KPI_INPUTS = (m.Inventory, m.PlanCycle, m.ForecastRun, m.Product, m.SalesHistory, m.Receipt, m.OpenOrder)


def load_kpi_data(
    engine: Engine, as_of: dt.date | None, months: int, fill_rate_months: int, skus: set[str] | None
) -> KpiData:
    """Load ``months`` months of data to ``as_of`` (default: the newest inventory snapshot, else today), the
    forecast of the ``fill_rate_months`` months after it and the open orders due by then, for the SKUs ``skus``
    (None: all); read once per data version (:mod:`sop_core.services.figures`)."""
    key = (as_of or dt.date.today(), months, fill_rate_months, None if skus is None else tuple(sorted(skus)))
    return figures.once(engine, "kpi_data", key, figures.data_stamp(engine, *KPI_INPUTS),
                        lambda: _load_kpi_data(engine, as_of, months, fill_rate_months, skus))


def _load_kpi_data(
    engine: Engine, as_of: dt.date | None, months: int, fill_rate_months: int, skus: set[str] | None
) -> KpiData:
    with session_scope(engine) as s:
        snapshot = stock_repo.latest_inventory_date(s, as_of)
        as_of = as_of or snapshot or dt.date.today()
        first = month_start(as_of) - relativedelta(months=months - 1)
        next_month = month_start(as_of) + relativedelta(months=1)
        found = forecast_repo.latest_cycle_with_forecast(s, next_month)
        demand = forecast_repo.forecast_demand(s, found[1], first_period=next_month) if found else None
        newest = forecast_repo.latest_run(s)
        data = KpiData(
            as_of=as_of,
            products=master_repo.products(s).set_index("sku"),
            sales=stock_repo.sales(s, first, as_of),
            snapshots=stock_repo.inventory_snapshots(
                s, min(first, as_of - relativedelta(years=1) + dt.timedelta(days=1)), as_of
            ),
            stock=stock_repo.on_hand(s, at_most=as_of),
            receipts=stock_repo.receipts(s, received_from=first, received_to=as_of),
            demand=demand.assign(quantity=demand["quantity"].clip(lower=0.0)) if demand is not None else pd.DataFrame(),
            orders=stock_repo.open_orders(s),
            scored=monitor_repo.scored_forecasts(s, first, as_of),
            backtest=dict(newest.backtest or {}) if newest is not None else {},
        )
    horizon_end = next_month + relativedelta(months=fill_rate_months) - relativedelta(days=1)
    if not data.demand.empty:
        data.demand = data.demand[data.demand["period"] <= pd.Timestamp(horizon_end)]
    data.orders["period"] = data.orders["period"].clip(lower=pd.Timestamp(next_month))
    data.orders = data.orders[data.orders["period"] <= pd.Timestamp(horizon_end)]
    if skus is not None:

        def only(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[frame["sku"].isin(skus)] if "sku" in frame.columns else frame

        data.sales, data.snapshots, data.stock = only(data.sales), only(data.snapshots), only(data.stock)
        data.receipts, data.demand, data.orders = only(data.receipts), only(data.demand), only(data.orders)
        data.scored = only(data.scored)
    return data


def measure_kpis(data: KpiData, skus: set[str] | None, segment: str, otif_target_pct: float) -> dict[str, Any]:
    """The raw measure of every KPI (shares as 0..1) plus ``as_of`` and ``accuracy_source``."""
    as_of = data.as_of
    unit_cost = data.products["unit_cost"].astype(float)
    recent_start = month_start(as_of) - relativedelta(months=2)  # 3 months
    year_from = pd.Timestamp(as_of - relativedelta(years=1) + dt.timedelta(days=1))
    out: dict[str, Any] = {"as_of": as_of}

    if not data.demand.empty:
        projection = supply.projected_inventory(data.stock, data.orders, data.demand)
        out["fill_rate"] = kpi.fill_rate(projection["demand"] - projection["shortage"], projection["demand"])
    else:
        out["fill_rate"] = float("nan")

    receipts = data.receipts[data.receipts["received_date"].notna()]
    receipts = receipts[pd.to_datetime(receipts["received_date"]) >= year_from]
    out["otif"] = kpi.otif(receipts)
    out["supplier_fill_rate"] = (
        kpi.fill_rate(receipts["qty_received"], receipts["qty_ordered"]) if len(receipts) else np.nan
    )
    if len(receipts):
        card = supply.supplier_performance(receipts)
        card["qty_ordered"] = card["supplier"].map(receipts.groupby("supplier")["qty_ordered"].sum())
        out["supplier_reliability"] = kpi.supplier_reliability(card, otif_target_pct / 100.0)
    else:
        out["supplier_reliability"] = float("nan")

    sales = data.sales[data.sales["period"] >= pd.Timestamp(month_start(as_of) - relativedelta(months=11))]
    sales = sales.assign(cost=sales["quantity"] * sales["sku"].map(unit_cost).fillna(0.0))
    snapshots = data.snapshots[data.snapshots["as_of"] >= year_from]
    snapshots = snapshots.assign(value=snapshots["on_hand"] * snapshots["sku"].map(unit_cost).fillna(0.0))
    avg_value = float(snapshots.groupby("as_of")["value"].sum().mean()) if len(snapshots) else float("nan")
    out["inventory_turns"] = kpi.inventory_turns(float(sales["cost"].sum()), avg_value)
    recent = sales[sales["period"] >= pd.Timestamp(recent_start)]
    recent_days = (as_of - recent_start).days + 1
    stock_value = float((data.stock["on_hand"] * data.stock["sku"].map(unit_cost).fillna(0.0)).sum())
    out["days_of_supply"] = kpi.days_of_supply(stock_value, float(recent["cost"].sum()) / recent_days)

    on_hand = data.stock.set_index("sku")["on_hand"]
    active = recent.loc[recent["quantity"] > 0, "sku"].unique()
    out["stockouts"] = float(kpi.stockouts(on_hand[on_hand.index.isin(active)]))
    daily = recent.groupby("sku")["quantity"].sum().reindex(on_hand.index).fillna(0.0) / recent_days
    out["excess"] = float(kpi.excess(on_hand, daily, max_days=EXCESS_DAYS))

    scored = data.scored[data.scored["period"] >= pd.Timestamp(month_start(as_of) - relativedelta(months=11))]
    if len(scored):
        out["forecast_wmape"] = metrics.wmape(scored["y"].to_numpy(float), scored["yhat"].to_numpy(float))
        out["forecast_bias"] = metrics.bias(scored["y"].to_numpy(float), scored["yhat"].to_numpy(float))
        out["accuracy_source"] = f"earlier forecast runs ({len(scored)} SKU-months of actuals)"
    else:
        bt = data.backtest or {}
        wmape, bias = bt.get("wmape"), bt.get("bias")
        if skus is not None:
            kind, _, code = segment.partition(":")
            wmape = (bt.get("wmape_by_level") or {}).get("family", {}).get(code) if kind == "family" else None
            bias = None
        out["forecast_wmape"] = float("nan") if wmape is None else float(wmape)
        out["forecast_bias"] = float("nan") if bias is None else float(bias)
        out["accuracy_source"] = (
            f"backtest of the newest run ({bt['method']})" if bt.get("method") else "no forecast to score"
        )
    log.info("KPIs of %s as of %s: %s", segment, as_of, out)
    return out


def abc_xyz_classes(engine: Engine, as_of: dt.date | None = None) -> pd.DataFrame:
    """ABC/XYZ class of every product from the 12 months of sales history up to ``as_of``.

    Annual value = Σ quantity × unit cost over the 12 months [currency/year]; demand mean and sample
    standard deviation (ddof = 1) of the 12 monthly quantities, months without a sale counted as 0.

    Returns:
        :func:`sop_core.planning.segmentation.abc_xyz` columns plus ``name`` and ``family``.
    """
    with session_scope(engine) as s:
        as_of = as_of or stock_repo.latest_inventory_date(s) or dt.date.today()
        first = month_start(as_of) - relativedelta(months=11)
        sales = stock_repo.sales(s, first, as_of)
        products = master_repo.products(s)
    months = pd.date_range(first, month_start(as_of), freq="MS")
    grid = pd.MultiIndex.from_product([products["sku"], months], names=["sku", "period"])
    monthly = sales.groupby(["sku", "period"])["quantity"].sum().reindex(grid, fill_value=0.0).reset_index()
    stats = segmentation.demand_stats(monthly, ddof=1)
    annual = monthly.groupby("sku")["quantity"].sum() * products.set_index("sku")["unit_cost"]
    frame = stats.assign(annual_value=stats["sku"].map(annual).fillna(0.0))
    classes = segmentation.abc_xyz(frame)
    return classes.merge(products[["sku", "name", "family"]], on="sku", how="left")


def abc_xyz_counts(engine: Engine, as_of: dt.date | None = None) -> pd.DataFrame:
    """Number of SKUs per ABC (rows) × XYZ (columns) class."""
    return segmentation.abc_xyz_matrix(abc_xyz_classes(engine, as_of))
