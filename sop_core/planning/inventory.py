"""Inventory policy math: safety stock, reorder point, EOQ and ABC/XYZ classification.

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
  ch. 2 (ABC classification), ch. 4 (EOQ) and ch. 6 (safety stocks, periodic review).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

log = logging.getLogger(__name__)

Number = float | int | np.ndarray | pd.Series

#: Upper cumulative share of annual value for class A and class B (the rest is C).
ABC_LIMITS = (0.80, 0.95)
#: Upper coefficient of variation for class X and class Y (the rest is Z).
XYZ_LIMITS = (0.5, 1.0)


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
    return _wrap(norm.ppf(csl), service_level)


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


def demand_stats(history: pd.DataFrame, *, ddof: int = 1) -> pd.DataFrame:
    """Mean and standard deviation of demand per SKU from a long history.

    Args:
        history: ``sku``, ``period`` and ``quantity`` [units/period], one row per SKU and period
            (periods without a row are not filled: pass zeros explicitly).
        ddof: delta degrees of freedom of the standard deviation: 1 = sample (default), 0 = population.

    Returns:
        ``sku, demand_mean, demand_std, periods`` with mean and deviation in [units/period].
    """
    for col in ("sku", "quantity"):
        if col not in history.columns:
            raise ValueError(f"history: missing column {col}")
    grouped = history.groupby("sku")["quantity"]
    out = pd.DataFrame(
        {"demand_mean": grouped.mean(), "demand_std": grouped.std(ddof=ddof), "periods": grouped.size()}
    ).reset_index()
    out["demand_std"] = out["demand_std"].fillna(0.0)
    return out


def abc_xyz(
    frame: pd.DataFrame,
    abc_limits: tuple[float, float] = ABC_LIMITS,
    xyz_limits: tuple[float, float] = XYZ_LIMITS,
) -> pd.DataFrame:
    """ABC classification by annual value and XYZ classification by demand variability.

    ABC (Pareto; Silver, Pyke & Thomas, 4th ed., §2.3): SKUs are sorted by annual value, largest
    first (ties by SKU), and the cumulative share *including the SKU itself* decides:
    A when cum_share ≤ 80 %, B when ≤ 95 %, C otherwise. (So a single SKU holding more than 80 % of
    the value is B: the rule is applied as stated, without rounding up to the first crossing.)
    SKUs with no value are C.

    XYZ: coefficient of variation CV = σ_d / d̄ of the per-period demand; X when CV < 0.5,
    Y when CV < 1.0, Z otherwise (zero mean demand is Z). The deviation is taken as given in
    ``demand_std``; :func:`demand_stats` computes it as the *sample* standard deviation (ddof = 1),
    which is what this module assumes when it builds the input itself.

    Args:
        frame: one row per ``sku`` with ``annual_value`` [currency/year] (annual demand × unit cost or
            price), ``demand_mean`` d̄ [units/period] and ``demand_std`` σ_d [units/period].
        abc_limits: upper cumulative shares of class A and class B [share].
        xyz_limits: upper CV of class X and class Y [dimensionless].

    Returns:
        The input columns plus ``value_share``, ``cum_share`` [share], ``cv`` [dimensionless],
        ``abc``, ``xyz`` and ``class`` (e.g. "AX"), sorted by annual value, largest first.

    Raises:
        ValueError: when a column is missing or a value is negative.

    Example:
        >>> f = pd.DataFrame({"sku": ["a", "b", "c"], "annual_value": [70.0, 20.0, 10.0],
        ...                   "demand_mean": [10.0, 10.0, 0.0], "demand_std": [2.0, 10.0, 0.0]})
        >>> abc_xyz(f)["class"].tolist()
        ['AX', 'BZ', 'CZ']
    """
    missing = [c for c in ("sku", "annual_value", "demand_mean", "demand_std") if c not in frame.columns]
    if missing:
        raise ValueError(f"abc_xyz: missing column(s) {', '.join(missing)}")
    if (frame["annual_value"] < 0).any():
        raise ValueError("abc_xyz: annual_value must be ≥ 0")
    out = frame.sort_values(["annual_value", "sku"], ascending=[False, True], ignore_index=True).copy()
    total = float(out["annual_value"].sum())
    out["value_share"] = out["annual_value"] / total if total > 0 else 0.0
    out["cum_share"] = out["value_share"].cumsum()
    eps = 1e-9
    a_max, b_max = abc_limits
    out["abc"] = np.select(
        [
            (out["annual_value"] > 0) & (out["cum_share"] <= a_max + eps),
            (out["annual_value"] > 0) & (out["cum_share"] <= b_max + eps),
        ],
        ["A", "B"],
        default="C",
    )
    mean = out["demand_mean"].to_numpy(dtype=float)
    std = out["demand_std"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cv"] = np.where(mean > 0, std / np.where(mean > 0, mean, 1.0), np.inf)
    x_max, y_max = xyz_limits
    out["xyz"] = np.select([out["cv"] < x_max, out["cv"] < y_max], ["X", "Y"], default="Z")
    out["class"] = out["abc"] + out["xyz"]
    return out


def abc_xyz_matrix(classes: pd.DataFrame) -> pd.DataFrame:
    """Count of SKUs per ABC (rows A, B, C) and XYZ (columns X, Y, Z) class.

    Args:
        classes: output of :func:`abc_xyz` (columns ``abc`` and ``xyz``).

    Returns:
        A 3 × 3 frame of counts, index ``A, B, C`` and columns ``X, Y, Z`` (zeros included).
    """
    counts = pd.crosstab(classes["abc"], classes["xyz"]) if not classes.empty else pd.DataFrame()
    return counts.reindex(index=["A", "B", "C"], columns=["X", "Y", "Z"], fill_value=0).fillna(0).astype(int)


#: Default cycle service level (CSL) target per ABC × XYZ cell [share]: more value and steadier demand
#: earn a higher target (Silver, Pyke & Thomas, 4th ed., §2.3 and ch. 7 on "differentiated service by
#: class"; the numbers are company defaults, not textbook constants).
DEFAULT_SERVICE_TARGETS: dict[str, float] = {
    "AX": 0.98, "AY": 0.97, "AZ": 0.95,
    "BX": 0.97, "BY": 0.95, "BZ": 0.93,
    "CX": 0.95, "CY": 0.92, "CZ": 0.90,
}  # fmt: skip


def service_targets(classes: pd.DataFrame, targets: dict[str, float] | None = None) -> pd.Series:
    """Cycle service level target of every SKU from its ABC/XYZ cell.

    Args:
        classes: output of :func:`abc_xyz` (column ``class``, e.g. "AX").
        targets: CSL target per cell [share]; default :data:`DEFAULT_SERVICE_TARGETS`.

    Returns:
        CSL target per row of ``classes`` [share], same index.
    """
    table = DEFAULT_SERVICE_TARGETS if targets is None else targets
    return classes["class"].map(table).astype(float)


def service_target_matrix(targets: dict[str, float] | None = None) -> pd.DataFrame:
    """The default cycle service level targets as a 3 × 3 frame (rows A, B, C; columns X, Y, Z) [share]."""
    table = DEFAULT_SERVICE_TARGETS if targets is None else targets
    return pd.DataFrame({x: [table[a + x] for a in "ABC"] for x in "XYZ"}, index=list("ABC"))


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
    return _wrap(norm.pdf(z) - z * norm.sf(z), k)


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
        too_low = norm.pdf(mid) - mid * norm.sf(mid) > goal  # loss still too high → raise k
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
        return csum[periods:] - csum[:-periods]
    if method == "bootstrap":
        rng = np.random.default_rng(seed)
        return rng.choice(d, size=(n_samples, periods), replace=True).sum(axis=1)
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
    s = np.maximum(s, 0.0)
    return s if np.ndim(samples) > 1 else s.reshape(())


PROPOSAL_COLUMNS = [
    "sku", "trigger_period", "projected_closing", "reorder_point", "quantity", "supplier", "order_date",
    "due_date", "lead_time_days", "unit_cost", "order_value", "supplier_otif", "stockout_period", "arrives_late",
    "alternate_supplier", "alternate_otif", "alternate_lead_time_days", "lead_time_diff_days", "unit_cost_diff",
    "cost_diff", "switch_recommended", "reason",
]  # fmt: skip


def _round_up(qty: float, moq: float) -> float:
    return float(max(np.ceil(qty - 1e-9), moq if moq > 0 else 0.0))


def replenishment_proposals(
    projection: pd.DataFrame,
    items: pd.DataFrame,
    sources: pd.DataFrame,
    *,
    as_of: pd.Timestamp | str,
    otif_target: float = 0.90,
    in_full_target: float = 0.95,
    in_house_lead_time_days: float = 30.0,
) -> pd.DataFrame:
    """Proposed orders for items projected below their reorder point, with a sourcing alternative.

    Rule (reorder-point system, Silver, Pyke & Thomas, 4th ed., §6.2, on the projected available
    balance of MRP, Vollmann et al., ch. 7): the *trigger* is the first period whose projected
    closing stock (on hand + open orders − demand, no new orders) is below the reorder point ROP.
    The order is placed at the start of that period (not before ``as_of``) and is due one lead
    time later; quantity Q = max(order quantity, ROP + d̄ − closing) rounded up to whole units and
    to the supplier's MOQ. ``arrives_late`` when the due date falls after the start of the first
    projected stock-out period.

    Sourcing: the preferred supplier is priority 1. When its OTIF is below ``otif_target``, its
    in-full rate below ``in_full_target`` (it delivers short) or the order arrives late, the best
    alternate (lowest priority number > 1, then highest OTIF) is shown with its lead-time and cost
    difference; switching is recommended when the alternate's OTIF is higher and, for a late
    order, it arrives sooner.

    Args:
        projection: :func:`sop_core.planning.supply_math.projected_inventory` rows (``sku, period, closing,
            shortage, demand``).
        items: one row per ``sku`` with ``reorder_point`` [units], ``order_qty`` Q [units/order]
            and ``demand_mean`` d̄ [units/period].
        sources: supplier items ``sku, supplier, priority, lead_time_days`` [days], ``unit_cost``
            [currency/unit], ``moq`` [units], ``otif`` and ``in_full`` [share, NaN when unmeasured].
            Items without a source are made in house (supplier "in-house").
        as_of: planning date; no order is dated before it.
        otif_target: OTIF below which a supplier is unreliable [share].
        in_full_target: in-full rate below which a supplier delivers short [share].
        in_house_lead_time_days: lead time of in-house production [days].

    Returns:
        One row per proposed order (:data:`PROPOSAL_COLUMNS`), most urgent first.
    """
    today = pd.Timestamp(as_of)
    if projection.empty or items.empty:
        return pd.DataFrame(columns=PROPOSAL_COLUMNS)
    rop = items.set_index("sku")
    proj = projection.assign(period=pd.to_datetime(projection["period"]))
    proj = proj[proj["sku"].isin(rop.index)].sort_values(["sku", "period"])
    proj["rop"] = proj["sku"].map(rop["reorder_point"]).astype(float)
    below = proj[proj["closing"] < proj["rop"]].groupby("sku", sort=False).head(1).set_index("sku")
    short = proj[(proj["shortage"] > 0) | ((proj["closing"] <= 0) & (proj["demand"] > 0))]
    first_short = short.groupby("sku")["period"].min()
    src = sources.sort_values(["sku", "priority", "supplier"])
    rows = []
    for sku, trig in below.iterrows():
        options = src[src["sku"] == sku]
        pref = options.iloc[0] if len(options) else None
        lead = float(pref["lead_time_days"]) if pref is not None else in_house_lead_time_days
        moq = float(pref["moq"]) if pref is not None else 0.0
        need = float(trig["rop"]) + float(rop.at[sku, "demand_mean"]) - float(trig["closing"])
        base_q = float(np.nan_to_num(rop.at[sku, "order_qty"]))
        qty = _round_up(max(base_q, need), moq)
        order_date = max(today, trig["period"])
        due = order_date + pd.Timedelta(days=round(lead))
        stockout = first_short.get(sku, pd.NaT)
        late = bool(pd.notna(stockout) and due > stockout)
        cost = float(pref["unit_cost"]) if pref is not None else np.nan
        otif = float(pref["otif"]) if pref is not None else np.nan
        in_full = float(pref["in_full"]) if pref is not None else np.nan
        reasons = []
        if pref is not None and pd.notna(otif) and otif < otif_target:
            reasons.append(f"OTIF {100 * otif:.0f} % < {100 * otif_target:.0f} %")
        if pref is not None and pd.notna(in_full) and in_full < in_full_target:
            reasons.append(f"in full {100 * in_full:.0f} % < {100 * in_full_target:.0f} %")
        if late:
            reasons.append("arrives after the projected stock-out")
        row = {
            "sku": sku, "trigger_period": trig["period"], "projected_closing": float(trig["closing"]),
            "reorder_point": float(trig["rop"]), "quantity": qty,
            "supplier": pref["supplier"] if pref is not None else "in-house", "order_date": order_date,
            "due_date": due, "lead_time_days": lead, "unit_cost": cost, "order_value": qty * cost,
            "supplier_otif": otif, "stockout_period": stockout, "arrives_late": late,
            "alternate_supplier": None, "alternate_otif": np.nan, "alternate_lead_time_days": np.nan,
            "lead_time_diff_days": np.nan, "unit_cost_diff": np.nan, "cost_diff": np.nan,
            "switch_recommended": False, "reason": "; ".join(reasons),
        }  # fmt: skip
        alternates = options.iloc[1:].sort_values(["priority", "otif"], ascending=[True, False])
        if reasons and len(alternates):
            alt = alternates.iloc[0]
            alt_qty = _round_up(max(base_q, need), float(alt["moq"]))
            alt_lead = float(alt["lead_time_days"])
            alt_otif = float(alt["otif"])
            better = pd.isna(otif) or (pd.notna(alt_otif) and alt_otif > otif)
            sooner = alt_lead < lead
            row |= {
                "alternate_supplier": alt["supplier"], "alternate_otif": alt_otif,
                "alternate_lead_time_days": alt_lead, "lead_time_diff_days": alt_lead - lead,
                "unit_cost_diff": float(alt["unit_cost"]) - cost,
                "cost_diff": alt_qty * float(alt["unit_cost"]) - qty * cost,
                "switch_recommended": bool(better and (sooner or not late)),
            }  # fmt: skip
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=PROPOSAL_COLUMNS)
    out = pd.DataFrame(rows)[PROPOSAL_COLUMNS]
    return out.sort_values(["order_date", "arrives_late", "sku"], ascending=[True, False, True], ignore_index=True)
