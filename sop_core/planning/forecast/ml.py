"""A global LightGBM model trained across all series (mlforecast): lags, calendar, price, promotion, events.

One gradient-boosted tree model is fitted on every series at once. Each series is divided by its scale
s_i = mean of its history (1 when the mean is 0), so that series of very different size share one model;
forecasts are multiplied back. Features of the period t being predicted:

* lags of the scaled demand y_{t−k}/s_i for k in :data:`LAGS` (monthly) or :data:`WEEKLY_LAGS` (weekly),
  and rolling means of the last 3 and 12 periods (recursive multi-step forecasting);
* calendar: the month of the year (or ISO week for weekly data);
* optional exogenous columns of the history (``price``, ``promo``, event flags, ``event_uplift`` …) whose
  future values come from ``future_exog``; columns whose name contains "price" enter relative to the
  series' median positive price of the history (a discount shows as a value below 1); a price of 0 means
  "not offered": it enters as 1 with a flag ``<column>_offered`` = 0 beside it.

Runs are reproducible: LightGBM is seeded, ``deterministic=True`` and the thread count is fixed.

Reference: Januschowski et al. (2022), Forecasting with trees, Int. J. Forecasting 38(4), 1473–1481 (the
M5 winners were global LightGBM models); Nixtla mlforecast documentation.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: Lags [periods] of the monthly model.
LAGS: tuple[int, ...] = (1, 2, 3, 6, 12)
#: Lags [periods] of the weekly model.
WEEKLY_LAGS: tuple[int, ...] = (1, 2, 3, 4, 8, 13, 52)
#: LightGBM settings (fixed; seeded and deterministic).
LGBM_PARAMS: dict[str, object] = {
    "n_estimators": 150,
    "learning_rate": 0.06,
    "num_leaves": 31,
    "min_child_samples": 20,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "random_state": 0,
    "deterministic": True,
    "force_col_wise": True,
    "verbosity": -1,
}


def month_of_year(dates: pd.DatetimeIndex) -> np.ndarray:
    """Calendar feature: month 1..12 of each period start."""
    return np.asarray(pd.DatetimeIndex(dates).month)


def week_of_year(dates: pd.DatetimeIndex) -> np.ndarray:
    """Calendar feature: ISO week 1..53 of each period start."""
    return np.asarray(pd.DatetimeIndex(dates).isocalendar().week, dtype=int)


def _is_weekly(freq: str) -> bool:
    return freq.upper().startswith("W")


def relative_prices(history: pd.DataFrame, future: pd.DataFrame | None, cols: Sequence[str]
                    ) -> tuple[pd.DataFrame, pd.DataFrame | None, list[str]]:
    """Price columns made comparable across series: relative to the series' median positive price.

    A price of 0 (or below) means "not offered": it enters as 1, and a flag ``<column>_offered`` (1/0) is
    added beside it when such prices occur in the history or the future.

    Args:
        history: long frame with ``unique_id`` and the ``cols`` [currency/unit].
        future: the same columns for the future periods, or None.
        cols: price columns.

    Returns:
        (history, future, flag columns added).
    """
    hist, fut = history.copy(), (future.copy() if future is not None else None)
    flags: list[str] = []
    for col in cols:
        ref = hist[hist[col] > 0].groupby("unique_id")[col].median()
        if (hist[col] <= 0).any() or (fut is not None and (fut[col] <= 0).any()):
            flags.append(f"{col}_offered")
        for frame in (hist, fut):
            if frame is None:
                continue
            price = frame[col].to_numpy(dtype=float)
            offered = price > 0
            rel = price / frame["unique_id"].map(ref).fillna(1.0).to_numpy(dtype=float)
            frame[col] = np.where(offered & np.isfinite(rel), rel, 1.0)
            if flags and flags[-1] == f"{col}_offered":
                frame[f"{col}_offered"] = offered.astype(float)
    return hist, fut, flags


def lightgbm_forecast(
    history: pd.DataFrame,
    h: int,
    freq: str = "MS",
    *,
    exog_cols: Sequence[str] = (),
    future_exog: pd.DataFrame | None = None,
    n_jobs: int = 1,  # noqa: ARG001 - one thread always (see below)
    seed: int = 0,
) -> pd.DataFrame:
    """Fit the global LightGBM model on ``history`` and forecast ``h`` periods of every series.

    Args:
        history: complete long frame ``unique_id, ds, y`` (demand [units], no gaps) plus ``exog_cols``.
        h: horizon [periods].
        freq: pandas frequency alias ("MS" monthly, "W-…" weekly).
        exog_cols: exogenous columns of ``history`` used as features (price [currency/unit], promo flag,
            event flags or uplift fractions).
        future_exog: ``unique_id, ds`` and ``exog_cols`` for the ``h`` future periods of every series;
            required when ``exog_cols`` is not empty (missing values: the series' last known value).
        n_jobs: accepted for symmetry with the other engines; LightGBM always uses one thread (reproducible,
            and faster than two threads on panels of a few hundred thousand rows).
        seed: random seed of LightGBM.

    Returns:
        DataFrame[unique_id, ds, LightGBM]: point forecasts [units], ≥ 0, sorted by id and period.
    """
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean

    exog = [c for c in exog_cols if c in history.columns]
    cols = ["unique_id", "ds", "y", *exog]
    train = history[cols].sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    scale = train.groupby("unique_id")["y"].mean()
    scale = scale.where(scale > 0, 1.0)
    weekly = _is_weekly(freq)
    lags = list(WEEKLY_LAGS if weekly else LAGS)
    # one thread: faster than two on panels of this size, and the numbers do not depend on the machine
    params: dict[str, Any] = dict(LGBM_PARAMS, random_state=seed, n_jobs=1)
    model = MLForecast(
        models={"LightGBM": lgb.LGBMRegressor(**params)},
        freq=freq,
        lags=lags,
        lag_transforms={1: [RollingMean(window_size=3), RollingMean(window_size=12)]},
        date_features=[week_of_year if weekly else month_of_year],
        num_threads=1,
    )
    future = None
    if exog:
        if future_exog is None:
            raise ValueError(f"lightgbm: future values of {', '.join(exog)} are needed (future_exog)")
        future = _future_frame(train, future_exog, exog, h, freq)
    prepared, future, _flags = relative_prices(train, future, [c for c in exog if "price" in c.lower()])
    prepared["y"] = prepared["y"].to_numpy(dtype=float) / prepared["unique_id"].map(scale).to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(prepared, static_features=[], dropna=True)
        pred = model.predict(h, X_df=future)
    pred["LightGBM"] = np.clip(pred["LightGBM"].to_numpy(dtype=float) * pred["unique_id"].map(scale).to_numpy(dtype=float), 0.0, None)
    return pred[["unique_id", "ds", "LightGBM"]].sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)


def _future_frame(train: pd.DataFrame, future_exog: pd.DataFrame, exog: list[str], h: int, freq: str) -> pd.DataFrame:
    """Future exogenous values on the full (series × h periods) grid; gaps take the last known value."""
    last = train.groupby("unique_id")["ds"].max()
    ids = last.index.to_numpy()
    grid = pd.DataFrame({
        "unique_id": np.repeat(ids, h),
        "ds": np.concatenate([pd.date_range(d, periods=h + 1, freq=freq)[1:] for d in last.to_numpy()]),
    })
    fut = future_exog[["unique_id", "ds", *[c for c in exog if c in future_exog.columns]]].copy()
    fut["ds"] = pd.to_datetime(fut["ds"])
    grid = grid.merge(fut, on=["unique_id", "ds"], how="left")
    last_vals = train.groupby("unique_id")[exog].last()
    for c in exog:
        if c not in grid.columns:
            grid[c] = np.nan
        grid[c] = grid[c].fillna(grid["unique_id"].map(last_vals[c]))
    return grid
