"""Operational KPIs: fill rate, OTIF, inventory turns, days of supply, stockouts and excess.

Pure functions on numbers, arrays and DataFrames (no database, no user interface). Every function
accepts scalars, NumPy arrays or pandas Series; the ratio KPIs are quantity- or value-weighted
aggregates (Σ numerator / Σ denominator), never a mean of per-item ratios.

Formulas (DESIGN.md, "Formulas"):

* fill rate = Σ shipped quantity / Σ ordered quantity
  (Chopra & Meindl, *Supply Chain Management*, 6th ed., ch. 12, "product fill rate").
* OTIF = orders delivered on or before the promised date AND in full / all (closed) orders
  (APICS/ASCM *SCOR* model, "perfect order fulfilment" without the documentation and condition terms).
* inventory turns = cost of goods sold / average inventory value
  (Chopra & Meindl, 6th ed., ch. 3, "inventory turns").
* days of supply = on hand / average daily demand
  (Silver, Pyke & Thomas, *Inventory and Production Management in Supply Chains*, 4th ed., ch. 1).

Where the data hold no customer order lines (the demo company keeps sales history, inventory and
supplier receipts only) :mod:`sop_core.services.kpi` documents which quantities stand for
"shipped" and "ordered".
"""

from __future__ import annotations

import logging
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

ArrayLike: TypeAlias = float | int | np.ndarray | pd.Series | list[float]

#: Columns a receipt (delivery) frame must have for :func:`otif_flags`.
RECEIPT_COLUMNS = ("promised_date", "received_date", "qty_ordered", "qty_received")


def _sum(x: ArrayLike) -> float:
    return float(np.nansum(np.asarray(x, dtype=float)))


def _ratio(numerator: ArrayLike, denominator: ArrayLike) -> Any:
    """Element-wise ratio keeping a Series' index; 0/0 and x/0 give NaN."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    for arg in (numerator, denominator):
        if isinstance(arg, pd.Series):
            return pd.Series(out, index=arg.index)
    return float(out) if out.ndim == 0 else out


def fill_rate(shipped: ArrayLike, ordered: ArrayLike) -> float:
    """Quantity fill rate: the share of ordered units that were shipped (served from stock).

    Formula: fill rate = Σ shipped / Σ ordered (Chopra & Meindl, *Supply Chain Management*,
    6th ed., ch. 12, product fill rate *fr*).

    Args:
        shipped: units shipped per order line or period [units] (≥ 0).
        ordered: units ordered (demanded) per order line or period [units] (≥ 0).

    Returns:
        The fill rate as a share 0..1; NaN when nothing was ordered.

    Raises:
        ValueError: when a quantity is negative.

    Example:
        >>> fill_rate([90, 50], [100, 50])
        0.9333333333333333
    """
    s, o = np.asarray(shipped, dtype=float), np.asarray(ordered, dtype=float)
    if (s < 0).any() or (o < 0).any():
        raise ValueError("fill rate: shipped and ordered quantities must be ≥ 0")
    total = _sum(o)
    return float("nan") if total <= 0 else min(_sum(s) / total, 1.0)


def otif_flags(frame: pd.DataFrame, on_time_tolerance_days: int = 0, in_full_tolerance: float = 0.0) -> pd.DataFrame:
    """Per-order on-time, in-full and OTIF flags of the closed orders in ``frame``.

    An order is *on time* when received on or before the promised date plus the tolerance, and
    *in full* when ``qty_received ≥ qty_ordered · (1 − in_full_tolerance)``. Open orders (no
    ``received_date``) are dropped: they are neither late nor early yet.

    Args:
        frame: one row per order with ``promised_date``, ``received_date`` (NaT when open),
            ``qty_ordered`` [units] and ``qty_received`` [units]; other columns are kept.
        on_time_tolerance_days: days a delivery may be late and still count as on time [days] (≥ 0).
        in_full_tolerance: share of the ordered quantity that may be missing and still count as
            in full [0..1].

    Returns:
        The closed orders with boolean columns ``on_time``, ``in_full``, ``otif`` and
        ``lead_time_days`` (received − ordered, when ``order_date`` is present) [days].

    Raises:
        ValueError: when a column is missing or a tolerance is out of range.
    """
    missing = [c for c in RECEIPT_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"receipts: missing column(s) {', '.join(missing)}")
    if on_time_tolerance_days < 0:
        raise ValueError(f"on_time_tolerance_days must be ≥ 0, got {on_time_tolerance_days}")
    if not 0.0 <= in_full_tolerance < 1.0:
        raise ValueError(f"in_full_tolerance must be in [0, 1), got {in_full_tolerance}")
    out = frame.copy()
    out["received_date"] = pd.to_datetime(out["received_date"])
    out["promised_date"] = pd.to_datetime(out["promised_date"])
    out = out[out["received_date"].notna()].copy()
    deadline = out["promised_date"] + pd.to_timedelta(on_time_tolerance_days, unit="D")
    out["on_time"] = out["received_date"] <= deadline
    ordered = out["qty_ordered"].astype(float)
    out["in_full"] = out["qty_received"].astype(float) >= ordered * (1.0 - in_full_tolerance) - 1e-9
    out["otif"] = out["on_time"] & out["in_full"]
    if "order_date" in out.columns:
        out["lead_time_days"] = (out["received_date"] - pd.to_datetime(out["order_date"])).dt.days.astype(float)
    return out


def otif(frame: pd.DataFrame, on_time_tolerance_days: int = 0, in_full_tolerance: float = 0.0) -> float:
    """On time in full: the share of closed orders delivered on or before promise and in full.

    Formula: OTIF = #(received ≤ promised + tolerance ∧ qty_received ≥ qty_ordered·(1 − tol)) / #closed
    orders (ASCM SCOR "perfect order fulfilment", delivery and quantity terms). Each order counts
    once, whatever its size.

    Args:
        frame: orders as described in :func:`otif_flags`.
        on_time_tolerance_days: allowed lateness [days].
        in_full_tolerance: allowed missing share of the ordered quantity [0..1].

    Returns:
        OTIF as a share 0..1; NaN when no order is closed.

    Example:
        >>> rows = pd.DataFrame({"promised_date": ["2026-01-10", "2026-01-10"],
        ...                      "received_date": ["2026-01-09", "2026-01-12"],
        ...                      "qty_ordered": [10, 10], "qty_received": [10, 10]})
        >>> otif(rows)
        0.5
    """
    flags = otif_flags(frame, on_time_tolerance_days, in_full_tolerance)
    return float("nan") if flags.empty else float(flags["otif"].mean())


def inventory_turns(cogs: ArrayLike, avg_inventory_value: ArrayLike) -> Any:
    """Inventory turns: how many times the average inventory is sold through in the period of ``cogs``.

    Formula: turns = COGS / average inventory value (Chopra & Meindl, 6th ed., ch. 3).

    Args:
        cogs: cost of goods sold over the period, usually a year [currency/period].
        avg_inventory_value: average value of the inventory at cost over the same period [currency].

    Returns:
        Turns per period (per year when ``cogs`` is annual); NaN where the inventory value is 0.
        A Series when an argument is a Series, an array for arrays, a float for scalars.

    Example:
        >>> inventory_turns(1_200_000, 200_000)
        6.0
    """
    return _ratio(cogs, avg_inventory_value)


def days_of_supply(on_hand: ArrayLike, avg_daily_demand: ArrayLike) -> Any:
    """Days of supply: how many days the stock on hand lasts at the average daily demand.

    Formula: DOS = on hand / d̄_day (Silver, Pyke & Thomas, 4th ed., ch. 1).

    Args:
        on_hand: stock on hand [units] (or its value [currency], then demand at the same cost).
        avg_daily_demand: average demand per calendar day d̄_day [units/day] (same unit as ``on_hand`` per day).

    Returns:
        Days of supply [days]; NaN where the average daily demand is 0 (stock that does not move).

    Example:
        >>> days_of_supply(300, 10)
        30.0
    """
    return _ratio(on_hand, avg_daily_demand)


def stockouts(on_hand: ArrayLike, threshold: float = 0.0) -> int:
    """Count of items out of stock: on hand at or below ``threshold``.

    Args:
        on_hand: stock on hand per item [units].
        threshold: level at or below which an item counts as out of stock [units].

    Returns:
        The number of items at or below the threshold.

    Example:
        >>> stockouts([0, 5, 0, 12])
        2
    """
    values = np.asarray(on_hand, dtype=float)
    return int(np.sum(values <= threshold))


def excess(on_hand: ArrayLike, avg_daily_demand: ArrayLike, max_days: float = 180.0) -> int:
    """Count of items with excess stock: more than ``max_days`` of supply on hand.

    Items with stock but no demand count as excess (their days of supply are infinite).

    Args:
        on_hand: stock on hand per item [units].
        avg_daily_demand: average daily demand per item [units/day].
        max_days: days of supply above which stock is excess [days].

    Returns:
        The number of items in excess.

    Example:
        >>> excess([500, 100, 10], [1, 1, 0], max_days=180)
        2
    """
    stock = np.asarray(on_hand, dtype=float)
    demand = np.asarray(avg_daily_demand, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        dos = np.where(demand > 0, stock / np.where(demand > 0, demand, 1.0), np.where(stock > 0, np.inf, 0.0))
    return int(np.sum(dos > max_days))


# --------------------------------------------------------------------------- targets and traffic lights
#: Which side of a target is better: ``higher`` (fill rate), ``lower`` (days of supply) or ``abs_lower``
#: (the size of a signed value counts, e.g. forecast bias: |value| ≤ target is on target).
DIRECTIONS = ("higher", "lower", "abs_lower")


def traffic_light(value: float | None, target: float, tolerance: float, direction: str = "higher") -> str:
    """Traffic light of a KPI against its target: ``green``, ``amber``, ``red`` or ``grey`` (no value).

    Rule: green when the target is met; amber when it is missed by no more than ``tolerance``
    (in the KPI's unit); red beyond. For ``higher`` that is green ≥ target, amber ≥ target − tolerance;
    for ``lower`` green ≤ target, amber ≤ target + tolerance; for ``abs_lower`` the same on |value|.

    Args:
        value: the measured KPI in its display unit (percent as 0–100, days, turns, SKUs).
        target: the target in the same unit.
        tolerance: width of the amber band beyond the target, same unit (≥ 0).
        direction: ``higher``, ``lower`` or ``abs_lower`` (see :data:`DIRECTIONS`).

    Returns:
        ``green``, ``amber``, ``red``, or ``grey`` when ``value`` is None or NaN.

    Raises:
        ValueError: on an unknown direction or a negative tolerance.

    Example:
        >>> [traffic_light(v, 95.0, 5.0) for v in (96.0, 92.0, 89.0)]
        ['green', 'amber', 'red']
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be ≥ 0, got {tolerance}")
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "grey"
    v = abs(float(value)) if direction == "abs_lower" else float(value)
    miss = target - v if direction == "higher" else v - target
    if miss <= 1e-12:
        return "green"
    return "amber" if miss <= tolerance + 1e-12 else "red"


# --------------------------------------------------------------------------- monthly history
def monthly_otif(frame: pd.DataFrame, on_time_tolerance_days: int = 0, in_full_tolerance: float = 0.0) -> pd.DataFrame:
    """OTIF and supplier fill rate per month of receipt.

    Each closed order counts in the month it was received; OTIF of a month = its orders on time and
    in full / its closed orders; fill rate = Σ qty_received / Σ qty_ordered of those orders.

    Args:
        frame: orders as described in :func:`otif_flags`.
        on_time_tolerance_days: allowed lateness [days].
        in_full_tolerance: allowed missing share of the ordered quantity [0..1].

    Returns:
        ``period`` (month start), ``orders`` (count), ``otif`` and ``fill_rate`` (shares 0..1), by month.

    Example:
        >>> rows = pd.DataFrame({"promised_date": ["2026-01-10", "2026-01-10", "2026-02-10"],
        ...                      "received_date": ["2026-01-09", "2026-01-12", "2026-02-01"],
        ...                      "qty_ordered": [10, 10, 10], "qty_received": [10, 10, 5]})
        >>> monthly_otif(rows)[["otif", "fill_rate"]].to_numpy().tolist()
        [[0.5, 1.0], [0.0, 0.5]]
    """
    flags = otif_flags(frame, on_time_tolerance_days, in_full_tolerance)
    if flags.empty:
        return pd.DataFrame(columns=["period", "orders", "otif", "fill_rate"])
    flags["period"] = flags["received_date"].dt.to_period("M").dt.to_timestamp()
    grouped = flags.groupby("period")
    out = pd.DataFrame(
        {
            "orders": grouped.size(),
            "otif": grouped["otif"].mean(),
            "fill_rate": grouped["qty_received"].sum() / grouped["qty_ordered"].sum(),
        }
    ).reset_index()
    out["orders"] = out["orders"].astype(int)
    return out


def monthly_turns_and_cover(cogs: pd.Series, inventory_value: pd.Series) -> pd.DataFrame:
    """Inventory turns (annualised) and days of supply per month.

    Formulas, per month m with D_m calendar days: turns_m = 12 · COGS_m / V_m (COGS of the month
    annualised, Chopra & Meindl, 6th ed., ch. 3) and DOS_m = V_m / (COGS_m / D_m) (days of supply at
    the month's average daily cost of goods sold).

    Args:
        cogs: cost of goods sold per month, indexed by month start [currency/month].
        inventory_value: inventory value at cost per month, same index [currency].

    Returns:
        ``period, cogs, inventory_value, inventory_turns, days_of_supply``; NaN where a denominator is 0.

    Example:
        >>> idx = pd.to_datetime(["2026-01-01"])
        >>> monthly_turns_and_cover(pd.Series([3100.0], idx), pd.Series([6200.0], idx)).iloc[0, -2:].astype(float).tolist()
        [6.0, 62.0]
    """
    frame = pd.DataFrame({"cogs": cogs.astype(float), "inventory_value": inventory_value.astype(float)})
    frame.index = pd.to_datetime(frame.index)
    days = frame.index.days_in_month.to_numpy(dtype=float)
    frame["inventory_turns"] = inventory_turns(12.0 * frame["cogs"], frame["inventory_value"])
    frame["days_of_supply"] = days_of_supply(frame["inventory_value"], frame["cogs"] / days)
    return frame.rename_axis("period").reset_index()


def supplier_reliability(scorecard: pd.DataFrame, otif_target: float) -> float:
    """Share of the ordered quantity placed with suppliers whose OTIF meets the target.

    Formula: Σ qty_ordered of suppliers with OTIF ≥ target / Σ qty_ordered of all suppliers
    (a volume-weighted count of reliable suppliers, so a small unreliable supplier weighs little).

    Args:
        scorecard: one row per supplier with ``otif`` [share 0..1] and ``qty_ordered`` [units].
        otif_target: the OTIF a supplier must reach [share 0..1].

    Returns:
        The share 0..1; NaN when nothing was ordered.

    Example:
        >>> card = pd.DataFrame({"otif": [0.95, 0.70, 0.91], "qty_ordered": [600, 300, 100]})
        >>> supplier_reliability(card, 0.90)
        0.7
    """
    if scorecard.empty:
        return float("nan")
    qty = scorecard["qty_ordered"].astype(float)
    total = float(qty.sum())
    if total <= 0:
        return float("nan")
    return float(qty[scorecard["otif"].astype(float) >= otif_target - 1e-12].sum() / total)
