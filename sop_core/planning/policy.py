"""Inventory policy backtest: replay a demand history under a replenishment policy (order-up-to rules).

Pure NumPy/pandas (no database, no user interface). A history is the long format
``unique_id, ds, y`` (one row per item and period, demand y in units per period).

Simulated system (periodic review, Silver, Pyke & Thomas, *Inventory and Production Management
in Supply Chains*, 4th ed., §6.7 "(R, S) system"; Axsäter, *Inventory Control*, 3rd ed., §5.2):

* Every R = 1 period, at the end of period t, the inventory position IP = on hand + on order −
  backorders is raised to the order-up-to level S_t (an order of S_t − IP when positive). An order
  placed at the end of t arrives L periods later and serves demand from period t + L + 1, so the
  protection interval is L + R periods.
* Demand is served from on hand; what is missing is backordered (served later, *not* counted as
  filled). Fill rate = Σ demand filled at once / Σ demand (Chopra & Meindl, 6th ed., §12.2);
  cycle service level (CSL) = share of periods with demand in which no unit was short.
* S_t uses only data up to t (a trailing window of ``window`` periods): no look-ahead.

Order-up-to rules (``method``):

* ``"normal"``: S = d̄·(L+R) + k·σ_d·sqrt(L+R), k from the fill-rate target via the normal loss
  function G(k) = (1 − fr)·d̄·R / σ_{L+R} (:func:`sop_core.planning.inventory.safety_factor_for_fill_rate`).
* ``"empirical"``: S solves mean((X − S)⁺) = (1 − fr)·d̄·R over the empirical demand X of L+R
  consecutive periods in the window (:func:`sop_core.planning.inventory.empirical_order_up_to_for_fill_rate`)
  — no normality assumed, for intermittent items.
* ``"pooled"``: S = F + ē + k·σ_e with k from the *pooled empirical* distribution of standardised
  forecast errors z = (e − ē)/σ_e of all items replayed together (each error standardised by the
  ē and σ_e known when its order was placed, so estimation error is in the sample), weighted by
  the forecast: Σ w·(z − k)⁺ / Σ w = (1 − fr)·(F·R/P) / σ_e. The empirical error distribution
  replaces the normal one (Trapero, Cardós & Kourentzes, *Omega* 84 (2019) 199–211); pooling
  gives the tail many more errors than one item's window holds, and weighting by forecast makes
  it the tail of *units* short, which is what a quantity-weighted fill rate counts. Fast and
  intermittent items alike (see bench/policy.py for the achieved fill rates).
* ``"naive"`` (the rule of thumb it is compared with): S = k·d̄ (k periods of mean demand).

Two service measures, each under its own name: the policies aim at a **fill-rate target** (the share of
demand to serve from stock); the replay measures the **fill rate achieved** and the **cycle service level
achieved**. The frontiers built on this replay are in :mod:`sop_core.planning.inventory_frontier`.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pandas as pd

from sop_core.planning import inventory

log = logging.getLogger(__name__)

Method = Literal["pooled", "normal", "empirical", "naive"]
Forecaster = Literal["mean", "seasonal", "seasonal_trend"]

RESULT_COLUMNS = [
    "unique_id",
    "periods",
    "demand",
    "filled",
    "fill_rate",
    "cycles",
    "cycles_ok",
    "csl",
    "avg_on_hand",
    "avg_inventory_value",
    "orders",
]


def wide_demand(history: pd.DataFrame) -> tuple[np.ndarray, pd.Index]:
    for col in ("unique_id", "ds", "y"):
        if col not in history.columns:
            raise ValueError(f"history: missing column {col}")
    wide = history.pivot_table(index="unique_id", columns="ds", values="y", aggfunc="sum").sort_index(axis=1)
    if wide.isna().any().any():
        raise ValueError("history: every item needs a value in every period (fill gaps with 0)")
    values = wide.to_numpy(dtype=float)
    if (values < 0).any():
        raise ValueError("history: demand must be ≥ 0")
    return values, wide.index


def trailing_means(demand: np.ndarray, window: int) -> np.ndarray:
    """Mean demand of the trailing ``window`` periods up to each period t (fewer at the start), items × periods.

    Example:
        >>> trailing_means(np.array([[1.0, 3.0, 5.0]]), 2).tolist()
        [[1.0, 2.0, 4.0]]
    """
    out = np.empty(demand.shape)
    for t in range(demand.shape[1]):
        out[:, t] = demand[:, max(0, t + 1 - window) : t + 1].mean(axis=1)
    return out


def demand_forecast(
    demand: np.ndarray, periods: int, *, model: Forecaster = "seasonal", window: int = 24
) -> np.ndarray:
    """Forecast of the demand of the next ``periods`` periods made at the end of every period t.

    ``model="mean"``: F_t = P · mean of the trailing ``window`` periods.
    ``model="seasonal"`` (monthly data): level = mean of the last 12 periods; seasonal index of
    calendar position m = mean demand at m over the last 24 periods / mean of those 24 periods
    (classical multiplicative decomposition, Hyndman & Athanasopoulos, *Forecasting: Principles
    and Practice*, 3rd ed., §3.4); F_t = level · Σ_{j=1..P} s_{t+j}. Before 24 periods it is the mean.
    ``model="seasonal_trend"``: the same with the year-on-year growth g = mean(last 12) / mean(12
    before), clipped to [0.5, 2], extrapolated from the middle of the last 12 periods:
    F_t = level · Σ_j g^{(5.5 + j)/12} · s_{t+j} (a multiplicative trend, ibid. §8.2).

    Args:
        demand: demand [units/period], items × periods.
        periods: P = L + R [periods].
        model: ``"mean"``, ``"seasonal"`` or ``"seasonal_trend"``.
        window: trailing periods of the mean model [periods].

    Returns:
        F [units over P periods], items × periods (column t made with data up to t).
    """
    n, horizon = demand.shape
    out = np.full((n, horizon), np.nan)
    for t in range(horizon):
        hist = demand[:, max(0, t + 1 - window) : t + 1]
        mean = hist.mean(axis=1)
        if model in ("seasonal", "seasonal_trend") and t + 1 >= 24:
            last24 = demand[:, t + 1 - 24 : t + 1]
            base = last24.mean(axis=1)
            level = demand[:, t + 1 - 12 : t + 1].mean(axis=1)
            index = np.ones((n, 12))
            pos = base > 0
            # position p (0..11) of the 12-period cycle holds periods t+1-24+p and t+1-12+p
            index[pos] = (last24[pos, :12] + last24[pos, 12:]) / 2 / base[pos, None]
            ahead = [(24 + j - 1) % 12 for j in range(1, periods + 1)]  # period t+j sits at position j-1
            if model == "seasonal_trend":
                prev = last24[:, :12].mean(axis=1)
                growth = np.clip(np.where(prev > 0, level / np.where(prev > 0, prev, 1.0), 1.0), 0.5, 2.0)
                # the 12-month mean sits 5.5 periods before t; period t+j is 5.5 + j periods after it
                steps = np.array([(5.5 + j) / 12 for j in range(1, periods + 1)])
                out[:, t] = (level[:, None] * growth[:, None] ** steps[None, :] * index[:, ahead]).sum(axis=1)
            else:
                out[:, t] = level * index[:, ahead].sum(axis=1)
        elif model in ("mean", "seasonal", "seasonal_trend"):
            out[:, t] = periods * mean
        else:
            raise ValueError(f"model must be 'mean', 'seasonal' or 'seasonal_trend', got {model!r}")
    return out


def _predictive_inflation(n_errors: int, protect: int) -> float:
    """Factor on a sample deviation for the spread of the *next* error (estimation uncertainty).

    With m independent errors, the next one follows σ̂·sqrt(1 + 1/m)·t_{m−1} (the predictive
    distribution under a flat prior; Prak, Teunter & Syntetos, *EJOR* 256 (2017) 454–461, show
    that ignoring it lowers the service achieved). The t is matched by its variance ν/(ν − 2);
    overlapping P-period errors count as m = n / P independent ones.
    """
    m = max(n_errors / max(protect, 1), 4.0)
    nu = m - 1.0
    return float(np.sqrt((1.0 + 1.0 / m) * nu / (nu - 2.0)))


#: Grid of safety factors on which the pooled loss function is evaluated [standard deviations].
_K_GRID = np.linspace(-6.0, 15.0, 4201)

#: Fewest pooled standardised errors the ``"pooled"`` method needs; below it the normal factor is used.
MIN_POOLED_ERRORS = 30

#: Fewest errors behind the deviation that standardises an error for the pool. With m errors the
#: standardised error is roughly Student-t with m − 1 degrees of freedom, whose kurtosis is finite
#: only from 5 degrees on: below that its tail is the noise of the deviation, not of demand.
MIN_STANDARDISING_ERRORS = 6


def pooled_loss(z: np.ndarray, weights: np.ndarray, grid: np.ndarray = _K_GRID) -> np.ndarray:
    """Weighted empirical loss function G_w(k) = Σ w·(z − k)⁺ / Σ w on a grid of k.

    The distribution-free counterpart of the standard normal loss G(k) (Silver, Pyke & Thomas,
    4th ed., §6.7): with the normal's z it converges to G. Non-increasing in k.

    Args:
        z: standardised errors (any shape; non-finite entries are ignored).
        weights: weight of each error (same shape, ≥ 0).
        grid: safety factors k, increasing.

    Returns:
        G_w at every grid point.

    Example:
        >>> pooled_loss(np.array([-1.0, 0.0, 2.0]), np.array([1.0, 1.0, 2.0]), np.array([0.0, 1.0])).tolist()
        [1.0, 0.5]
    """
    ok = np.isfinite(z) & np.isfinite(weights) & (weights > 0)
    zs, ws = z[ok], weights[ok]
    order = np.argsort(zs)
    zs, ws = zs[order], ws[order]
    if zs.size == 0:
        return np.zeros_like(grid)
    wz = np.cumsum((ws * zs)[::-1])[::-1]  # Σ_{j ≥ i} w_j z_j
    ww = np.cumsum(ws[::-1])[::-1]  # Σ_{j ≥ i} w_j
    first = np.searchsorted(zs, grid, side="right")  # first error above k
    inside = first < zs.size
    at = np.minimum(first, zs.size - 1)
    loss: np.ndarray = np.where(inside, wz[at] - ww[at] * grid, 0.0) / ws.sum()
    return loss


def _factor_from_loss(goal: np.ndarray, loss: np.ndarray, grid: np.ndarray = _K_GRID) -> np.ndarray:
    """k with G_w(k) = goal, by linear interpolation of the non-increasing loss (clamped to the grid)."""
    factors: np.ndarray = np.interp(goal, loss[::-1], grid[::-1])
    return factors


def order_up_to_levels(
    demand: np.ndarray,
    fill_rate_target: float,
    *,
    lead_time: int = 1,
    review_period: int = 1,
    method: Method = "pooled",
    model: Forecaster = "seasonal_trend",
    window: int = 24,
    cover_periods: float = 2.0,
) -> np.ndarray:
    """Order-up-to level S_t of every item after each period t, from data up to t only.

    S_t = F_t + safety, F_t the forecast of demand over the protection interval P = L + R
    (:func:`demand_forecast`); the safety part comes from the forecast errors of P periods already
    observed in the trailing ``window`` (e_τ = actual demand of τ+1 … τ+P − F_τ, τ + P ≤ t),
    following Silver, Pyke & Thomas, 4th ed., §6.9.2 (σ of forecast errors over L + R, not of demand):

    * ``"pooled"``: S = F + ē + k·σ_e, k from the forecast-weighted loss of the standardised errors
      of all items observed in the window (:func:`pooled_loss`): G_w(k) = (1 − fr)·(F·R/P) / σ_e.
      Each error is standardised by the ē and σ_e of its own decision time (from at least
      :data:`MIN_STANDARDISING_ERRORS` errors). With fewer than
      :data:`MIN_POOLED_ERRORS` pooled errors it falls back to ``"normal"``.
    * ``"normal"``: S = F + ē + k·σ_e with G(k) = (1 − fr)·(F·R/P) / σ_e (ē the mean error, a bias
      correction; σ_e the sample deviation of the errors, widened for estimation error).
    * ``"empirical"``: S solves mean((F + e − S)⁺) = (1 − fr)·F·R/P over the item's own errors.
    * ``"naive"``: S = k · mean demand of the window (k = ``cover_periods``).

    With fewer than 3 observed errors the deviation of demand σ_d·sqrt(P) stands in (normal,
    pooled) and the empirical demand of P consecutive periods (empirical).

    Args:
        demand: demand [units/period], items × periods.
        fill_rate_target: fill-rate target fr [share, 0 < fr < 1] (unused by ``"naive"``).
        lead_time: replenishment lead time L [periods] (whole periods, ≥ 0).
        review_period: review interval R [periods] (≥ 1).
        method: ``"pooled"``, ``"normal"``, ``"empirical"`` or ``"naive"``.
        model: forecast model of :func:`demand_forecast`.
        window: trailing periods used for means and errors [periods] (≥ 2).
        cover_periods: k of the naive rule [periods].

    Returns:
        S [units], items × periods; column t is the level set at the end of period t.
    """
    if method not in ("pooled", "normal", "empirical", "naive"):
        raise ValueError(f"method must be 'pooled', 'normal', 'empirical' or 'naive', got {method!r}")
    n, horizon = demand.shape
    protect = lead_time + review_period
    levels = np.full((n, horizon), np.nan)
    if method == "naive":
        return cover_periods * trailing_means(demand, window)
    fcst = demand_forecast(demand, protect, model=model, window=window)
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(demand, axis=1)], axis=1)
    actual = np.full((n, horizon), np.nan)  # actual demand of τ+1 … τ+P
    actual[:, : horizon - protect] = csum[:, protect + 1 : horizon + 1] - csum[:, 1 : horizon + 1 - protect]
    errors = actual - fcst
    # ē and σ_e known at each decision time (NaN before 3 errors are observed)
    bias = np.full((n, horizon), np.nan)
    spread = np.full((n, horizon), np.nan)
    counts = np.zeros(horizon, dtype=int)
    for t in range(protect + 2, horizon):
        err = errors[:, max(0, t - protect - window + 1) : t - protect + 1]
        counts[t] = err.shape[1]
        bias[:, t] = err.mean(axis=1)
        spread[:, t] = err.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        standardised = np.where(spread > 0, (errors - bias) / spread, np.nan)
    # an error standardised by a deviation of only a few errors is mostly the noise of that estimate
    standardised[:, counts < MIN_STANDARDISING_ERRORS] = np.nan
    for t in range(1, horizon):
        f = fcst[:, t]
        per_cycle = np.maximum(f * review_period / protect, 0.0)
        hist = demand[:, max(0, t + 1 - window) : t + 1]
        if np.isnan(spread[:, t]).all():
            if method == "empirical":
                if hist.shape[1] < protect:
                    levels[:, t] = f
                    continue
                hs = np.concatenate([np.zeros((n, 1)), np.cumsum(hist, axis=1)], axis=1)
                samples = hs[:, protect:] - hs[:, :-protect]
                levels[:, t] = inventory.empirical_order_up_to_for_fill_rate(samples, fill_rate_target, per_cycle)
                continue
            sigma = (hist.std(axis=1, ddof=1) if hist.shape[1] > 1 else np.zeros(n)) * np.sqrt(protect)
            shift = np.zeros(n)
        elif method == "empirical":
            err = errors[:, max(0, t - protect - window + 1) : t - protect + 1]
            samples = np.maximum(f[:, None] + err, 0.0)
            levels[:, t] = inventory.empirical_order_up_to_for_fill_rate(samples, fill_rate_target, per_cycle)
            continue
        else:
            shift = bias[:, t]
            m = min(window, t - protect + 1)
            sigma = spread[:, t]
            first = max(0, t - protect - window + 1)
            pool = standardised[:, first : t - protect + 1]
            if method == "pooled" and np.isfinite(pool).sum() >= MIN_POOLED_ERRORS:
                loss = pooled_loss(pool, fcst[:, first : t - protect + 1])
                k = np.zeros(n)
                pos = (sigma > 0) & (per_cycle > 0)
                k[pos] = _factor_from_loss((1.0 - fill_rate_target) * per_cycle[pos] / sigma[pos], loss)
                levels[:, t] = np.maximum(f + shift + k * sigma, 0.0)
                continue
            sigma = sigma * _predictive_inflation(m, protect)
        k = np.zeros(n)
        pos = (sigma > 0) & (per_cycle > 0)
        if pos.any():
            k[pos] = inventory.safety_factor_for_fill_rate(fill_rate_target, sigma[pos], per_cycle[pos])
        levels[:, t] = np.maximum(f + shift + k * sigma, 0.0)
    return levels


def simulate(
    demand: np.ndarray,
    levels: np.ndarray,
    *,
    lead_time: int = 1,
    review_period: int = 1,
    start: int = 12,
    initial: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Replay demand under order-up-to levels (periodic review, backorders), measured from ``start``.

    Args:
        demand: demand [units/period], items × periods.
        levels: order-up-to level set at the end of each period [units], same shape.
        lead_time: L [periods]: an order placed at the end of t is on hand from period t + L + 1.
        review_period: R [periods]: orders may be placed at the end of t when t % R == 0.
        start: first measured period; on hand at its start = ``initial`` (default S_{start−1}).
        initial: on hand at the start of ``start`` [units].

    Returns:
        Per item: ``demand``, ``filled`` [units], ``cycles`` (periods with demand), ``cycles_ok``
        (of those, fully filled), ``avg_on_hand`` [units] (mean of the end-of-period on hand) and
        ``orders`` (count), all over the measured periods.
    """
    n, horizon = demand.shape
    if not 1 <= start < horizon:
        raise ValueError(f"start must be in [1, {horizon - 1}], got {start}")
    on_hand = np.nan_to_num(levels[:, start - 1]).copy() if initial is None else np.asarray(initial, float).copy()
    backlog = np.zeros(n)
    pipeline = np.zeros((n, horizon + lead_time + 2))  # arrivals by the period they are on hand
    total_d, filled, cycles, cycles_ok, stock_sum, orders = (np.zeros(n) for _ in range(6))
    for t in range(start, horizon):
        on_hand += pipeline[:, t]
        # serve old backorders first, then this period's demand
        pay = np.minimum(on_hand, backlog)
        on_hand -= pay
        backlog -= pay
        d = demand[:, t]
        served = np.minimum(on_hand, d)
        on_hand -= served
        backlog += d - served
        total_d += d
        filled += served
        has = d > 0
        cycles += has
        cycles_ok += has & (served >= d - 1e-9)
        stock_sum += on_hand
        if (t - start) % review_period == 0:
            position = on_hand + pipeline[:, t + 1 :].sum(axis=1) - backlog
            qty = np.maximum(np.nan_to_num(levels[:, t]) - position, 0.0)
            qty[qty < 1e-9] = 0.0
            pipeline[:, t + lead_time + 1] += qty
            orders += qty > 0
    measured = horizon - start
    return {
        "demand": total_d,
        "filled": filled,
        "cycles": cycles,
        "cycles_ok": cycles_ok,
        "avg_on_hand": stock_sum / measured,
        "orders": orders,
    }


def backtest_policy(
    history: pd.DataFrame,
    fill_rate_target: float,
    *,
    lead_time: int = 1,
    review_period: int = 1,
    method: Method = "pooled",
    model: Forecaster = "seasonal_trend",
    window: int = 24,
    warmup: int = 12,
    cover_periods: float = 2.0,
    unit_value: pd.Series | None = None,
) -> pd.DataFrame:
    """Replay a history under a replenishment policy and measure the fill rate and cycle service level
    achieved, stock and orders per item.

    Args:
        history: ``unique_id, ds, y`` with demand y [units/period]; every item in every period.
        fill_rate_target: fill-rate target fr [share].
        lead_time: L [periods].
        review_period: R [periods].
        method: ``"normal"``, ``"empirical"`` or ``"naive"``.
        window: trailing periods estimating demand [periods].
        warmup: periods of history before the measured replay starts [periods] (≥ 1).
        cover_periods: k of the naive rule [periods].
        unit_value: value of one unit per ``unique_id`` [currency/unit] (default 1).

    Returns:
        One row per item: ``unique_id, periods, demand, filled, fill_rate, cycles, cycles_ok, csl,
        avg_on_hand, avg_inventory_value, orders`` (``fill_rate`` and ``csl`` achieved, shares 0..1; units;
        currency).
    """
    values, ids = wide_demand(history)
    levels = order_up_to_levels(
        values,
        fill_rate_target,
        lead_time=lead_time,
        review_period=review_period,
        method=method,
        model=model,
        window=window,
        cover_periods=cover_periods,
    )
    return replay(values, ids, levels, lead_time=lead_time, review_period=review_period, warmup=warmup,
                  unit_value=unit_value)


def replay(
    values: np.ndarray,
    ids: pd.Index,
    levels: np.ndarray,
    *,
    lead_time: int = 1,
    review_period: int = 1,
    warmup: int = 12,
    unit_value: pd.Series | None = None,
) -> pd.DataFrame:
    """Replay demand under given order-up-to levels and measure each item (:func:`backtest_policy` once its
    levels are set).

    Args:
        values: demand [units/period], items × periods (:func:`wide_demand`).
        ids: the ``unique_id`` of each row of ``values``.
        levels: order-up-to level set at the end of each period [units], same shape
            (:func:`order_up_to_levels`).
        lead_time, review_period, warmup, unit_value: as in :func:`backtest_policy`.

    Returns:
        The columns of :func:`backtest_policy`.
    """
    sim = simulate(values, levels, lead_time=lead_time, review_period=review_period, start=warmup)
    out = pd.DataFrame({"unique_id": ids, "periods": values.shape[1] - warmup, **sim})
    with np.errstate(divide="ignore", invalid="ignore"):
        out["fill_rate"] = np.where(
            out["demand"] > 0, out["filled"] / out["demand"].where(out["demand"] > 0, 1), np.nan
        )
        out["csl"] = np.where(out["cycles"] > 0, out["cycles_ok"] / out["cycles"].where(out["cycles"] > 0, 1), np.nan)
    price = pd.Series(1.0, index=ids) if unit_value is None else unit_value.reindex(ids).fillna(0.0)
    out["avg_inventory_value"] = out["avg_on_hand"].to_numpy() * price.to_numpy(dtype=float)
    out["orders"] = out["orders"].astype(int)
    out["cycles"] = out["cycles"].astype(int)
    out["cycles_ok"] = out["cycles_ok"].astype(int)
    return out[RESULT_COLUMNS]


def summarise(result: pd.DataFrame) -> dict[str, float]:
    """Aggregate a backtest: quantity-weighted fill rate and cycle-weighted CSL achieved, inventory value, orders."""
    demand = float(result["demand"].sum())
    cycles = float(result["cycles"].sum())
    return {
        "items": float(len(result)),
        "fill_rate": float(result["filled"].sum()) / demand if demand > 0 else float("nan"),
        "csl": float(result["cycles_ok"].sum()) / cycles if cycles > 0 else float("nan"),
        "avg_inventory_value": float(result["avg_inventory_value"].sum()),
        "orders": float(result["orders"].sum()),
    }
