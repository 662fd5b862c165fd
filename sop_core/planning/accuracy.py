"""Forecast accuracy metrics (vectorised numpy) and a grouped accuracy table.

``y`` are actuals and ``yhat`` forecasts [units], same shape; metrics reduce along ``axis`` (default: the last
axis, so a 2-D array of series × periods gives one value per series). Ratios are returned as fractions
(0.12 = 12 %).

Conventions (written down because users check them by hand):

* Pairs where ``y`` or ``yhat`` is NaN are ignored (e.g. periods without actuals yet).
* Zero actuals: MAPE skips periods with y = 0 (its term is undefined); sMAPE counts a period with
  y = ŷ = 0 as 0. For the ratio metrics (WMAPE, bias, MASE, tracking signal) a zero numerator gives 0
  (a perfect forecast of zero demand is perfect) and otherwise a zero denominator gives NaN.
* Nothing left after dropping NaN pairs gives NaN.

Formulas (DESIGN.md; Hyndman & Athanasopoulos, FPP3 §5.8; Hyndman & Koehler 2006):

* MAPE = mean(|y − ŷ| / |y|) over y ≠ 0
* WMAPE = Σ|y − ŷ| / Σ|y|
* sMAPE = mean(2·|y − ŷ| / (|y| + |ŷ|))  (range 0 … 2)
* MASE = mean|y − ŷ| / mean|y_t − y_{t−m}| (denominator over the training data, m = season length)
* bias = Σ(ŷ − y) / Σy  (> 0: over-forecast)
* tracking signal = Σ(y − ŷ) / MAD, MAD = mean|y − ŷ|  (> 0: under-forecast; alarm beyond ±4)
* FVA = accuracy(consensus) − accuracy(statistical) with accuracy = 1 − WMAPE, i.e.
  WMAPE(statistical) − WMAPE(consensus)  (> 0: the planners' changes added value; Gilliland 2013)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

ArrayLike = npt.ArrayLike
FloatOrArray = float | np.ndarray


def _pair(y: ArrayLike, yhat: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = np.asarray(y, dtype=float)
    f = np.asarray(yhat, dtype=float)
    if a.shape != f.shape:
        raise ValueError(f"y and yhat must have the same shape, got {a.shape} and {f.shape}")
    ok = ~(np.isnan(a) | np.isnan(f))
    return np.where(ok, a, 0.0), np.where(ok, f, 0.0), ok


def _out(value: np.ndarray) -> FloatOrArray:
    return float(value) if np.ndim(value) == 0 else value


def _ratio(num: np.ndarray, den: np.ndarray, valid: np.ndarray | np.bool_) -> np.ndarray:
    """num / den with the zero conventions: num = 0 → 0, den = 0 → NaN, not valid → NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(num == 0, 0.0, np.where(den == 0, np.nan, num / np.where(den == 0, 1.0, den)))
    return np.where(valid, out, np.nan)


def mape(y: ArrayLike, yhat: ArrayLike, axis: int = -1) -> FloatOrArray:
    """Mean absolute percentage error, as a fraction: mean(|y − ŷ| / |y|) over periods with y ≠ 0.

    Args:
        y: actual demand [units].
        yhat: forecast [units].
        axis: axis to reduce.

    Example:
        >>> mape([100, 200, 0], [110, 150, 5])  # (0.10 + 0.25) / 2; the y = 0 period is skipped
        0.175
    """
    a, f, ok = _pair(y, yhat)
    use = ok & (a != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(use, np.abs(a - f) / np.where(use, np.abs(a), 1.0), 0.0)
        n = use.sum(axis=axis)
        return _out(np.where(n > 0, terms.sum(axis=axis) / np.maximum(n, 1), np.nan))


def wmape(y: ArrayLike, yhat: ArrayLike, axis: int = -1) -> FloatOrArray:
    """Weighted MAPE, as a fraction: Σ|y − ŷ| / Σ|y|.

    Args:
        y: actual demand [units].
        yhat: forecast [units].
        axis: axis to reduce.

    Example:
        >>> wmape([100, 200, 0], [110, 150, 5])  # (10 + 50 + 5) / 300
        0.21666666666666667
    """
    a, f, ok = _pair(y, yhat)
    num = np.abs(a - f).sum(axis=axis)
    den = np.abs(a).sum(axis=axis)
    return _out(_ratio(num, den, ok.any(axis=axis)))


def smape(y: ArrayLike, yhat: ArrayLike, axis: int = -1) -> FloatOrArray:
    """Symmetric MAPE, as a fraction in [0, 2]: mean(2|y − ŷ| / (|y| + |ŷ|)); a 0/0 period counts 0.

    Args:
        y: actual demand [units].
        yhat: forecast [units].
        axis: axis to reduce.

    Example:
        >>> round(smape([100, 0], [300, 0]), 6)  # (2·200/400 + 0) / 2
        0.5
    """
    a, f, ok = _pair(y, yhat)
    den = np.abs(a) + np.abs(f)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(den > 0, 2.0 * np.abs(a - f) / np.where(den > 0, den, 1.0), 0.0)
    n = ok.sum(axis=axis)
    return _out(np.where(n > 0, np.where(ok, terms, 0.0).sum(axis=axis) / np.maximum(n, 1), np.nan))


def mase(y: ArrayLike, yhat: ArrayLike, y_train: ArrayLike, season: int = 1, axis: int = -1) -> FloatOrArray:
    """Mean absolute scaled error: mean|y − ŷ| / mean|y_t − y_{t−m}| over the training data.

    Args:
        y: actual demand in the evaluation periods [units].
        yhat: forecast for those periods [units].
        y_train: the history the forecast was made from [units], oldest first; same leading shape as ``y``.
        season: season length m [periods] of the naive benchmark (1 = naive, 12 = seasonal naive, monthly).
        axis: axis to reduce (also the time axis of ``y_train``).

    Raises:
        ValueError: ``y_train`` has no more than ``season`` periods.

    Example:
        >>> round(mase([12, 14], [11, 16], y_train=[10, 12, 11, 13], season=1), 12)  # mean(1, 2) / mean(2, 1, 2)
        0.9
    """
    a, f, ok = _pair(y, yhat)
    train = np.moveaxis(np.asarray(y_train, dtype=float), axis, -1)
    if train.shape[-1] <= season:
        raise ValueError(f"mase: y_train needs more than season = {season} periods, got {train.shape[-1]}")
    diffs = np.abs(train[..., season:] - train[..., :-season])
    scale = np.nanmean(diffs, axis=-1)
    n = ok.sum(axis=axis)
    mae = np.where(n > 0, np.abs(a - f).sum(axis=axis) / np.maximum(n, 1), np.nan)
    return _out(_ratio(mae, scale, n > 0))


def bias(y: ArrayLike, yhat: ArrayLike, axis: int = -1) -> FloatOrArray:
    """Relative bias, as a fraction: Σ(ŷ − y) / Σy (> 0 means over-forecasting).

    Args:
        y: actual demand [units].
        yhat: forecast [units].
        axis: axis to reduce.

    Example:
        >>> bias([100, 200, 0], [110, 150, 5])  # (10 − 50 + 5) / 300
        -0.11666666666666667
    """
    a, f, ok = _pair(y, yhat)
    return _out(_ratio((f - a).sum(axis=axis), a.sum(axis=axis), ok.any(axis=axis)))


def tracking_signal(y: ArrayLike, yhat: ArrayLike, axis: int = -1) -> FloatOrArray:
    """Tracking signal: Σ(y − ŷ) / MAD with MAD = mean|y − ŷ| [number of MADs].

    A persistent bias drives it beyond ±4 (a common alarm limit); > 0 means under-forecasting.

    Args:
        y: actual demand [units].
        yhat: forecast [units].
        axis: axis to reduce.

    Example:
        >>> round(tracking_signal([100, 200, 0], [110, 150, 5]), 6)  # (−10 + 50 − 5) / (65 / 3) = 105 / 65
        1.615385
    """
    a, f, ok = _pair(y, yhat)
    n = ok.sum(axis=axis)
    mad = np.where(n > 0, np.abs(a - f).sum(axis=axis) / np.maximum(n, 1), np.nan)
    return _out(_ratio((a - f).sum(axis=axis), mad, n > 0))


def fva(y: ArrayLike, yhat_consensus: ArrayLike, yhat_statistical: ArrayLike, axis: int = -1) -> FloatOrArray:
    """Forecast value added of the consensus over the statistical forecast, in WMAPE points (a fraction).

    FVA = accuracy(consensus) − accuracy(statistical), accuracy = 1 − WMAPE
    = WMAPE(statistical) − WMAPE(consensus). Reference: Gilliland, M. (2013), FVA: a reality check on
    forecasting practices, Foresight 29.

    Args:
        y: actual demand [units].
        yhat_consensus: consensus (overridden) forecast [units].
        yhat_statistical: statistical forecast [units].
        axis: axis to reduce.

    Example:
        >>> round(fva([100, 200], [105, 190], [120, 150]), 6)  # 70/300 − 15/300
        0.183333
    """
    return _out(np.asarray(wmape(y, yhat_statistical, axis)) - np.asarray(wmape(y, yhat_consensus, axis)))


def accuracy_table(
    frame: pd.DataFrame,
    by: Sequence[str] = ("unique_id",),
    *,
    target_col: str = "y",
    forecast_col: str = "yhat",
) -> pd.DataFrame:
    """WMAPE, MAPE, sMAPE, bias and tracking signal per group of a long frame of actuals and forecasts.

    Sums are grouped (vectorised), with the same conventions as the single-series functions.

    Args:
        frame: long frame with the ``by`` columns, actuals ``target_col`` and forecasts ``forecast_col`` [units].
        by: grouping columns (e.g. ``("unique_id",)`` or ``("unique_id", "cutoff")``); empty = one overall row.
        target_col: actuals column [units].
        forecast_col: forecast column [units].

    Returns:
        DataFrame[*by, n, actual, forecast, wmape, mape, smape, bias, tracking_signal]; ``actual`` and
        ``forecast`` are sums [units], ``n`` the number of periods with both values.
    """
    a, f, ok = _pair(frame[target_col].to_numpy(), frame[forecast_col].to_numpy())
    err = np.abs(a - f)
    nz = ok & (a != 0)
    den = np.abs(a) + np.abs(f)
    with np.errstate(divide="ignore", invalid="ignore"):
        ape = np.where(nz, err / np.where(nz, np.abs(a), 1.0), 0.0)
        sape = np.where(ok & (den > 0), 2.0 * err / np.where(den > 0, den, 1.0), 0.0)
    work = pd.DataFrame(
        {"n": ok.astype(int), "actual": a, "forecast": f, "abs_err": err, "abs_y": np.abs(a),
         "err": a - f, "ape": ape, "n_nz": nz.astype(int), "sape": sape}
    )
    keys = list(by)
    if keys:
        for k in keys:
            work[k] = frame[k].to_numpy()
        sums = work.groupby(keys, sort=True).sum().reset_index()
    else:
        sums = work.sum().to_frame().T
    n = sums["n"].to_numpy(dtype=float)
    valid = n > 0
    out = sums[keys].copy() if keys else pd.DataFrame(index=sums.index)
    out["n"] = sums["n"].astype(int).to_numpy()
    out["actual"] = sums["actual"].to_numpy(dtype=float)
    out["forecast"] = sums["forecast"].to_numpy(dtype=float)
    abs_err = sums["abs_err"].to_numpy(dtype=float)
    out["wmape"] = _ratio(abs_err, sums["abs_y"].to_numpy(dtype=float), valid)
    n_nz = sums["n_nz"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["mape"] = np.where(n_nz > 0, sums["ape"].to_numpy(dtype=float) / np.maximum(n_nz, 1), np.nan)
        out["smape"] = np.where(valid, sums["sape"].to_numpy(dtype=float) / np.maximum(n, 1), np.nan)
    out["bias"] = _ratio(out["forecast"].to_numpy() - out["actual"].to_numpy(), out["actual"].to_numpy(), valid)
    mad = np.where(valid, abs_err / np.maximum(n, 1), np.nan)
    out["tracking_signal"] = _ratio(sums["err"].to_numpy(dtype=float), mad, valid)
    return out.reset_index(drop=True)


def seasonal_naive_at(history: pd.DataFrame, targets: pd.DataFrame, cutoff: pd.Timestamp, season: int = 12
                      ) -> np.ndarray:
    """Seasonal naive forecast of monthly targets made at ``cutoff`` (the last month with actuals).

    ŷ_{T+h|T} = y_{T+h−m(k+1)}, k = ⌊(h − 1)/m⌋ (Hyndman & Athanasopoulos, FPP3 §5.2): the actual of the
    same month of the last observed season.

    Args:
        history: DataFrame[unique_id, ds, y] of monthly actuals [units]; ds month starts.
        targets: DataFrame[unique_id, ds] of the months to forecast (after ``cutoff``).
        cutoff: T, the last month with actuals (month start).
        season: m, the season length [months].

    Returns:
        ŷ per target row [units] (NaN when that month of the last season has no actual).

    Example:
        With cutoff 2026-08 and m = 12, 2026-09 (h = 1) takes 2025-09 and 2027-09 (h = 13) takes 2026-09 − 12
        months = 2025-09 as well.
    """
    t = pd.Timestamp(cutoff)
    ds = pd.to_datetime(pd.Series(targets["ds"].to_numpy()))
    h = (ds.dt.year - t.year) * 12 + (ds.dt.month - t.month)
    k = (h - 1) // season
    back = (season * (k + 1)).astype(int)
    look = pd.DataFrame({"unique_id": targets["unique_id"].to_numpy(), "ds": months_before(ds, back).to_numpy()})
    hist = history[["unique_id", "ds", "y"]].assign(ds=lambda f: pd.to_datetime(f["ds"]))
    if len(look):  # the months looked up only: the merge factorises fewer keys
        hist = hist[(hist["ds"] >= look["ds"].min()) & (hist["ds"] <= look["ds"].max())]
    values: np.ndarray = look.merge(hist, on=["unique_id", "ds"], how="left")["y"].to_numpy(dtype=float)
    return values


def months_before(dates: pd.Series, months: pd.Series) -> pd.Series:
    """Each date moved back by its number of months, as ``date − pd.DateOffset(months=n)`` does (the day kept, and
    clipped to the end of a shorter month; the time of day kept), for a whole column at once.

    Example:
        >>> d = pd.Series(pd.to_datetime(["2026-03-31", "2026-01-01"]))
        >>> months_before(d, pd.Series([1, 13])).dt.strftime("%Y-%m-%d").tolist()
        ['2026-02-28', '2024-12-01']
    """
    index = dates.dt.year.to_numpy() * 12 + dates.dt.month.to_numpy() - 1 - np.asarray(months, dtype=int)
    first = pd.to_datetime(pd.DataFrame({"year": index // 12, "month": index % 12 + 1, "day": 1}))
    day = np.minimum(dates.dt.day.to_numpy(), first.dt.days_in_month.to_numpy())
    moved = first + pd.to_timedelta(day - 1, unit="D") + (dates - dates.dt.normalize()).to_numpy()
    return moved.set_axis(dates.index)


def mase_scale(history: pd.DataFrame, season: int = 12) -> pd.Series:
    """The MASE denominator per series: mean|y_t − y_{t−m}| over the training months [units].

    Args:
        history: DataFrame[unique_id, ds, y] of the training data, gap-free monthly.
        season: m [months].

    Returns:
        Series indexed by unique_id (NaN for series shorter than m + 1 months).
    """
    h = history.sort_values(["unique_id", "ds"])
    diff = h.groupby("unique_id")["y"].diff(season).abs()
    return diff.groupby(h["unique_id"]).mean()


def value_added(
    frame: pd.DataFrame,
    by: Sequence[str] = (),
    *,
    target_col: str = "y",
    naive_col: str = "naive",
    statistical_col: str = "statistical",
    consensus_col: str = "consensus",
) -> pd.DataFrame:
    """Forecast value added along naive → statistical → consensus, per group (Gilliland 2013).

    WMAPE of each step and FVA = WMAPE(previous step) − WMAPE(step) (> 0: the step made the forecast better).

    Args:
        frame: long frame of actuals and the three forecasts [units] with the ``by`` columns.
        by: grouping columns (empty: one overall row).

    Returns:
        DataFrame[*by, n, actual, wmape_naive, wmape_statistical, wmape_consensus, fva_statistical,
        fva_consensus]: n periods with an actual; WMAPE and FVA as fractions.

    Example:
        y = (100, 200), naive (80, 260), statistical (120, 150), consensus (105, 190): WMAPE 80/300,
        70/300, 15/300; FVA statistical = 10/300 ≈ 0.0333, consensus = 55/300 ≈ 0.1833.
    """
    keys = list(by)
    parts = {}
    for name, col in (("naive", naive_col), ("statistical", statistical_col), ("consensus", consensus_col)):
        t = accuracy_table(frame, by=keys, target_col=target_col, forecast_col=col)
        parts[name] = t
    out = parts["statistical"][[*keys, "n", "actual"]].copy()
    for name, t in parts.items():
        out[f"wmape_{name}"] = t["wmape"].to_numpy()
    out["fva_statistical"] = out["wmape_naive"] - out["wmape_statistical"]
    out["fva_consensus"] = out["wmape_statistical"] - out["wmape_consensus"]
    return out
