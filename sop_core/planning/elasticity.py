"""Own-price elasticity of demand per product family, estimated from the monthly sales history.

Pure NumPy/pandas (no database, no user interface). Input rows: ``sku, family, period, quantity,
net_price, promo`` (one row per SKU and month; ``qty`` is accepted for ``quantity``; ``promo`` is 1 in
promotion months, else 0, and may be left out).

Model (constant-elasticity, log-log demand with fixed effects; Wooldridge, *Introductory Econometrics:
A Modern Approach*, 7th ed., §2.4 and §6.2 "models with logarithms": in log y = … + β·log x + …, β is the
elasticity of y with respect to x; §14.1 "fixed effects estimation": the within transformation)::

    log q[i,t] = a[i] + e·log p[i,t] + Σ_m s[m]·M_m(t) + d·promo[i,t] + b·τ(t) + u[i,t]

* q = units sold, p = net price per unit of SKU i in month t (currency/unit);
* a[i]: a fixed effect per SKU — removed by the *within transformation* (every variable minus its SKU
  mean), so the estimate uses only the price changes *of one SKU over time*: that dear SKUs sell fewer
  units than cheap ones does not enter it;
* M_m: month-of-year dummies (February … December; January is the base) for seasonality;
* promo: the promotion dummy (display, flyer and advertising effects beyond the price cut itself);
* τ(t): a linear time trend [years since the group's first month], common to the group;
* e: the own-price elasticity — demand changes by about e % per +1 % of price; it is what
  :class:`sop_core.planning.levers.Levers` takes as ``price_elasticity`` (demand × (1 + price change)^e).

The parameters are estimated by ordinary least squares on the demeaned data, pooled over the SKUs of a
family. By the Frisch–Waugh–Lovell theorem (Wooldridge §3.2) e = r'ỹ / r'r, where r and ỹ are the demeaned
log price and log quantity less their least-squares fit on the demeaned controls (normal equations with a
pseudo-inverse: collinear controls are harmless). A control column with no variation left after demeaning
(e.g. a family never on promotion) is dropped. The estimate over all families, each with its own controls, needs
no regression of its own: no SKU spans two families, so each family's controls are zero on the others' rows, and
r and ỹ are each family's own, side by side.

Standard error of e (``se_type``):

* ``"cluster(sku)"`` when the family has at least :data:`MIN_CLUSTERS` SKUs: cluster-robust by SKU
  (robust to heteroskedasticity and to any correlation of one SKU's errors over time), CR1 small-sample
  factor G/(G−1)·(N−1)/(N−K), K counting the absorbed SKU effects — the same figure as OLS with SKU
  dummies and ``cov_type="cluster"`` in statsmodels (Cameron & Miller, "A Practitioner's Guide to
  Cluster-Robust Inference", *J. Human Resources* 50(2), 2015, §II–III); t critical values with G − 1
  degrees of freedom;
* ``"HC1"`` with fewer SKUs (cluster-robust errors are unreliable with few clusters, Cameron & Miller
  §VI): heteroskedasticity-robust, factor N/(N−K) (MacKinnon & White 1985), N − K degrees of freedom.
  It does not allow for errors correlated over time, so it may be too small.

An estimate is **used** only when the data can support it; otherwise ``used`` is False, ``reason`` says
why, and ``value_used`` is the fallback: the estimate pooled over *all* families — one e common to all,
each family keeping its own month dummies, promotion effect and trend (so that one family's season does not
pass for another's price response) — when that one passes the same checks, else 0 (demand does not react to
price — the lever's old default).
Checks, in order:

1. at least :data:`MIN_OBSERVATIONS` rows after cleaning — rows with quantity ≤ 0 or net price ≤ 0 or
   missing are left out (the log is undefined; a month without sales says nothing about the price
   response in this model), and so are SKUs left with a single month (they carry no within-SKU
   information);
2. price variation within SKUs: the standard deviation of the log price left after the SKU means, the
   month dummies, the promotion dummy and the trend are removed must be at least
   :data:`MIN_PRICE_VARIATION` (0.001 ≈ 0.1 % price moves); with a price that only moves with
   promotions the promotion dummy absorbs it and nothing is left to learn e from;
3. e and its standard error are finite;
4. e is significantly negative: t = e / se below the one-sided 5 % critical value of Student's t
   (−1.83 with 10 clusters, −1.65 with many degrees of freedom).

Caveat: this is the association of price and demand in the history. Prices set *because* demand was
expected to be high or low (endogeneity) bias it; the fixed effects, seasonality and promotion controls
remove the most common such patterns, not all of them. For intermittent items, leaving out the months
without sales keeps only the months with demand; their estimates deserve less trust than their standard
errors suggest.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Fewest rows (SKU × month with quantity and price > 0) an estimate needs.
MIN_OBSERVATIONS = 24

#: Fewest SKUs for cluster-robust standard errors (fewer: HC1).
MIN_CLUSTERS = 10

#: Smallest standard deviation of the residual log price (after SKU means and controls) [log points].
MIN_PRICE_VARIATION = 1e-3

#: One-sided significance level of the test e < 0.
SIGNIFICANCE = 0.05

#: The value used when neither a family's nor the pooled estimate can be used (demand ignores price).
NO_RESPONSE = 0.0

#: Columns of :func:`family_elasticities`.
COLUMNS = ["family", "elasticity", "std_error", "n", "skus", "se_type", "used", "value_used", "reason"]


@dataclass(frozen=True)
class Estimate:
    """One log-log fixed-effects estimate.

    Attributes:
        elasticity: e, the own-price elasticity [dimensionless, % demand per % price]; NaN when not estimable.
        std_error: its standard error (``se_type``); NaN when not estimable.
        n: observations used (rows with quantity and price > 0, of SKUs with at least two of them).
        skus: SKUs those rows belong to (the number of clusters).
        se_type: ``"cluster(sku)"``, ``"HC1"`` or ``""`` (not estimated).
        t: e / se.
        critical: the one-sided critical value t must fall below (negative).
        price_variation: standard deviation of the log price left after SKU means and controls.
        problem: why the estimate cannot be used; None when it can.
    """

    elasticity: float
    std_error: float
    n: int
    skus: int
    se_type: str
    t: float
    critical: float
    price_variation: float
    problem: str | None

    @property
    def usable(self) -> bool:
        return self.problem is None


def _clean(rows: pd.DataFrame, keep: str | None = None) -> pd.DataFrame:
    """The rows the model can use: quantity and price > 0 and finite, SKUs with at least two of them."""
    frame = rows.rename(columns={"qty": "quantity"}) if "quantity" not in rows.columns else rows
    missing = [c for c in ("sku", "period", "quantity", "net_price") if c not in frame.columns]
    if missing:
        raise ValueError(f"sales rows lack the column(s) {', '.join(missing)}")
    qty = pd.to_numeric(frame["quantity"], errors="coerce")
    price = pd.to_numeric(frame["net_price"], errors="coerce")
    promo = (pd.to_numeric(frame["promo"], errors="coerce").fillna(0.0) if "promo" in frame.columns
             else pd.Series(0.0, index=frame.index))
    out = pd.DataFrame({
        "sku": frame["sku"].astype(str),
        "period": pd.to_datetime(frame["period"]),
        "quantity": qty,
        "net_price": price,
        "promo": (promo > 0).astype(float),
        **({keep: frame[keep].astype(str)} if keep else {}),
    })
    ok = np.isfinite(out["quantity"]) & np.isfinite(out["net_price"]) & (out["quantity"] > 0) & (out["net_price"] > 0)
    out = out[ok]
    counts = out.groupby("sku")["sku"].transform("size")
    return out[counts >= 2].reset_index(drop=True)


def _demean(values: np.ndarray, codes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each column minus its mean over the rows of the same code (the within transformation)."""
    sums = np.stack([np.bincount(codes, weights=col, minlength=len(counts)) for col in values.T], axis=1)
    within: np.ndarray = values - (sums / counts[:, None])[codes]
    return within


def _design(data: pd.DataFrame, trend: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Demeaned log quantity, log price and controls, and the SKU codes (cluster ids).

    The controls are the month dummies (Feb … Dec), promo and the trend [years]."""
    sku, names = pd.factorize(data["sku"])
    counts = np.bincount(sku, minlength=len(names)).astype(float)
    period = data["period"]
    month = period.dt.month.to_numpy()
    base = [(month == m).astype(float) for m in range(2, 13)] + [data["promo"].to_numpy(dtype=float)]
    if trend:
        first = period.min()
        base.append(((period.dt.year - first.year) * 12 + month - first.month).to_numpy() / 12.0)
    within = _demean(np.column_stack([np.log(data["quantity"].to_numpy()), np.log(data["net_price"].to_numpy()),
                                      *base]), sku, counts)
    z = within[:, 2:]
    z = z[:, z.std(axis=0) > 1e-12]
    return within[:, 0], within[:, 1], z, sku


@dataclass(frozen=True)
class _Left:
    """A pool's log price ``r`` and log quantity ``y`` left after the SKU means and the controls (per row), its SKU
    codes, rows ``n``, SKUs ``g`` and the rank of its controls."""

    r: np.ndarray
    y: np.ndarray
    sku: np.ndarray
    n: int
    g: int
    rank: int


def _left(data: pd.DataFrame, trend: bool) -> _Left:
    """:class:`_Left` of one pool with its own controls (Frisch–Waugh–Lovell)."""
    y, x, z, sku = _design(data, trend)
    (r, y_left), rank = _partial_out(z, np.column_stack([x, y]).T)
    return _Left(r, y_left, sku, len(data), int(sku.max()) + 1 if len(sku) else 0, rank)


def _pooled(parts: list[_Left]) -> _Left:
    """The pools side by side, each with its own controls: their controls share no row (SKUs never span two
    pools), so what the controls leave of a row is what its own pool's leave, and the ranks add up."""
    offsets = np.cumsum([0] + [p.g for p in parts[:-1]])
    return _Left(
        np.concatenate([p.r for p in parts]), np.concatenate([p.y for p in parts]),
        np.concatenate([p.sku + o for p, o in zip(parts, offsets, strict=True)]),
        sum(p.n for p in parts), sum(p.g for p in parts), sum(p.rank for p in parts),
    )


def _partial_out(z: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, int]:
    """The rows of ``columns`` (one variable per row) less their least-squares fit on the columns of ``z``,
    and the rank of ``z`` (normal equations on the column-scaled Gram matrix, pseudo-inverse by eigenvalues, so
    collinear controls are harmless)."""
    if z.shape[1] == 0:
        return columns, 0
    zs = z / np.sqrt((z * z).sum(axis=0))
    values, vectors = np.linalg.eigh(zs.T @ zs)
    keep = values > values.max() * 1e-10
    inverse = (vectors[:, keep] / values[keep]) @ vectors[:, keep].T
    return columns - (zs @ (inverse @ (zs.T @ columns.T))).T, int(keep.sum())


def _t_critical(df: int) -> float:
    """The one-sided critical value of Student's t with ``df`` degrees of freedom at :data:`SIGNIFICANCE`."""
    from scipy.special import stdtrit

    return float(stdtrit(df, SIGNIFICANCE))


def estimate(rows: pd.DataFrame, *, trend: bool = True, controls_by: str | None = None) -> Estimate:
    """Estimate e over all the given rows (one pool: a family, or every family).

    Args:
        rows: ``sku, period, quantity, net_price[, promo]`` — one row per SKU and month.
        trend: include the linear time trend τ (years) as a control.
        controls_by: a column of ``rows`` (e.g. ``"family"``): the month dummies, promo and trend are
            estimated per value of it, e is common (SKUs must not span two values).

    Returns:
        The :class:`Estimate`; ``problem`` says why it cannot be used (checks 1–4 of the module docstring).

    Example:
        >>> t = pd.date_range("2024-01-01", periods=24, freq="MS")
        >>> p = np.r_[np.full(6, 10.0), np.full(12, 11.0), np.full(6, 12.0)]  # two price rises
        >>> rows = pd.DataFrame({"sku": "A", "period": t, "net_price": p, "quantity": 500 * p ** -2.0})
        >>> est = estimate(pd.concat([rows, rows.assign(sku="B", quantity=rows["quantity"] * 3)]))
        >>> round(est.elasticity, 6), est.n, est.se_type, est.usable
        (-2.0, 48, 'HC1', True)
    """
    data = _clean(rows, controls_by)
    if len(data) < MIN_OBSERVATIONS:
        return _too_few(data)
    if controls_by is None:
        return _estimate(_left(data, trend))
    return _estimate(_pooled([_left(group, trend) for _, group in data.groupby(controls_by, sort=True)]))


def _too_few(data: pd.DataFrame) -> Estimate:
    n, nan = len(data), math.nan
    return Estimate(nan, nan, n, int(data["sku"].nunique()), "", nan, nan, nan,
                    f"only {n} observations with quantity and price > 0 (at least {MIN_OBSERVATIONS} needed)")


def _estimate(left: _Left) -> Estimate:
    """e = r'ỹ / r'r and its standard error from what the SKU means and controls leave (checks 2–4)."""
    n, g, nan = left.n, left.g, math.nan
    r, y_left, sku = left.r, left.y, left.sku
    rr = float(r @ r)
    variation = math.sqrt(rr / n)
    if variation < MIN_PRICE_VARIATION:
        return Estimate(nan, nan, n, g, "", nan, nan, variation,
                        "no price variation within a SKU once promotions, season and trend are accounted for")
    k = left.rank + 1 + g  # e, the controls and the absorbed SKU effects
    if n - k < 1:
        return Estimate(nan, nan, n, g, "", nan, nan, variation,
                        f"{n} observations are too few for {k} parameters (SKU effects and controls)")
    e = float(r @ y_left) / rr
    u = y_left - e * r  # the residuals of the full regression
    # sandwich variance of e: the first row of (X'X)⁻¹X' is r'/r'r, so Var(e) = Σ_c (Σ_{i∈c} r_i u_i)² / (r'r)²
    score = r * u / rr
    if g >= MIN_CLUSTERS:
        per_sku = np.bincount(sku, weights=score, minlength=g)
        var = float(per_sku @ per_sku) * (g / (g - 1)) * ((n - 1) / (n - k))
        se_type, dof = "cluster(sku)", g - 1
    else:
        var = float(score @ score) * (n / (n - k))
        se_type, dof = "HC1", n - k
    se = math.sqrt(max(var, 0.0))
    t = e / se if se > 0 else (-math.inf if e < 0 else math.inf if e > 0 else nan)
    critical = _t_critical(dof)
    problem = None
    if not (math.isfinite(e) and math.isfinite(se)):
        problem = "the estimate is not finite"
    elif not t < critical:
        problem = (f"the estimate {e:+.2f} (± {se:.2f}) is not significantly negative "
                   f"(t = {t:.2f}, needs < {critical:.2f}, one-sided 5 %)")
    return Estimate(e, se, n, g, se_type, t, critical, variation, problem)


def family_elasticities(
    rows: pd.DataFrame, families: Iterable[str] | None = None, *, trend: bool = True
) -> pd.DataFrame:
    """e per product family, with the fallback where the data cannot support one.

    Args:
        rows: ``sku, family, period, quantity, net_price[, promo]`` — one row per SKU and month.
        families: families to report even without any rows (e.g. every family of the product table);
            default: the families in ``rows``.
        trend: include the linear time trend τ (years) as a control.

    Returns:
        One row per family (sorted): ``family``, ``elasticity`` (e, NaN when not estimable), ``std_error``,
        ``n`` (observations used), ``skus``, ``se_type``, ``used`` (bool), ``value_used`` (e when used,
        else the fallback) and ``reason`` (plain text). ``attrs["pooled"]`` holds the estimate over all
        families as a dict (``elasticity, std_error, n, skus, se_type, used, reason``).
    """
    if "family" not in rows.columns:
        raise ValueError("sales rows lack the column family")
    names = sorted(set(rows["family"].astype(str)) | set(map(str, families or ())))
    data = _clean(rows, "family")
    # each family's log price and quantity left after its own SKU means and controls: its own estimate, and (side
    # by side) the pooled one
    left = {str(fam): _left(group, trend) for fam, group in data.groupby("family", sort=True)}
    pooled = _too_few(data) if len(data) < MIN_OBSERVATIONS else _estimate(_pooled(list(left.values())))
    if pooled.usable:
        fallback, fallback_text = pooled.elasticity, f"the estimate over all families ({pooled.elasticity:+.2f}) is used"
    else:
        fallback, fallback_text = NO_RESPONSE, f"{NO_RESPONSE:g} is used (demand does not react to price)"
    out = []
    for fam in names:
        own = data[data["family"] == fam] if fam not in left or left[fam].n < MIN_OBSERVATIONS else None
        est = _too_few(own) if own is not None else _estimate(left[fam])
        if est.usable:
            value, reason = est.elasticity, f"estimated (t = {est.t:.1f})"
        else:
            value, reason = fallback, f"{est.problem}; {fallback_text}"
        out.append({"family": fam, "elasticity": est.elasticity, "std_error": est.std_error, "n": est.n,
                    "skus": est.skus, "se_type": est.se_type, "used": est.usable, "value_used": value,
                    "reason": reason})
    frame = pd.DataFrame(out, columns=COLUMNS).astype({"n": int, "skus": int, "used": bool})
    frame.attrs["pooled"] = {
        "elasticity": pooled.elasticity, "std_error": pooled.std_error, "n": pooled.n, "skus": pooled.skus,
        "se_type": pooled.se_type, "used": pooled.usable,
        "reason": f"estimated (t = {pooled.t:.1f})" if pooled.usable else str(pooled.problem),
    }
    return frame
