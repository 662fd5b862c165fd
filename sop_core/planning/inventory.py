"""Inventory policy math: safety stock, reorder point, EOQ, order quantity and fill rate.

Pure, vectorised functions: every numeric argument may be a scalar, a NumPy array or a pandas
Series (broadcast against each other). A Series in the input gives a Series with its index; arrays
give arrays; scalars give a float. No database, no user interface.

Time units: demand mean and standard deviation are *per demand period* (e.g. per month) and the
lead time and review period are expressed in the same periods, so that L + R counts periods.

Two service measures, each under its own name (never a bare "service level"):

* **cycle service level** CSL: the probability of no stock-out in a replenishment cycle; it sets the
  safety factor z = Φ⁻¹(CSL) of :func:`safety_stock`, :func:`reorder_point` and
  :func:`empirical_safety_stock` (their argument ``service_level`` is a CSL).
* **fill rate** fr: the share of demand served from stock at once (Chopra & Meindl, 6th ed., §12.2);
  :func:`fill_rate_from_safety_stock`, :func:`safety_factor_for_fill_rate` and
  :func:`empirical_order_up_to_for_fill_rate`. The two differ: with fr = 1 − σ·G(z)/Q, a CSL of 95 %
  gives a fill rate above 95 % unless the demand per cycle Q is below 0.42·σ (σ over L + R).

References:

* Chopra & Meindl, *Supply Chain Management: Strategy, Planning, and Operation*, 6th ed. (2016),
  ch. 11 (economic order quantity) and ch. 12 (safety inventory, lead-time uncertainty).
* Silver, Pyke & Thomas, *Inventory and Production Management in Supply Chains*, 4th ed. (2017),
  ch. 4 (EOQ) and ch. 6 (safety stocks, periodic review).
"""

from __future__ import annotations

import logging
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from scipy import special

log = logging.getLogger(__name__)
#: √(2π), the normal density's constant (as scipy.stats.norm computes it).
_SQRT_2PI = np.sqrt(2 * np.pi)

#: A scalar, a NumPy array or a pandas Series (broadcast against each other).
Number: TypeAlias = float | int | np.ndarray | pd.Series


def _wrap(values: np.ndarray, *inputs: Any) -> Any:
    """Return ``values`` shaped like the inputs: Series (first Series' index), array or float."""
    for arg in inputs:
        if isinstance(arg, pd.Series):
            return pd.Series(np.broadcast_to(values, (len(arg),)).copy(), index=arg.index)
    arr = np.asarray(values, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


def _arr(x: Number) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _check_non_negative(name: str, values: np.ndarray) -> None:
    if np.any(values < 0):
        raise ValueError(f"{name} must be ≥ 0, got {values[values < 0].ravel()[0]:g}")


def z_value(service_level: Number) -> Any:
    """Safety factor z = Φ⁻¹(CSL) of the standard normal distribution, CSL the cycle service level.

    Args:
        service_level: cycle service level, the probability of no stock-out per replenishment cycle
            (CSL) [share, 0 < CSL < 1].

    Returns:
        z [standard deviations].

    Raises:
        ValueError: when a cycle service level is not strictly between 0 and 1.

    Example:
        >>> round(z_value(0.95), 4)
        1.6449
    """
    csl = _arr(service_level)
    if np.any((csl <= 0) | (csl >= 1)) or np.any(np.isnan(csl)):
        raise ValueError("service_level must be strictly between 0 and 1 (e.g. 0.95)")
    return _wrap(special.ndtri(csl), service_level)  # the standard normal quantile (scipy.stats.norm.ppf)


def safety_stock(
    service_level: Number,
    demand_mean: Number,
    demand_std: Number,
    lead_time_mean: Number,
    lead_time_std: Number = 0.0,
    review_period: Number = 0.0,
) -> Any:
    """Safety stock under demand and lead-time uncertainty (normal approximation).

    Formula: SS = z · sqrt((L + R) · σ_d² + d̄² · σ_L²), z = Φ⁻¹(CSL)
    (Chopra & Meindl, 6th ed., §12.4 "Impact of supply uncertainty on safety inventory", with the
    review period R of periodic review from Silver, Pyke & Thomas, 4th ed., §6.7). With σ_L = 0 and
    R = 0 it reduces to z · σ_d · sqrt(L).

    Args:
        service_level: cycle service level CSL [share, 0 < CSL < 1].
        demand_mean: average demand per period d̄ [units/period] (≥ 0).
        demand_std: standard deviation of demand per period σ_d [units/period] (≥ 0).
        lead_time_mean: average replenishment lead time L [periods] (≥ 0).
        lead_time_std: standard deviation of the lead time σ_L [periods] (≥ 0).
        review_period: review interval R of a periodic-review policy [periods] (0 = continuous review).

    Returns:
        Safety stock [units].

    Raises:
        ValueError: when the cycle service level is outside (0, 1) or any other argument is negative.

    Example:
        >>> round(safety_stock(0.90, 2500, 500, 7, 7))  # Chopra & Meindl §12.4, Dell
        22491
    """
    z = _arr(z_value(service_level))
    d, sd, lt, slt, r = (_arr(x) for x in (demand_mean, demand_std, lead_time_mean, lead_time_std, review_period))
    for name, values in (
        ("demand_mean", d),
        ("demand_std", sd),
        ("lead_time_mean", lt),
        ("lead_time_std", slt),
        ("review_period", r),
    ):
        _check_non_negative(name, values)
    sigma = np.sqrt((lt + r) * sd**2 + d**2 * slt**2)
    return _wrap(z * sigma, service_level, demand_mean, demand_std, lead_time_mean, lead_time_std, review_period)


def reorder_point(
    service_level: Number,
    demand_mean: Number,
    demand_std: Number,
    lead_time_mean: Number,
    lead_time_std: Number = 0.0,
    review_period: Number = 0.0,
) -> Any:
    """Reorder point (or order-up-to level when R > 0): expected demand over L + R plus safety stock.

    Formula: ROP = d̄ · (L + R) + SS, SS from :func:`safety_stock`
    (Chopra & Meindl, 6th ed., §12.2; Silver, Pyke & Thomas, 4th ed., §6.7).

    Args:
        service_level: cycle service level CSL [share, 0 < CSL < 1].
        demand_mean: average demand per period d̄ [units/period].
        demand_std: standard deviation of demand per period σ_d [units/period].
        lead_time_mean: average lead time L [periods].
        lead_time_std: standard deviation of the lead time σ_L [periods].
        review_period: review interval R [periods] (0 = continuous review).

    Returns:
        Reorder point [units].

    Example:
        >>> round(reorder_point(0.90, 2500, 500, 7, 7))  # 2,500 · 7 + 22,491
        39991
    """
    ss = _arr(safety_stock(service_level, demand_mean, demand_std, lead_time_mean, lead_time_std, review_period))
    cycle = _arr(demand_mean) * (_arr(lead_time_mean) + _arr(review_period))
    return _wrap(cycle + ss, service_level, demand_mean, demand_std, lead_time_mean, lead_time_std, review_period)


def eoq(annual_demand: Number, order_cost: Number, holding_cost_per_unit_year: Number) -> Any:
    """Economic order quantity (Harris–Wilson lot size).

    Formula: Q* = sqrt(2 · D · S / H) (Chopra & Meindl, 6th ed., §11.2, Example 11-1;
    Silver, Pyke & Thomas, 4th ed., §4.2).

    Args:
        annual_demand: demand per year D [units/year] (≥ 0).
        order_cost: fixed cost per order or set-up S [currency/order] (≥ 0).
        holding_cost_per_unit_year: cost to hold one unit for one year H [currency/unit/year] (> 0),
            usually holding rate h × unit cost C.

    Returns:
        Q* [units/order].

    Raises:
        ValueError: when D or S is negative or H is not positive.

    Example:
        >>> round(eoq(12_000, 4_000, 100))  # Chopra & Meindl Example 11-1 (Best Buy)
        980
    """
    d, s, h = _arr(annual_demand), _arr(order_cost), _arr(holding_cost_per_unit_year)
    _check_non_negative("annual_demand", d)
    _check_non_negative("order_cost", s)
    if np.any(h <= 0):
        raise ValueError("holding_cost_per_unit_year must be > 0 (holding rate × unit cost)")
    return _wrap(np.sqrt(2.0 * d * s / h), annual_demand, order_cost, holding_cost_per_unit_year)


def order_quantity(
    annual_demand: Number,
    order_cost: Number,
    holding_cost_per_unit_year: Number,
    moq: Number = 0.0,
    lot_size: Number = 1.0,
) -> Any:
    """Order quantity: EOQ raised to the minimum order quantity and rounded up to whole lots.

    Formula: Q = ⌈max(Q*, MOQ) / m⌉ · m with Q* = sqrt(2·D·S/H) (:func:`eoq`). Because the total
    cost D·S/Q + H·Q/2 is convex in Q, the best quantity allowed by a minimum is max(Q*, MOQ)
    (Silver, Pyke & Thomas, 4th ed., §4.4 "quantity constraints"); rounding up to the lot size m
    keeps the order a multiple of the supplier's pack.

    Args:
        annual_demand: demand per year D [units/year].
        order_cost: fixed cost per order S [currency/order].
        holding_cost_per_unit_year: H [currency/unit/year] (> 0).
        moq: minimum order quantity MOQ [units] (≥ 0).
        lot_size: pack or lot multiple m [units] (> 0; 1 = whole units).

    Returns:
        Order quantity [units/order].

    Example:
        >>> order_quantity(12_000, 4_000, 100, moq=1_200)  # EOQ 980 < MOQ
        1200.0
        >>> order_quantity(12_000, 4_000, 100, lot_size=250)  # 979.8 → 4 lots of 250
        1000.0
    """
    q = _arr(eoq(annual_demand, order_cost, holding_cost_per_unit_year))
    mins, lots = _arr(moq), _arr(lot_size)
    _check_non_negative("moq", mins)
    if np.any(lots <= 0):
        raise ValueError("lot_size must be > 0")
    raw = np.maximum(q, mins)
    out = np.ceil(raw / lots - 1e-9) * lots
    return _wrap(out, annual_demand, order_cost, holding_cost_per_unit_year, moq, lot_size)


def normal_loss(k: Number) -> Any:
    """Standard normal loss function G(k) = E[(Z − k)⁺] = φ(k) − k·(1 − Φ(k)).

    (Silver, Pyke & Thomas, 4th ed., Appendix II, G_u(k).)

    Example:
        >>> round(normal_loss(0.0), 4)
        0.3989
    """
    z = _arr(k)
    return _wrap(_loss(z), k)


def _loss(z: np.ndarray) -> np.ndarray:
    """G(z) = φ(z) − z·(1 − Φ(z)) from the formulas ``scipy.stats.norm`` evaluates (the same numbers, without its
    argument handling, which dominates in the bisection of :func:`safety_factor_for_fill_rate`)."""
    pdf = np.exp(-(z**2) / 2.0) / _SQRT_2PI
    loss: np.ndarray = pdf - z * special.ndtr(-z)
    return loss


def expected_shortage_per_cycle(safety_stock_units: Number, sigma: Number) -> Any:
    """Expected units short per replenishment cycle for normal demand over the protection interval.

    Formula: ESC = σ · G(ss / σ) = −ss·(1 − Φ(ss/σ)) + σ·φ(ss/σ)
    (Chopra & Meindl, 6th ed., §12.2, eq. 12.5).

    Args:
        safety_stock_units: safety stock ss [units].
        sigma: standard deviation of demand over the protection interval σ_L (or σ_{L+R}) [units] (> 0).

    Returns:
        ESC [units/cycle].
    """
    ss, s = _arr(safety_stock_units), _arr(sigma)
    if np.any(s <= 0):
        raise ValueError("sigma must be > 0")
    return _wrap(s * _arr(normal_loss(ss / s)), safety_stock_units, sigma)


def fill_rate_from_safety_stock(safety_stock_units: Number, sigma: Number, order_quantity_units: Number) -> Any:
    """Fill rate achieved by a safety stock under normal demand.

    Formula: fr = 1 − ESC / Q (Chopra & Meindl, 6th ed., §12.2, eq. 12.4; Example 12-3).

    Args:
        safety_stock_units: ss [units].
        sigma: standard deviation of demand over the protection interval [units] (> 0).
        order_quantity_units: lot size Q, the demand served per cycle [units] (> 0).

    Returns:
        Fill rate [share].

    Example:
        >>> round(fill_rate_from_safety_stock(1_000, 500 * 2 ** 0.5, 10_000), 4)  # Chopra Ex. 12-3
        0.9975
    """
    esc = _arr(expected_shortage_per_cycle(safety_stock_units, sigma))
    return _wrap(1.0 - esc / _arr(order_quantity_units), safety_stock_units, sigma, order_quantity_units)


def safety_factor_for_fill_rate(fill_rate: Number, sigma: Number, demand_per_cycle: Number) -> Any:
    """Safety factor k that gives a target fill rate under normal demand.

    Solves G(k) = (1 − fr) · Q / σ for k (Silver, Pyke & Thomas, 4th ed., §6.7, eq. 6.17 for
    (R, S) with Q = d̄·R; Chopra & Meindl, 6th ed., Example 12-4). G is strictly decreasing, so
    the root is found by bisection on [−4, 8].

    Args:
        fill_rate: target fill rate fr [share, 0 < fr < 1].
        sigma: standard deviation of demand over the protection interval σ [units] (> 0).
        demand_per_cycle: expected demand per replenishment cycle Q (d̄·R, or the lot size) [units] (≥ 0).

    Returns:
        k [standard deviations]; ss = k · σ.

    Example:
        >>> round(safety_factor_for_fill_rate(0.975, 500 * 2 ** 0.5, 10_000) * 500 * 2 ** 0.5)  # Ex. 12-4
        67
    """
    fr, s, q = _arr(fill_rate), _arr(sigma), _arr(demand_per_cycle)
    if np.any((fr <= 0) | (fr >= 1)):
        raise ValueError("fill_rate must be strictly between 0 and 1 (e.g. 0.95)")
    if np.any(s <= 0):
        raise ValueError("sigma must be > 0")
    goal = np.broadcast_to((1.0 - fr) * q / s, np.broadcast(fr, s, q).shape).astype(float)
    lo, hi = np.full(goal.shape, -4.0), np.full(goal.shape, 8.0)
    for _ in range(60):
        mid = (lo + hi) / 2
        too_low = _loss(mid) > goal  # loss still too high → raise k
        lo, hi = np.where(too_low, mid, lo), np.where(too_low, hi, mid)
    return _wrap((lo + hi) / 2, fill_rate, sigma, demand_per_cycle)


def lead_time_demand_samples(
    demand: np.ndarray | pd.Series | list[float],
    periods: int,
    *,
    method: str = "overlapping",
    n_samples: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """Empirical samples of demand over a protection interval of ``periods`` periods.

    ``method="overlapping"``: the sums of every run of ``periods`` consecutive periods of the
    history (keeps autocorrelation and seasonality; n − periods + 1 samples).
    ``method="bootstrap"``: ``n_samples`` sums of ``periods`` periods drawn with replacement
    (assumes independent periods; Willemain, Smart & Schwarz, *Int. J. Forecasting* 20 (2004)
    375–387, without their Markov zero/non-zero step).

    Args:
        demand: demand per period of one item [units/period], oldest first.
        periods: protection interval L + R [periods] (≥ 1, whole periods).
        method: ``"overlapping"`` or ``"bootstrap"``.
        n_samples: bootstrap sample count.
        seed: random seed of the bootstrap.

    Returns:
        Lead-time demand samples [units].

    Example:
        >>> lead_time_demand_samples([0, 3, 0, 0, 5], 2).tolist()
        [3.0, 3.0, 0.0, 5.0]
    """
    d = np.asarray(demand, dtype=float)
    if periods < 1:
        raise ValueError(f"periods must be ≥ 1, got {periods}")
    if d.size < periods:
        raise ValueError(f"need at least {periods} periods of history, got {d.size}")
    _check_non_negative("demand", d)
    if method == "overlapping":
        csum = np.concatenate([[0.0], np.cumsum(d)])
        sums: np.ndarray = csum[periods:] - csum[:-periods]
        return sums
    if method == "bootstrap":
        rng = np.random.default_rng(seed)
        drawn: np.ndarray = rng.choice(d, size=(n_samples, periods), replace=True).sum(axis=1)
        return drawn
    raise ValueError(f"method must be 'overlapping' or 'bootstrap', got {method!r}")


def empirical_safety_stock(samples: np.ndarray | list[float], service_level: float) -> float:
    """Safety stock from the empirical distribution of lead-time demand (no normality assumed).

    Formula: ROP = F̂⁻¹(CSL), the smallest sample x with F̂(x) ≥ CSL (the "inverted empirical
    CDF", Hyndman & Fan type 1 quantile); SS = ROP − mean(samples). Suited to intermittent
    items, whose lead-time demand is skewed with a mass at zero (Silver, Pyke & Thomas, 4th ed.,
    §6.10 and ch. 9 on slow movers; Syntetos, Babai & Gardner, *J. Business Research* 68 (2015)
    1746–1752, on empirical methods).

    Args:
        samples: lead-time demand samples [units] (:func:`lead_time_demand_samples`).
        service_level: cycle service level CSL [share, 0 < CSL < 1].

    Returns:
        Safety stock [units] (may be negative when the distribution is very skewed).

    Example:
        >>> empirical_safety_stock([0, 0, 0, 0, 0, 0, 2, 4, 4, 10], 0.9)  # ROP 4, mean 2
        2.0
    """
    x = np.sort(np.asarray(samples, dtype=float))
    if x.size == 0:
        raise ValueError("samples is empty")
    if not 0 < service_level < 1:
        raise ValueError("service_level must be strictly between 0 and 1 (e.g. 0.95)")
    rop = float(np.quantile(x, service_level, method="inverted_cdf"))
    return rop - float(x.mean())


def empirical_safety_stocks(samples: list[np.ndarray], service_levels: np.ndarray | list[float]) -> np.ndarray:
    """:func:`empirical_safety_stock` of many items at once: item i's ``samples[i]`` at ``service_levels[i]``
    (the same numbers, computed per group of items with as many samples and the same level).

    Example:
        >>> empirical_safety_stocks([np.array([0, 0, 0, 0, 0, 0, 2, 4, 4, 10.0]), np.array([1.0, 3.0])], [0.9, 0.5])
        array([ 2., -1.])
    """
    levels = np.asarray(service_levels, dtype=float)
    if len(samples) != levels.size:
        raise ValueError(f"{len(samples)} sample sets for {levels.size} service levels")
    if np.any((levels <= 0) | (levels >= 1)):
        raise ValueError("service_level must be strictly between 0 and 1 (e.g. 0.95)")
    out = np.full(levels.size, np.nan)
    groups: dict[tuple[int, float], list[int]] = {}
    for i, x in enumerate(samples):
        if np.size(x) == 0:
            raise ValueError("samples is empty")
        groups.setdefault((int(np.size(x)), float(levels[i])), []).append(i)
    for (_size, level), rows in groups.items():
        x = np.sort(np.asarray([samples[i] for i in rows], dtype=float), axis=1)
        rop = np.quantile(x, level, axis=1, method="inverted_cdf")
        out[rows] = rop - x.mean(axis=1)
    return out


def empirical_order_up_to_for_fill_rate(
    samples: np.ndarray, fill_rate: float, demand_per_cycle: float | np.ndarray
) -> np.ndarray:
    """Smallest level S whose empirical expected shortage per cycle meets a fill-rate target.

    Solves ESC(S) = mean((X − S)⁺) = (1 − fr)·Q over the empirical lead-time demand X
    (the distribution-free analogue of :func:`safety_factor_for_fill_rate`; Silver, Pyke & Thomas,
    4th ed., §6.7 with F̂ in place of the normal). ESC is piecewise linear between sample values,
    so S is interpolated exactly.

    Args:
        samples: lead-time demand samples, one row per item (2-D) or one item (1-D) [units].
        fill_rate: target fill rate fr [share].
        demand_per_cycle: expected demand per review cycle Q = d̄·R per item [units].

    Returns:
        S per item [units] (a 0-d array for 1-D input).

    Example:
        >>> float(empirical_order_up_to_for_fill_rate(np.array([0, 0, 2, 6.0]), 0.9, 4.0))  # ESC(S)=0.4
        4.4
    """
    x = np.sort(np.atleast_2d(np.asarray(samples, dtype=float)), axis=1)
    n, k = x.shape
    goal = np.broadcast_to((1.0 - fill_rate) * np.asarray(demand_per_cycle, dtype=float), (n,))
    # ESC at each sorted sample x_j: (Σ_{i>j} x_i − (k − 1 − j)·x_j) / k
    tail = np.cumsum(x[:, ::-1], axis=1)[:, ::-1]  # Σ_{i≥j} x_i
    after = np.concatenate([tail[:, 1:], np.zeros((n, 1))], axis=1)
    count_after = (k - 1 - np.arange(k))[None, :]
    esc = (after - count_after * x) / k
    ok = esc <= goal[:, None] + 1e-12
    j = np.argmax(ok, axis=1)  # first sample level meeting the goal (the last always does: ESC = 0)
    prev = np.clip(j - 1, 0, None)
    x1, x0 = x[np.arange(n), j], x[np.arange(n), prev]
    e1, e0 = esc[np.arange(n), j], esc[np.arange(n), prev]
    # below the smallest sample ESC grows by 1 per unit: ESC(S) = ESC(x_0) + (x_0 − S)
    below = j == 0
    slope = np.where(x1 > x0, (e0 - e1) / np.where(x1 > x0, x1 - x0, 1.0), 0.0)
    s = np.where(below, x1 - (goal - e1), np.where(slope > 0, x1 - (goal - e1) / np.where(slope > 0, slope, 1), x1))
    levels: np.ndarray = np.maximum(s, 0.0)
    return levels if np.ndim(samples) > 1 else levels.reshape(())
