"""Conformal prediction intervals of the automatic engine, calibrated on its rolling-origin backtest.

Split-conformal on the backtest: the backtest errors of the chosen candidate, e = y − ŷ, divided by the
series' scale s_i (the in-sample error of seasonal naive, as in MASE), are pooled over the horizon steps and
the series of the same kind (sparse, ADI ≥ 1.32, or dense); a step factor f_k (the mean |e/s| of step k
relative to all steps, non-decreasing) widens the bounds with the horizon: ŷ + s_i·f_k·q_lo and
ŷ + s_i·f_k·q_hi, with q the quantiles of e/(s·f). q_lo is the (1 − l/100)/2 quantile; q_hi takes the rest of
the miss budget, since discrete demand often cannot miss below (see :func:`_quantile_row`). The errors of
window w are those of the candidate chosen on the other windows (no selection bias, see
:func:`sop_core.planning.forecast.auto.calibration_residuals`). Steps beyond ``bt_h`` widen with √(k / bt_h). The coverage is measured by
cross-fitting: the quantiles of all windows but one are checked on the remaining window; where it falls short
of a level, the final quantiles aim higher by the shortfall (:func:`corrected_targets`).

References: Angelopoulos & Bates (2023), Conformal prediction: a gentle introduction; Gibbs & Candès (2021),
Adaptive conformal inference under distribution shift; Stankeviciute et al. (2021), Conformal time-series
forecasting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd


def series_scale(full: pd.DataFrame, season: int = 12) -> pd.Series:
    """s_i: the in-sample error of the seasonal naive method, mean |y_t − y_{t−m}| (MASE's scale) [units].

    Series shorter than a season + 1, or with a zero seasonal error, take the mean absolute first
    difference, then the mean demand, then 1.
    """
    g = full.groupby("unique_id")["y"]
    seasonal = (full["y"] - g.shift(season)).abs().groupby(full["unique_id"]).mean()
    first = (full["y"] - g.shift(1)).abs().groupby(full["unique_id"]).mean()
    mean = g.mean()
    s = seasonal.where(seasonal > 0, first.reindex(seasonal.index))
    s = s.where(s > 0, mean.reindex(seasonal.index))
    return s.where(s > 0, 1.0).fillna(1.0)


#: Fewest scaled errors a quantile is taken from; smaller groups use the pool of all steps, then of all kinds.
MIN_POOL = 30


def _quantile_row(u: np.ndarray, levels: Sequence[int], targets: Mapping[int, float] | None = None) -> dict[str, float]:
    """Lower and upper quantiles of the normalised errors ``u`` per level.

    The lower bound is the (1 − l)/2 quantile. Demand is discrete and often 0, so fewer than (1 − l)/2 of
    the errors may fall below it (ties); the upper quantile takes the rest of the miss budget: its level is
    1 − ((1 − l) − p_low), with p_low the share of errors below the lower bound (Angelopoulos & Bates 2023,
    §2: any pair of bounds with the right joint miss rate on the calibration set is valid). ``targets``
    (level → the coverage aimed at on the calibration set [%], default the level itself) lets
    :func:`corrected_targets` aim higher where the cross-fitted coverage fell short.
    """
    row: dict[str, float] = {}
    for lv in levels:
        miss = 1 - (targets or {}).get(lv, lv) / 100
        lo = float(np.quantile(u, miss / 2))
        p_low = float(np.mean(u < lo - 1e-12))
        row[f"lo_{lv}"] = lo
        row[f"hi_{lv}"] = float(np.quantile(u, min(1.0, 1 - (miss - p_low))))
    return row


def _step_factors(grp: pd.DataFrame) -> pd.Series:
    """f_k: the mean absolute scaled error at horizon step k relative to all steps, made non-decreasing.

    Steps with fewer than :data:`MIN_POOL` errors take the mean of all steps (factor 1 before the cumulative
    maximum).
    """
    absz = grp["z"].abs()
    overall = float(absz.mean())
    by_step = absz.groupby(grp["step"]).agg(["mean", "size"]).sort_index()
    f = np.where(by_step["size"] >= MIN_POOL, by_step["mean"] / overall if overall > 0 else 1.0, 1.0)
    return pd.Series(np.maximum.accumulate(np.where(np.isfinite(f) & (f > 0), f, 1.0)), index=by_step.index.astype(int))


def _quantiles(res: pd.DataFrame, levels: Sequence[int],
               targets: Mapping[int, float] | None = None) -> dict[str, pd.DataFrame]:
    """Per kind ("*" = all series): a table step → lower and upper bounds in scaled units.

    The errors of all steps are pooled (a table per step would rest on a handful of months); the widening
    with the horizon comes from step factors f_k (:func:`_step_factors`): the quantiles are those of
    z / f_k, and the bounds of step k are f_k times them (normalised conformal prediction). A kind with
    fewer than :data:`MIN_POOL` errors is left out (it uses "*").
    """
    tables: dict[str, pd.DataFrame] = {}
    groups = [("*", res), *[(str(k), g) for k, g in res.groupby("kind", sort=True)]]
    for kind, grp in groups:
        if kind != "*" and len(grp) < MIN_POOL:
            continue
        factors = _step_factors(grp)
        u = grp["z"].to_numpy(dtype=float) / grp["step"].map(factors).to_numpy(dtype=float)
        row = _quantile_row(u, levels, targets)
        tables[kind] = pd.DataFrame({col: factors.to_numpy() * val for col, val in row.items()}, index=factors.index)
    return tables


def _apply_quantiles(frame: pd.DataFrame, tables: dict[str, pd.DataFrame], levels: Sequence[int]) -> pd.DataFrame:
    """Scaled-error quantiles ``qlo_<l>, qhi_<l>`` per row; steps past a table widen with √(k / K)."""
    out = frame.copy()
    kind = out["kind"].where(out["kind"].isin(list(tables)), "*").to_numpy()
    steps = out["step"].to_numpy(dtype=int)
    for lv in levels:
        out[f"qlo_{lv}"] = np.nan
        out[f"qhi_{lv}"] = np.nan
    for k, table in tables.items():
        mask = kind == k
        if not mask.any():
            continue
        kmax = int(table.index.max())
        st = steps[mask]
        base = np.minimum(st, kmax)
        widen = np.sqrt(np.maximum(st, kmax) / kmax)
        for lv in levels:
            out.loc[mask, f"qlo_{lv}"] = table[f"lo_{lv}"].reindex(base).to_numpy() * widen
            out.loc[mask, f"qhi_{lv}"] = table[f"hi_{lv}"].reindex(base).to_numpy() * widen
    return out


def conformal_bounds(
    frame: pd.DataFrame, residuals: pd.DataFrame, scale: pd.Series, kinds: pd.Series, levels: Sequence[int],
    targets: Mapping[int, float] | None = None,
) -> pd.DataFrame:
    """Add ``yhat_lo_<l>, yhat_hi_<l>`` to ``frame`` (``unique_id, ds, step, yhat``) from backtest residuals.

    Args:
        frame: forecasts with the horizon ``step`` (1 = first period).
        residuals: ``unique_id, step, y, yhat`` of the backtest of the chosen candidates.
        scale: s_i per series [units].
        kinds: "sparse" or "dense" per series.
        levels: interval coverages [%].
        targets: level → the coverage aimed at on the calibration errors [%] (default: the level).

    Returns:
        ``frame`` with nested, non-negative bounds (lo95 ≤ lo80 ≤ ŷ ≤ hi80 ≤ hi95).
    """
    out = frame.copy()
    out["kind"] = out["unique_id"].map(kinds).fillna("dense")
    s = out["unique_id"].map(scale).fillna(1.0).to_numpy(dtype=float)
    if residuals.empty:
        for lv in levels:
            out[f"yhat_lo_{lv}"] = out["yhat"]
            out[f"yhat_hi_{lv}"] = out["yhat"]
        return _nest(out.drop(columns="kind"), levels)
    res = residuals.assign(kind=residuals["unique_id"].map(kinds).fillna("dense"))
    res["z"] = (res["y"] - res["yhat"]).to_numpy(dtype=float) / res["unique_id"].map(scale).fillna(1.0).to_numpy(dtype=float)
    out = _apply_quantiles(out, _quantiles(res, levels, targets), levels)
    yhat = out["yhat"].to_numpy(dtype=float)
    for lv in levels:
        out[f"yhat_lo_{lv}"] = yhat + s * out.pop(f"qlo_{lv}").to_numpy(dtype=float)
        out[f"yhat_hi_{lv}"] = yhat + s * out.pop(f"qhi_{lv}").to_numpy(dtype=float)
    return _nest(out.drop(columns="kind"), levels)


def _nest(frame: pd.DataFrame, levels: Sequence[int]) -> pd.DataFrame:
    yhat = np.clip(frame["yhat"].to_numpy(dtype=float), 0.0, None)
    frame["yhat"] = yhat
    lo_prev, hi_prev = yhat, yhat
    for lv in sorted(levels):
        lo = np.clip(np.minimum(frame[f"yhat_lo_{lv}"].to_numpy(dtype=float), lo_prev), 0.0, None)
        hi = np.maximum(frame[f"yhat_hi_{lv}"].to_numpy(dtype=float), hi_prev)
        frame[f"yhat_lo_{lv}"], frame[f"yhat_hi_{lv}"] = lo, hi
        lo_prev, hi_prev = lo, hi
    return frame


def cross_fitted_coverage(
    residuals: pd.DataFrame, scale: pd.Series, kinds: pd.Series, levels: Sequence[int]
) -> dict[int, float | None]:
    """Coverage of the conformal intervals, each backtest window checked with the quantiles of the others.

    Returns:
        level → share of backtest actuals inside the interval [fraction]; None with fewer than 2 windows.
    """
    cut = sorted(residuals["cutoff"].unique()) if not residuals.empty else []
    if len(cut) < 2:
        return {int(lv): None for lv in levels}
    hits: dict[int, list[np.ndarray]] = {int(lv): [] for lv in levels}
    for c in cut:
        calib = residuals[residuals["cutoff"] != c]
        check = residuals[residuals["cutoff"] == c]
        b = conformal_bounds(check[["unique_id", "ds", "step", "yhat"]], calib, scale, kinds, levels)
        y = check["y"].to_numpy(dtype=float)
        for lv in levels:
            inside = (y >= b[f"yhat_lo_{lv}"].to_numpy() - 1e-9) & (y <= b[f"yhat_hi_{lv}"].to_numpy() + 1e-9)
            hits[int(lv)].append(inside)
    return {lv: round(float(np.concatenate(v).mean()), 4) for lv, v in hits.items()}


def corrected_targets(coverage: Mapping[int, float | None]) -> dict[int, float]:
    """The calibration coverage to aim at per level [%], corrected by the cross-fitted shortfall.

    Backtest windows are not exchangeable (demand drifts, months share shocks), so quantiles taken on some
    windows cover the next one less often than nominal. Where the cross-fitted coverage c of level l fell
    short, the final intervals aim at l + (l − c), at most halfway to 100 %: one step of adaptive conformal
    inference (Gibbs & Candès 2021, Adaptive conformal inference under distribution shift, NeurIPS, eq. 2
    with γ = 1). A level already met keeps its nominal value.
    """
    out: dict[int, float] = {}
    for lv, c in coverage.items():
        if c is None or 100 * c >= lv:
            out[int(lv)] = float(lv)
        else:
            out[int(lv)] = round(min(lv + (lv - 100 * c), (100 + lv) / 2), 2)
    return out
