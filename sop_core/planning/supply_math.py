"""Supply review math: rough-cut capacity, projected inventory, supplier OTIF and lead-time statistics.

Pure functions on DataFrames (no database, no user interface). Periods are period starts
(``YYYY-MM-01`` for monthly plans); quantities in units; hours in hours.

* Rough-cut capacity planning with bills of capacity: load_{r,t} = Σ_i q_{i,t} · h_{i,r}
  (Vollmann, Berry, Whybark & Jacobs, *Manufacturing Planning and Control for Supply Chain
  Management*, 5th ed., ch. 6, "capacity planning using overall factors / bill of capacity").
* Projected available balance: I_t = I_{t−1} + R_t − D_t (Vollmann et al., ch. 7, MPS record),
  here with lost sales: unmet demand is a shortage and the balance never goes below zero.
* Supplier OTIF and lead-time statistics from delivery history (ASCM SCOR; Silver, Pyke & Thomas,
  *Inventory and Production Management in Supply Chains*, 4th ed., ch. 6 on lead-time variability).
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pandas as pd

from sop_core.planning.kpi_formulas import otif_flags

log = logging.getLogger(__name__)

#: What happens to demand that stock cannot serve.
Policy = Literal["lost_sales", "backorder"]

#: Utilisation of regular capacity above which a resource is flagged "warning".
WARNING_UTILISATION = 0.90
#: Utilisation of regular capacity above which a resource is a "bottleneck".
BOTTLENECK_UTILISATION = 1.00

CAPACITY_COLUMNS = [
    "resource",
    "period",
    "load_hours",
    "capacity_hours",
    "overtime_hours",
    "utilisation",
    "status",
    "overtime_available_hours",
    "shortfall_hours",
]
PROJECTION_COLUMNS = ["sku", "period", "opening", "receipts", "demand", "closing", "shortage", "days_of_cover"]
SUPPLIER_COLUMNS = [
    "supplier",
    "orders",
    "on_time",
    "in_full",
    "otif",
    "lt_mean_days",
    "lt_std_days",
    "lt_p50",
    "lt_p90",
]


def _require(frame: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")


#: A load within this share of the regular capacity counts as at capacity, not over it (a plan that fills a
#: resource exactly carries the solver's rounding, 1e-12 h, which is no bottleneck) [share].
LOAD_TOLERANCE = 1e-6


def _status(utilisation: pd.Series) -> pd.Series:
    return pd.Series(
        np.select(
            [utilisation > BOTTLENECK_UTILISATION + LOAD_TOLERANCE, utilisation > WARNING_UTILISATION],
            ["bottleneck", "warning"],
            default="ok",
        ),
        index=utilisation.index,
    )


def capacity_load_by_sku(plan: pd.DataFrame, routing: pd.DataFrame) -> pd.DataFrame:
    """Hours each SKU's planned quantity loads on each resource per period.

    Formula: load_{i,r,t} = q_{i,t} · h_{i,r} (bill of capacity, Vollmann et al., 5th ed., ch. 6).

    Args:
        plan: planned quantities with ``sku``, ``period`` and ``quantity`` q [units/period].
        routing: ``sku``, ``resource`` and ``hours_per_unit`` h [hours/unit].

    Returns:
        ``sku, resource, period, quantity, load_hours`` [hours/period], largest loads first.
        SKUs without a routing load nothing and are left out.
    """
    _require(plan, "plan", ["sku", "period", "quantity"])
    _require(routing, "routing", ["sku", "resource", "hours_per_unit"])
    if (plan["quantity"] < 0).any():
        bad = plan.loc[plan["quantity"] < 0].iloc[0]
        raise ValueError(f"plan: quantity {bad['quantity']} for {bad['sku']} is negative; quantities must be ≥ 0")
    merged = plan[["sku", "period", "quantity"]].merge(routing[["sku", "resource", "hours_per_unit"]], on="sku")
    merged["period"] = pd.to_datetime(merged["period"])
    merged["load_hours"] = merged["quantity"].astype(float) * merged["hours_per_unit"].astype(float)
    out = merged[["sku", "resource", "period", "quantity", "load_hours"]]
    return out.sort_values(["period", "resource", "load_hours"], ascending=[True, True, False], ignore_index=True)


def rough_cut_capacity(plan: pd.DataFrame, routing: pd.DataFrame, capacity: pd.DataFrame) -> pd.DataFrame:
    """Rough-cut capacity check: load of the plan on every resource and period against capacity.

    Formulas (Vollmann et al., *Manufacturing Planning and Control*, 5th ed., ch. 6, bill of capacity):

    * load_{r,t} = Σ_i q_{i,t} · h_{i,r}
    * utilisation_{r,t} = load_{r,t} / C_r (regular capacity only)
    * overtime_{r,t} = max(load_{r,t} − C_r, 0)  — hours above regular capacity
    * shortfall_{r,t} = max(load_{r,t} − C_r − O_r, 0)  — hours even overtime cannot cover
    * status: ``bottleneck`` when utilisation > 100 %, ``warning`` when > 90 %, else ``ok``.

    Args:
        plan: ``sku``, ``period`` and ``quantity`` q_{i,t} [units/period].
        routing: ``sku``, ``resource``, ``hours_per_unit`` h_{i,r} [hours/unit].
        capacity: one row per ``resource`` with ``capacity_hours`` C_r [hours/period] and optionally
            ``overtime_hours`` O_r, the overtime available [hours/period]; with a ``period`` column
            capacity may differ by period.

    Returns:
        One row per resource and period of the plan (resources without load included at 0):
        ``resource, period, load_hours, capacity_hours, overtime_hours, utilisation, status,
        overtime_available_hours, shortfall_hours``. ``utilisation`` is a share (1.0 = 100 %); it is
        ``inf`` when a resource without capacity carries load.

    Raises:
        ValueError: when a column is missing or a quantity is negative.

    Example:
        >>> plan = pd.DataFrame({"sku": ["A", "B"], "period": ["2026-11-01"] * 2, "quantity": [100, 50]})
        >>> routing = pd.DataFrame({"sku": ["A", "B"], "resource": ["R1", "R1"], "hours_per_unit": [0.5, 1.0]})
        >>> cap = pd.DataFrame({"resource": ["R1"], "capacity_hours": [80.0], "overtime_hours": [20.0]})
        >>> out = rough_cut_capacity(plan, routing, cap)
        >>> float(out.loc[0, "load_hours"]), float(out.loc[0, "utilisation"]), out.loc[0, "status"]
        (100.0, 1.25, 'bottleneck')
    """
    _require(capacity, "capacity", ["resource", "capacity_hours"])
    by_sku = capacity_load_by_sku(plan, routing)
    periods = pd.DatetimeIndex(sorted(pd.to_datetime(plan["period"]).unique()))
    if len(periods) == 0:
        return pd.DataFrame(columns=CAPACITY_COLUMNS)
    cap = capacity.copy()
    if "overtime_hours" not in cap.columns:
        cap["overtime_hours"] = 0.0
    cap = cap.rename(columns={"overtime_hours": "overtime_available_hours"})
    if "period" in cap.columns:
        cap["period"] = pd.to_datetime(cap["period"])
        grid = cap[cap["period"].isin(periods)][["resource", "period", "capacity_hours", "overtime_available_hours"]]
    else:
        grid = pd.MultiIndex.from_product([cap["resource"].unique(), periods], names=["resource", "period"]).to_frame(
            index=False
        )
        grid = grid.merge(cap[["resource", "capacity_hours", "overtime_available_hours"]], on="resource")
    unknown = sorted(set(by_sku["resource"]) - set(cap["resource"]))
    if unknown:
        raise ValueError(f"routing: resource(s) {', '.join(map(str, unknown))} have no capacity row")
    load = by_sku.groupby(["resource", "period"], as_index=False)["load_hours"].sum()
    out = grid.merge(load, on=["resource", "period"], how="left")
    out["load_hours"] = out["load_hours"].fillna(0.0)
    out["capacity_hours"] = out["capacity_hours"].astype(float)
    out["overtime_available_hours"] = out["overtime_available_hours"].fillna(0.0).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(
            out["capacity_hours"] > 0,
            out["load_hours"] / out["capacity_hours"].where(out["capacity_hours"] > 0, 1.0),
            np.where(out["load_hours"] > 0, np.inf, 0.0),
        )
    out["utilisation"] = util
    excess = out["load_hours"] - out["capacity_hours"]
    out["overtime_hours"] = excess.where(excess > LOAD_TOLERANCE * out["capacity_hours"], 0.0).clip(lower=0.0)
    out["shortfall_hours"] = (out["overtime_hours"] - out["overtime_available_hours"]).clip(lower=0.0)
    out["status"] = _status(out["utilisation"])
    return out[CAPACITY_COLUMNS].sort_values(["resource", "period"], ignore_index=True)


def _days_in_period(periods: pd.Series, freq: str) -> np.ndarray:
    start = pd.to_datetime(periods)
    end = start + pd.tseries.frequencies.to_offset(freq)
    days: np.ndarray = (end - start).dt.days.to_numpy(dtype=float)
    return days


def _days_of_cover(frame: pd.DataFrame, cover_periods: int, freq: str) -> pd.Series:
    """closing / average daily demand of the next ``cover_periods`` periods (per SKU)."""
    daily = frame["demand"].to_numpy(dtype=float) / _days_in_period(frame["period"], freq)
    daily_s = pd.Series(daily, index=frame.index)
    grouped = daily_s.groupby(frame["sku"], sort=False)
    ahead_sum = pd.Series(0.0, index=frame.index)
    ahead_n = pd.Series(0.0, index=frame.index)
    for k in range(1, cover_periods + 1):
        shifted = grouped.shift(-k)
        ahead_sum += shifted.fillna(0.0)
        ahead_n += shifted.notna().astype(float)
    # the last period of the horizon has nothing ahead: fall back to its own demand
    ahead = np.where(ahead_n > 0, ahead_sum / ahead_n.where(ahead_n > 0, 1.0), daily_s)
    closing = frame["closing"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(ahead > 0, closing / np.where(ahead > 0, ahead, 1.0), np.nan)
    return pd.Series(cover, index=frame.index)


def projected_inventory(
    on_hand: pd.DataFrame | pd.Series,
    receipts: pd.DataFrame,
    demand: pd.DataFrame,
    *,
    policy: Policy = "lost_sales",
    cover_periods: int = 3,
    freq: str = "MS",
) -> pd.DataFrame:
    """Projected inventory per SKU and period from stock on hand, scheduled receipts and demand.

    Formulas (projected available balance, Vollmann et al., 5th ed., ch. 7), for each SKU i and period t:

    * opening_t = closing_{t−1} (opening of the first period = on hand I_0)
    * ``policy="lost_sales"`` (default): closing_t = max(opening_t + R_t − D_t, 0) and
      shortage_t = max(D_t − opening_t − R_t, 0), the demand that cannot be served in t and is lost.
      Served demand is D_t − shortage_t, so projected fill rate = 1 − Σ shortage / Σ D.
    * ``policy="backorder"``: closing_t = opening_t + R_t − D_t may go negative (a backlog carried
      forward and served first by later receipts); shortage_t = max(−closing_t, 0) is the backlog at
      the end of t.
    * days_of_cover_t = max(closing_t, 0) / d̄_t, where d̄_t is the average *daily* demand of the next
      ``cover_periods`` periods (t+1 … t+k, as many as the horizon holds; for the last period its own
      demand); NaN when no demand lies ahead (cover is unlimited).

    Args:
        on_hand: stock on hand at the start of the first period I_0 [units]: a frame with ``sku`` and
            ``on_hand``, or a Series indexed by SKU. SKUs missing here start at 0.
        receipts: scheduled receipts R_t with ``sku``, ``period`` and ``quantity`` [units/period]
            (open purchase and production orders), available to serve demand in their period.
        demand: D_t with ``sku``, ``period`` and ``quantity`` [units/period].
        policy: what happens to unmet demand: ``"lost_sales"`` or ``"backorder"``.
        cover_periods: number of future periods k averaged for days of cover [periods] (≥ 1).
        freq: pandas frequency of the periods, to count days per period (``"MS"`` = months).

    Returns:
        ``sku, period, opening, receipts, demand, closing, shortage, days_of_cover`` for every SKU
        in ``demand`` or ``receipts`` and every period of the horizon (the union of their periods),
        quantities in units and days of cover in days.

    Raises:
        ValueError: when a column is missing, a quantity is negative or ``cover_periods`` < 1.

    Example:
        >>> d = pd.DataFrame({"sku": "A", "period": ["2026-11-01", "2026-12-01"], "quantity": [60, 60]})
        >>> r = pd.DataFrame({"sku": ["A"], "period": ["2026-12-01"], "quantity": [30]})
        >>> projected_inventory(pd.Series({"A": 100.0}), r, d)[["closing", "shortage"]].to_numpy().tolist()
        [[40.0, 0.0], [10.0, 0.0]]
    """
    if cover_periods < 1:
        raise ValueError(f"cover_periods must be ≥ 1, got {cover_periods}")
    if policy not in ("lost_sales", "backorder"):
        raise ValueError(f"policy must be 'lost_sales' or 'backorder', got {policy!r}")
    _require(receipts, "receipts", ["sku", "period", "quantity"])
    _require(demand, "demand", ["sku", "period", "quantity"])
    if isinstance(on_hand, pd.DataFrame):
        _require(on_hand, "on_hand", ["sku", "on_hand"])
        stock = on_hand.groupby("sku")["on_hand"].sum().astype(float)
    else:
        stock = on_hand.astype(float)
    for name, frame in (("receipts", receipts), ("demand", demand)):
        if (frame["quantity"] < 0).any():
            raise ValueError(f"{name}: quantities must be ≥ 0")

    def _pivot(frame: pd.DataFrame) -> pd.DataFrame:
        f = frame.assign(period=pd.to_datetime(frame["period"]))
        return f.pivot_table(index="sku", columns="period", values="quantity", aggfunc="sum", fill_value=0.0)

    dem, rec = _pivot(demand), _pivot(receipts)
    skus = sorted(set(dem.index) | set(rec.index))
    periods = sorted(set(dem.columns) | set(rec.columns))
    if not skus or not periods:
        return pd.DataFrame(columns=PROJECTION_COLUMNS)
    dem = dem.reindex(index=skus, columns=periods, fill_value=0.0).to_numpy(dtype=float)
    rec = rec.reindex(index=skus, columns=periods, fill_value=0.0).to_numpy(dtype=float)
    level = stock.reindex(skus).fillna(0.0).to_numpy(dtype=float)
    n_sku, n_per = dem.shape
    opening, closing, shortage = (np.zeros((n_sku, n_per)) for _ in range(3))
    for t in range(n_per):
        opening[:, t] = level
        available = level + rec[:, t] - dem[:, t]
        if policy == "lost_sales":
            shortage[:, t] = np.maximum(-available, 0.0)
            level = np.maximum(available, 0.0)
        else:
            shortage[:, t] = np.maximum(-available, 0.0)
            level = available
        closing[:, t] = level
    out = pd.DataFrame(
        {
            "sku": np.repeat(skus, n_per),
            "period": np.tile(np.asarray(periods, dtype="datetime64[ns]"), n_sku),
            "opening": opening.ravel(),
            "receipts": rec.ravel(),
            "demand": dem.ravel(),
            "closing": closing.ravel(),
            "shortage": shortage.ravel(),
        }
    )
    out["days_of_cover"] = _days_of_cover(out.assign(closing=out["closing"].clip(lower=0.0)), cover_periods, freq)
    return out[PROJECTION_COLUMNS]


def summarise_projection(
    projection: pd.DataFrame, label: str = "total", *, cover_periods: int = 3, freq: str = "MS"
) -> pd.DataFrame:
    """Add up a SKU-level projection per period (e.g. a product family) and recompute days of cover.

    Shortages stay those of the SKUs (stock of one SKU does not serve another), so the sum differs
    from projecting the family as one item.

    Args:
        projection: output of :func:`projected_inventory`.
        label: value written in the ``sku`` column of the result (the family name, or "total").
        cover_periods: future periods averaged for days of cover [periods].
        freq: pandas frequency of the periods.

    Returns:
        The same columns as :func:`projected_inventory`, one row per period.
    """
    if projection.empty:
        return pd.DataFrame(columns=PROJECTION_COLUMNS)
    cols = ["opening", "receipts", "demand", "closing", "shortage"]
    out = projection.groupby("period", as_index=False)[cols].sum().sort_values("period", ignore_index=True)
    out.insert(0, "sku", label)
    out["days_of_cover"] = _days_of_cover(out.assign(closing=out["closing"].clip(lower=0.0)), cover_periods, freq)
    return out[PROJECTION_COLUMNS]


def supplier_performance(
    receipts: pd.DataFrame,
    on_time_tolerance_days: int = 0,
    in_full_tolerance: float = 0.0,
    *,
    by: tuple[str, ...] = ("supplier",),
) -> pd.DataFrame:
    """Supplier scorecard: OTIF and lead-time statistics from the history of deliveries.

    Per supplier, over closed orders only (open orders, without ``received_date``, are excluded):

    * on_time = share received ≤ promised_date + tolerance; in_full = share with
      qty_received ≥ qty_ordered · (1 − in_full_tolerance); otif = share both (ASCM SCOR).
    * lead time L = received_date − order_date [days]: mean, sample standard deviation (ddof = 1,
      NaN for a single order), median (p50) and 90th percentile (p90, linear interpolation), the
      inputs of safety stock under lead-time variability (Silver, Pyke & Thomas, 4th ed., ch. 6).

    Args:
        receipts: ``supplier, order_date, promised_date, received_date, qty_ordered`` [units],
            ``qty_received`` [units] (e.g. the ``receipt`` table).
        on_time_tolerance_days: allowed lateness [days] (≥ 0).
        in_full_tolerance: allowed missing share of the ordered quantity [0..1).
        by: grouping columns: ``("supplier",)`` (default), ``("supplier", "sku")`` per supplier
            item, ``("sku",)`` per item over all its suppliers.

    Returns:
        ``by`` columns then ``orders, on_time, in_full, otif, lt_mean_days, lt_std_days, lt_p50,
        lt_p90``; ``orders`` is a count, the three rates are shares 0..1, lead times in days. Sorted
        by OTIF, worst first.
    """
    keys = list(by)
    _require(receipts, "receipts", [*keys, "order_date"])
    columns = keys + SUPPLIER_COLUMNS[1:]
    flags = otif_flags(receipts, on_time_tolerance_days, in_full_tolerance)
    if flags.empty:
        return pd.DataFrame(columns=columns)
    grouped = flags.groupby(keys)
    out = pd.DataFrame(
        {
            "orders": grouped.size(),
            "on_time": grouped["on_time"].mean(),
            "in_full": grouped["in_full"].mean(),
            "otif": grouped["otif"].mean(),
            "lt_mean_days": grouped["lead_time_days"].mean(),
            "lt_std_days": grouped["lead_time_days"].std(ddof=1),
            "lt_p50": grouped["lead_time_days"].quantile(0.5),
            "lt_p90": grouped["lead_time_days"].quantile(0.9),
        }
    ).reset_index()
    out["orders"] = out["orders"].astype(int)
    return out[columns].sort_values(["otif", *keys], ignore_index=True)


def reliability_trend(
    receipts: pd.DataFrame,
    on_time_tolerance_days: int = 0,
    in_full_tolerance: float = 0.0,
    *,
    freq: Literal["Q", "M", "Y"] = "Q",
    by: tuple[str, ...] = ("supplier",),
) -> pd.DataFrame:
    """OTIF and lead time per supplier (or item) and calendar bucket of the receipt date.

    Same definitions as :func:`supplier_performance` (ASCM SCOR delivery and quantity terms); the
    bucket is the period of ``received_date`` (``freq="Q"`` quarters, ``"M"`` months, ``"Y"`` years).

    Args:
        receipts: as for :func:`supplier_performance`.
        on_time_tolerance_days: allowed lateness [days].
        in_full_tolerance: allowed missing share [0..1).
        freq: pandas period alias of the buckets.
        by: grouping columns.

    Returns:
        ``by`` columns, ``period`` (bucket start), ``orders``, ``otif`` [share] and ``lt_mean_days``
        [days], sorted by the keys and period.
    """
    keys = list(by)
    _require(receipts, "receipts", [*keys, "order_date"])
    flags = otif_flags(receipts, on_time_tolerance_days, in_full_tolerance)
    columns = [*keys, "period", "orders", "otif", "lt_mean_days"]
    if flags.empty:
        return pd.DataFrame(columns=columns)
    flags["period"] = flags["received_date"].dt.to_period(freq).dt.start_time
    grouped = flags.groupby([*keys, "period"])
    out = pd.DataFrame(
        {"orders": grouped.size(), "otif": grouped["otif"].mean(), "lt_mean_days": grouped["lead_time_days"].mean()}
    ).reset_index()
    out["orders"] = out["orders"].astype(int)
    return out[columns].sort_values([*keys, "period"], ignore_index=True)


def load_contributions(plan: pd.DataFrame, routing: pd.DataFrame, products: pd.DataFrame | None = None) -> pd.DataFrame:
    """Which SKUs and families load each resource and period, with their share of the load.

    Formula: share_{i,r,t} = q_{i,t}·h_{i,r} / Σ_j q_{j,t}·h_{j,r} (bill of capacity, Vollmann et al.,
    5th ed., ch. 6) — the drill-down behind a bottleneck.

    Args:
        plan: ``sku, period, quantity`` [units/period].
        routing: ``sku, resource, hours_per_unit`` [hours/unit].
        products: optional ``sku, family`` to name each SKU's family.

    Returns:
        ``resource, period, family, sku, quantity, load_hours, share`` (share of the resource-period
        load, 0..1), largest loads first within each resource and period.
    """
    by_sku = capacity_load_by_sku(plan, routing)
    total = by_sku.groupby(["resource", "period"])["load_hours"].transform("sum")
    by_sku["share"] = np.where(total > 0, by_sku["load_hours"] / total.where(total > 0, 1.0), 0.0)
    families = products.set_index("sku")["family"] if products is not None else pd.Series(dtype=object)
    by_sku["family"] = by_sku["sku"].map(families).fillna("")
    out = by_sku[["resource", "period", "family", "sku", "quantity", "load_hours", "share"]]
    return out.sort_values(["resource", "period", "load_hours"], ascending=[True, True, False], ignore_index=True)


def flag_projection(
    projection: pd.DataFrame,
    levels: pd.DataFrame | None = None,
    *,
    excess_cover_days: float = 120.0,
) -> pd.DataFrame:
    """Mark projected stock-outs, dips below safety stock and reorder point, and excess.

    Per SKU and period: ``stockout`` when demand is short (shortage > 0) or nothing is left
    (closing ≤ 0 with demand ahead); ``below_safety_stock`` / ``below_reorder_point`` when
    closing < SS / ROP; ``excess`` when closing > the maximum stock ``max_stock`` (when given) or
    days of cover > ``excess_cover_days`` (Silver, Pyke & Thomas, 4th ed., ch. 1, days of supply).

    Args:
        projection: output of :func:`projected_inventory`.
        levels: optional ``sku`` with ``safety_stock``, ``reorder_point`` and ``max_stock`` [units].
        excess_cover_days: cover above which stock is excess N [days].

    Returns:
        The projection plus ``safety_stock, reorder_point, max_stock`` (NaN when unknown) and the
        boolean flags ``stockout, below_safety_stock, below_reorder_point, excess``.
    """
    out = projection.copy()
    for col in ("safety_stock", "reorder_point", "max_stock"):
        if levels is not None and col in levels.columns:
            out[col] = out["sku"].map(levels.set_index("sku")[col]).astype(float)
        else:
            out[col] = np.nan
    closing = out["closing"].astype(float)
    out["stockout"] = (out["shortage"] > 0) | ((closing <= 0) & (out["demand"] > 0))
    out["below_safety_stock"] = closing < out["safety_stock"].fillna(-np.inf)
    out["below_reorder_point"] = closing < out["reorder_point"].fillna(-np.inf)
    over_max = closing > out["max_stock"].fillna(np.inf)
    over_cover = out["days_of_cover"].fillna(0.0) > excess_cover_days
    out["excess"] = over_max | over_cover
    return out
