"""Supplier services: OTIF and lead-time scorecards per supplier and per supplier item, their trends by
month or quarter of receipt, and the lead times (measured, else master data) the inventory policy and the
replenishment proposals use.

Definitions in :mod:`sop_core.planning.supply_math` (closed deliveries; on time = received on or before
the promised date plus a tolerance, in full = the ordered quantity less a tolerance).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from sop_core.db import master_repo, stock_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.planning import supply_math as supply
from sop_core.services import figures
from sop_core.services.supply import SupplyDataError

#: OTIF below which a supplier counts as unreliable [share].
OTIF_TARGET = 0.90
#: Closed deliveries a supplier item needs before its own lead-time spread is used.
MIN_RECEIPTS = 3


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
        receipts = stock_repo.receipts(s, received_from=since)
        names = master_repo.suppliers(s).set_index("supplier")["name"]
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
        receipts = stock_repo.receipts(s)
        names = master_repo.products(s).set_index("sku")["name"]
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
        receipts = stock_repo.receipts(s)
    return supply.reliability_trend(receipts, on_time_tolerance_days, in_full_tolerance, freq=freq)  # type: ignore[arg-type]


#: Suppliers drawn in the reliability trend (the rest are in the scorecard and in the "all suppliers" line).
TREND_SUPPLIERS = 8
#: The name of the trend's line over every supplier.
ALL_SUPPLIERS = "All suppliers"


def trend_lines(trend: pd.DataFrame, worst_first: list[str], limit: int = TREND_SUPPLIERS) -> pd.DataFrame:
    """The lines of the reliability trend chart: ``supplier, period, otif`` [share] of the first ``limit`` suppliers
    of ``worst_first`` (the scorecard's order, lowest OTIF first) that have a trend, in that order, then
    :data:`ALL_SUPPLIERS`: per period the OTIF of every delivery of every supplier (weighted by deliveries).

    >>> t = pd.DataFrame({"supplier": ["A", "A", "B"], "period": pd.to_datetime(["2026-01-01", "2026-04-01",
    ...     "2026-01-01"]), "orders": [1, 4, 3], "otif": [1.0, 0.5, 0.0], "lt_mean_days": [5.0, 6.0, 7.0]})
    >>> trend_lines(t, ["B", "A"], limit=1)[["supplier", "otif"]].values.tolist()
    [['B', 0.0], ['All suppliers', 0.25], ['All suppliers', 0.5]]
    """
    if trend.empty:
        return pd.DataFrame({"supplier": pd.Series(dtype=object), "period": pd.Series(dtype="datetime64[ns]"),
                             "otif": pd.Series(dtype=float)})
    present = set(trend["supplier"])
    shown = [code for code in worst_first if code in present][:limit]
    rank = {code: i for i, code in enumerate(shown)}
    lines = trend[trend["supplier"].isin(rank)].assign(rank=lambda f: f["supplier"].map(rank))
    lines = lines.sort_values(["rank", "period"], kind="stable")[["supplier", "period", "otif"]]
    hits = (trend["otif"] * trend["orders"]).groupby(trend["period"]).sum()
    overall = (hits / trend.groupby("period")["orders"].sum()).rename("otif").reset_index()
    return pd.concat([lines, overall.assign(supplier=ALL_SUPPLIERS)[["supplier", "period", "otif"]]],
                     ignore_index=True)


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
        known = set(master_repo.suppliers(s)["supplier"])
        receipts = stock_repo.receipts(s)
        items = master_repo.supplier_items(s)
        names = master_repo.products(s).set_index("sku")["name"]
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


def lead_times(receipts: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Lead time mean and spread [days] per supplier item: measured when it has ≥ :data:`MIN_RECEIPTS` closed
    deliveries, else the supplier's measured spread around the item's master lead time, else master data.

    Returns:
        ``items`` (the supplier items) plus ``lt_mean_days``, ``lt_std_days`` [days], ``lt_source`` (``measured
        (item)``, ``measured (supplier)`` or ``master data``) and the supplier's ``otif`` and ``in_full`` [shares].
    """
    if items.empty:
        extra: dict[str, list[float]] = {"lt_mean_days": [], "lt_std_days": [], "lt_source": [], "otif": [], "in_full": []}
        return items.assign(**{k: pd.Series(v, dtype=object if k == "lt_source" else float) for k, v in extra.items()})
    per_item = supply.supplier_performance(receipts, by=("supplier", "sku")).set_index(["supplier", "sku"])
    per_sup = supply.supplier_performance(receipts).set_index("supplier")
    out = items.copy()
    key = pd.MultiIndex.from_frame(out[["supplier", "sku"]])
    n = np.nan_to_num(per_item["orders"].reindex(key).to_numpy(dtype=float))
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


@dataclass(frozen=True)
class SupplierReview:
    """Supplier performance as the Supply review shows it, for one pair of tolerances."""

    card: pd.DataFrame  # supplier_scorecard
    trend: pd.DataFrame  # supplier_trend: OTIF per supplier and quarter of receipt
    every_item: pd.DataFrame  # supplier_item_scorecard of every supplier item, worst OTIF first


def supplier_review(
    engine: Engine, *, on_time_tolerance_days: int = 0, in_full_tolerance: float = 0.0
) -> SupplierReview:
    """The scorecard, the quarterly OTIF trend and every item's scorecard (see :class:`SupplierReview`).

    Args:
        engine: the database.
        on_time_tolerance_days: allowed lateness [days].
        in_full_tolerance: allowed missing share of the ordered quantity [0..1).
    """
    late, short = on_time_tolerance_days, in_full_tolerance
    return figures.once(
        engine, "supplier_review", (late, short), figures.data_stamp(engine, m.Receipt, m.Supplier, m.Product),
        lambda: SupplierReview(
            card=supplier_scorecard(engine, on_time_tolerance_days=late, in_full_tolerance=short),
            trend=supplier_trend(engine, on_time_tolerance_days=late, in_full_tolerance=short),
            every_item=supplier_item_scorecard(engine, on_time_tolerance_days=late, in_full_tolerance=short),
        ),
        tables=figures.Tables(lambda r: {"card": r.card, "trend": r.trend, "every_item": r.every_item},
                              lambda t: SupplierReview(**t)),
    )


@dataclass(frozen=True)
class SupplierItems:
    """One supplier's items: their scorecard and their monthly trend."""

    items: pd.DataFrame  # supplier_item_scorecard of the supplier, worst OTIF first
    trend: pd.DataFrame  # supplier_item_trend of all its items, by month of receipt
    otif_table: pd.DataFrame  # item_trend_table of the OTIF [%], items in the order of ``items``
    lead_table: pd.DataFrame  # item_trend_table of the mean lead time [days], same order


def supplier_items(
    engine: Engine, supplier: str, *, on_time_tolerance_days: int = 0, in_full_tolerance: float = 0.0
) -> SupplierItems:
    """The scorecard and monthly trend of one supplier's items (see :class:`SupplierItems`).

    Args:
        engine: the database.
        supplier: the supplier code.
        on_time_tolerance_days: allowed lateness [days].
        in_full_tolerance: allowed missing share of the ordered quantity [0..1).

    Raises:
        SupplyDataError: when the supplier is unknown.
    """
    late, short = on_time_tolerance_days, in_full_tolerance
    stamp = figures.data_stamp(engine, m.Receipt, m.Supplier, m.SupplierItem, m.Product)

    def compute() -> SupplierItems:
        items = supplier_item_scorecard(engine, supplier=supplier, on_time_tolerance_days=late, in_full_tolerance=short)
        trend = supplier_item_trend(engine, supplier, on_time_tolerance_days=late, in_full_tolerance=short)
        order = list(items["sku"])
        return SupplierItems(
            items=items,
            trend=trend,
            otif_table=item_trend_table(trend, "otif", order),
            lead_table=item_trend_table(trend, "lt_mean_days", order),
        )

    return figures.once(engine, "supplier_items", (supplier, late, short), stamp, compute,
                        tables=figures.Tables(lambda r: {"items": r.items, "trend": r.trend, "otif_table": r.otif_table,
                                                         "lead_table": r.lead_table}, lambda t: SupplierItems(**t)))
