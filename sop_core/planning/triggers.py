"""Triggers of the KPI monitor: pure functions that turn plans and histories into proposed actions.

Three checks run between S&OP meetings (``python -m sop_core monitor``); each returns one row per
exception with the columns of :data:`EXCEPTION_COLUMNS`, ``proposal`` being a JSON-ready dict:

* **Projected reorder-point breach** (:func:`reorder_point_breaches`): the projected inventory
  position of a SKU, closing_t + Σ open orders due after t, falls below its reorder point within the
  look-ahead → propose a replenishment order. Quantity Q = max(EOQ, MOQ, ROP − position_t) rounded
  up to whole units (the lot size of the (s, Q) policy, at least the supplier's minimum and enough to
  lift the position back to the reorder point; Silver, Pyke & Thomas, 4th ed., §6.2); supplier = the
  preferred supplier item (priority 1), made in house when there is none; order date = the first day
  of the breach month, or ``today`` when that has passed; due date = order date + lead time.
* **Tracking signal out of bounds** (:func:`tracking_signal_alerts`): TS = Σ(y − ŷ) / MAD over the
  last scored months of a SKU beyond ±4 (Silver, Pyke & Thomas, 4th ed., §4.10; ±4 is the usual
  limit) → propose a re-forecast of the SKU; TS > 0 means the forecast is too low.
* **Supplier OTIF below target** (:func:`supplier_otif_alerts`): a supplier with enough closed
  orders and OTIF below the target → for every SKU it is the preferred supplier of, propose the
  priority-2 (or later) alternate supplier item, or say that none is on file.

Nothing here reads the database: :mod:`sop_core.services.monitor` loads the inputs and stores the rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any

import numpy as np
import pandas as pd

from sop_core.planning import accuracy as metrics
from sop_core.units import DAYS_PER_MONTH

log = logging.getLogger(__name__)

#: Columns of every trigger's result (one row per exception).
EXCEPTION_COLUMNS = ["kind", "sku", "supplier", "kpi", "value", "threshold", "message", "proposal"]
#: Lead time of an item made in house (no supplier item), one monthly bucket [days].
PRODUCTION_LEAD_TIME_DAYS = DAYS_PER_MONTH
#: Smallest cumulative bias |Σ(y − ŷ)| / Σŷ for which a tracking-signal alarm proposes a re-forecast [share].
MIN_MATERIAL_BIAS = 0.10

#: The usual alarm limit of the tracking signal [number of MADs].
TRACKING_SIGNAL_LIMIT = 4.0


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=EXCEPTION_COLUMNS)


def _require(frame: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")


def _preferred(supplier_items: pd.DataFrame) -> pd.DataFrame:
    """The preferred supplier item of each SKU (lowest priority number, then supplier code)."""
    if supplier_items.empty:
        return pd.DataFrame(columns=["supplier", "lead_time_days", "moq"]).rename_axis("sku")
    ordered = supplier_items.sort_values(["sku", "priority", "supplier"])
    return ordered.drop_duplicates("sku").set_index("sku")


def reorder_point_breaches(
    projection: pd.DataFrame,
    policy: pd.DataFrame,
    supplier_items: pd.DataFrame,
    *,
    today: dt.date,
    horizon_months: int = 3,
) -> pd.DataFrame:
    """Replenishment proposals for SKUs whose projected inventory position falls below the reorder point.

    Args:
        projection: :func:`sop_core.planning.supply_math.projected_inventory` rows ``sku, period, receipts, closing``
            [units] (receipts are the open orders due in the period).
        policy: ``sku, reorder_point`` (s) [units] and ``eoq`` (Q*) [units/order] per SKU (NaN EOQ:
            no lot size, the shortfall is ordered).
        supplier_items: ``supplier, sku, lead_time_days`` (L) [days], ``moq`` [units], ``priority``
            (1 = preferred).
        today: the day the check runs; no order is dated before it.
        horizon_months: months of the projection looked at, from its first period [months] (≥ 1).

    Returns:
        :data:`EXCEPTION_COLUMNS` with kind ``reorder_point``, kpi ``inventory_position``, value = the
        projected position and threshold = the reorder point [units]; ``proposal`` holds ``action``
        (``replenish``), ``qty``, ``supplier`` ('' when made in house), ``source`` (purchase |
        production), ``breach_period``, ``order_date``, ``due_date`` (ISO dates), ``lead_time_days``,
        ``eoq``, ``moq`` and ``order_now`` (the breach month has begun: order today). Sorted by order date, SKU.

    Raises:
        ValueError: when a column is missing or ``horizon_months`` < 1.

    Example:
        >>> proj = pd.DataFrame({"sku": "A", "period": pd.to_datetime(["2026-12-01", "2027-01-01"]),
        ...                      "receipts": [0.0, 0.0], "closing": [80.0, 40.0]})
        >>> pol = pd.DataFrame({"sku": ["A"], "reorder_point": [50.0], "eoq": [120.0]})
        >>> items = pd.DataFrame({"supplier": ["S"], "sku": ["A"], "lead_time_days": [20.0],
        ...                       "moq": [0.0], "priority": [1]})
        >>> p = reorder_point_breaches(proj, pol, items, today=dt.date(2026, 11, 25))["proposal"][0]
        >>> (p["qty"], p["order_date"], p["due_date"])
        (120.0, '2027-01-01', '2027-01-21')
    """
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be ≥ 1, got {horizon_months}")
    _require(projection, "projection", ["sku", "period", "receipts", "closing"])
    _require(policy, "policy", ["sku", "reorder_point", "eoq"])
    _require(supplier_items, "supplier_items", ["supplier", "sku", "lead_time_days", "moq", "priority"])
    if projection.empty:
        return _empty()
    frame = projection[["sku", "period", "receipts", "closing"]].copy()
    frame["period"] = pd.to_datetime(frame["period"])
    frame = frame.sort_values(["sku", "period"], ignore_index=True)
    # inventory position at the end of t: closing_t + open orders due after t
    later = frame.groupby("sku")["receipts"].transform(lambda r: r[::-1].cumsum()[::-1]) - frame["receipts"]
    frame["position"] = frame["closing"] + later
    first = frame["period"].min()
    frame = frame[frame["period"] < first + pd.DateOffset(months=horizon_months)]
    frame = frame.merge(policy[["sku", "reorder_point", "eoq"]], on="sku", how="inner")
    hits = frame[(frame["reorder_point"] > 0) & (frame["position"] < frame["reorder_point"] - 1e-9)]
    if hits.empty:
        return _empty()
    hits = hits.drop_duplicates("sku", keep="first")
    preferred = _preferred(supplier_items)
    today_ts = pd.Timestamp(today)
    rows: list[dict[str, Any]] = []
    for hit in hits.itertuples(index=False):
        bought = hit.sku in preferred.index
        supplier = str(preferred.at[hit.sku, "supplier"]) if bought else ""
        lead = float(preferred.at[hit.sku, "lead_time_days"]) if bought else PRODUCTION_LEAD_TIME_DAYS
        moq = float(preferred.at[hit.sku, "moq"]) if bought else 0.0
        eoq = float(hit.eoq) if hit.eoq is not None and not math.isnan(hit.eoq) else 0.0
        shortfall = float(hit.reorder_point - hit.position)
        qty = float(math.ceil(max(eoq, moq, shortfall) - 1e-9))
        order = max(hit.period, today_ts)
        due = order + pd.Timedelta(days=math.ceil(lead))
        rows.append(
            {
                "kind": "reorder_point",
                "sku": hit.sku,
                "supplier": supplier,
                "kpi": "inventory_position",
                "value": round(float(hit.position), 3),
                "threshold": round(float(hit.reorder_point), 3),
                "message": (
                    f"{hit.sku}: projected position {hit.position:,.0f} below reorder point "
                    f"{hit.reorder_point:,.0f} in {hit.period:%Y-%m}; order {qty:,.0f}"
                    + (f" from {supplier}" if supplier else " (make)")
                    + f" by {order:%Y-%m-%d}"
                ),
                "proposal": {
                    "action": "replenish",
                    "qty": qty,
                    "supplier": supplier,
                    "source": "purchase" if bought else "production",
                    "breach_period": f"{hit.period:%Y-%m-%d}",
                    "order_date": f"{order:%Y-%m-%d}",
                    "due_date": f"{due:%Y-%m-%d}",
                    "lead_time_days": round(lead, 2),
                    "eoq": round(eoq, 3),
                    "moq": moq,
                    "order_now": bool(hit.period <= today_ts),
                },
            }
        )
    out = pd.DataFrame(rows, columns=EXCEPTION_COLUMNS)
    order_dates = out["proposal"].map(lambda p: p["order_date"])
    return out.assign(_o=order_dates).sort_values(["_o", "sku"], ignore_index=True).drop(columns="_o")


def tracking_signals(scored: pd.DataFrame, *, window: int = 12) -> pd.DataFrame:
    """Tracking signal of each SKU over its last ``window`` scored months.

    Formula: TS = Σ(y − ŷ) / MAD, MAD = mean|y − ŷ| (:func:`sop_core.planning.accuracy.tracking_signal`).

    Args:
        scored: ``sku, period, y`` (actual) [units] and ``yhat`` (the forecast made before the period) [units].
        window: number of most recent months per SKU [months] (≥ 1).

    Returns:
        ``sku, periods, cumulative_error, cumulative_forecast, mad, tracking_signal`` (units; TS in MADs).
    """
    _require(scored, "scored", ["sku", "period", "y", "yhat"])
    if scored.empty:
        return pd.DataFrame(
            columns=["sku", "periods", "cumulative_error", "cumulative_forecast", "mad", "tracking_signal"]
        )
    frame = scored.dropna(subset=["y", "yhat"]).sort_values(["sku", "period"])
    frame = frame.groupby("sku", group_keys=False).tail(window)
    err = (frame["y"].astype(float) - frame["yhat"].astype(float)).groupby(frame["sku"])
    out = pd.DataFrame(
        {
            "periods": err.size(),
            "cumulative_error": err.sum(),
            "cumulative_forecast": frame["yhat"].astype(float).groupby(frame["sku"]).sum(),
            "mad": err.apply(lambda e: e.abs().mean()),
        }
    )
    out["tracking_signal"] = [
        metrics.tracking_signal(g["y"].to_numpy(float), g["yhat"].to_numpy(float)) for _, g in frame.groupby("sku")
    ]
    return out.reset_index()


def tracking_signal_alerts(
    scored: pd.DataFrame,
    *,
    limit: float = TRACKING_SIGNAL_LIMIT,
    min_periods: int = 3,
    window: int = 12,
    min_bias: float = MIN_MATERIAL_BIAS,
) -> pd.DataFrame:
    """Re-forecast proposals for SKUs whose tracking signal lies beyond ±``limit`` by a material bias.

    Over few months a small but steady bias already drives |TS| to the number of months; a
    re-forecast is proposed only when the cumulative error is also at least ``min_bias`` of the
    cumulative forecast (|Σ(y − ŷ)| / Σŷ), so the list holds the biases worth a planner's time.

    Args:
        scored: ``sku, period, y, yhat`` as for :func:`tracking_signals` [units].
        limit: alarm limit of |TS| [MADs] (> 0); a SKU fires when |TS| > limit.
        min_periods: scored months a SKU needs before it can fire [months].
        window: most recent months per SKU used [months].
        min_bias: smallest |Σ(y − ŷ)| / Σŷ that fires [share] (0 turns the check off).

    Returns:
        :data:`EXCEPTION_COLUMNS` with kind ``tracking_signal``, value = TS and threshold = ±limit
        (signed like TS); ``proposal`` = ``action`` (``reforecast``), ``direction`` (``under-forecast``
        when TS > 0, else ``over-forecast``), ``periods``, ``cumulative_error``, ``mad``.

    Example:
        >>> s = pd.DataFrame({"sku": "A", "period": pd.date_range("2026-01-01", periods=5, freq="MS"),
        ...                   "y": [110.0] * 5, "yhat": [100.0] * 5})
        >>> tracking_signal_alerts(s)[["value", "threshold"]].to_numpy().tolist()
        [[5.0, 4.0]]
    """
    if limit <= 0:
        raise ValueError(f"limit must be > 0, got {limit}")
    signals = tracking_signals(scored, window=window)
    if signals.empty:
        return _empty()
    forecast = signals["cumulative_forecast"].astype(float)
    bias = (signals["cumulative_error"].abs() / forecast.where(forecast > 0)).fillna(np.inf)  # none forecast: material
    hits = signals[
        (signals["periods"] >= min_periods) & (signals["tracking_signal"].abs() > limit) & (bias >= min_bias)
    ]
    rows = []
    for hit in hits.sort_values("sku").itertuples(index=False):
        ts = float(hit.tracking_signal)
        direction = "under-forecast" if ts > 0 else "over-forecast"
        rows.append(
            {
                "kind": "tracking_signal",
                "sku": hit.sku,
                "supplier": "",
                "kpi": "tracking_signal",
                "value": round(ts, 4),
                "threshold": float(np.sign(ts) * limit),
                "message": f"{hit.sku}: tracking signal {ts:+.1f} beyond ±{limit:g} ({direction}); re-forecast",
                "proposal": {
                    "action": "reforecast",
                    "direction": direction,
                    "periods": int(hit.periods),
                    "cumulative_error": round(float(hit.cumulative_error), 3),
                    "mad": round(float(hit.mad), 3),
                },
            }
        )
    return pd.DataFrame(rows, columns=EXCEPTION_COLUMNS)


def supplier_otif_alerts(
    scorecard: pd.DataFrame, supplier_items: pd.DataFrame, *, target: float, min_orders: int = 3
) -> pd.DataFrame:
    """Alternate-sourcing proposals for the SKUs of suppliers whose OTIF is below the target.

    Args:
        scorecard: ``supplier, orders, otif`` per supplier (:func:`sop_core.planning.supply_math.supplier_performance`),
            OTIF as a share 0..1 over the closed orders of the period looked at.
        supplier_items: ``supplier, sku, lead_time_days`` [days], ``moq`` [units], ``unit_cost``
            [currency/unit], ``priority`` (1 = preferred, 2+ = alternates).
        target: the OTIF a supplier must reach [share 0..1].
        min_orders: closed orders a supplier needs before it is judged [orders].

    Returns:
        :data:`EXCEPTION_COLUMNS`, one row per (supplier, SKU it is preferred for), kind
        ``supplier_otif``, value = the supplier's OTIF and threshold = the target (shares);
        ``proposal`` = ``action`` (``alternate_source``), ``alternate`` (the best alternate's
        ``supplier, lead_time_days, unit_cost, moq, priority, otif`` or None when there is none),
        ``orders``.

    Example:
        >>> card = pd.DataFrame({"supplier": ["S1", "S2"], "orders": [10, 10], "otif": [0.6, 0.95]})
        >>> items = pd.DataFrame({"supplier": ["S1", "S2"], "sku": ["A", "A"], "lead_time_days": [30.0, 40.0],
        ...                       "moq": [0.0, 50.0], "unit_cost": [5.0, 5.5], "priority": [1, 2]})
        >>> supplier_otif_alerts(card, items, target=0.9)["proposal"][0]["alternate"]["supplier"]
        'S2'
    """
    _require(scorecard, "scorecard", ["supplier", "orders", "otif"])
    _require(supplier_items, "supplier_items", ["supplier", "sku", "lead_time_days", "moq", "unit_cost", "priority"])
    if not 0.0 <= target <= 1.0:
        raise ValueError(f"target must be a share in [0, 1], got {target}")
    if scorecard.empty:
        return _empty()
    otif_of = scorecard.set_index("supplier")["otif"].astype(float)
    poor = scorecard[(scorecard["orders"] >= min_orders) & (scorecard["otif"].astype(float) < target - 1e-12)]
    if poor.empty:
        return _empty()
    preferred = _preferred(supplier_items)
    rows = []
    for sup in poor.sort_values("supplier").itertuples(index=False):
        skus = sorted(preferred.index[preferred["supplier"] == sup.supplier])
        for sku in skus:
            alternates = supplier_items[
                (supplier_items["sku"] == sku)
                & (supplier_items["supplier"] != sup.supplier)
                & (supplier_items["priority"] >= 2)
            ].sort_values(["priority", "lead_time_days", "supplier"])
            alternate = None
            if not alternates.empty:
                best = alternates.iloc[0]
                alt_otif = otif_of.get(best["supplier"], float("nan"))
                alternate = {
                    "supplier": str(best["supplier"]),
                    "priority": int(best["priority"]),
                    "lead_time_days": float(best["lead_time_days"]),
                    "unit_cost": float(best["unit_cost"]),
                    "moq": float(best["moq"]),
                    "otif": None if math.isnan(alt_otif) else round(float(alt_otif), 4),
                }
            advice = f"move volume to {alternate['supplier']}" if alternate else "no alternate supplier on file"
            rows.append(
                {
                    "kind": "supplier_otif",
                    "sku": sku,
                    "supplier": sup.supplier,
                    "kpi": "otif",
                    "value": round(float(sup.otif), 4),
                    "threshold": float(target),
                    "message": f"{sup.supplier} OTIF {100 * sup.otif:.0f} % < {100 * target:.0f} % for {sku}: {advice}",
                    "proposal": {"action": "alternate_source", "alternate": alternate, "orders": int(sup.orders)},
                }
            )
    return pd.DataFrame(rows, columns=EXCEPTION_COLUMNS)
