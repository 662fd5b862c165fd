"""The base models of the automatic engine: the statistical fits, the global LightGBM model and their combinations.

1. **Base models** are fitted on every series: ETS (AutoETS restricted to additive errors, no trend — the
   level and season; the trend comes from the Theta member), DynamicOptimizedTheta, seasonal naive, the
   intermittent-demand methods Croston SBA, TSB (α_d = α_p = 0.1), ADIDA and IMAPA, optionally AutoARIMA
   (``include_arima``; about 40× slower than ETS), and the global LightGBM model
   (:mod:`sop_core.planning.forecast.ml`). Leading zeros ("not launched yet") are dropped before the statistical
   fits; series shorter than two seasons get non-seasonal versions.
2. **Events** (``uplift``: a fraction per series and period, e.g. 0.3 for a +30 % promotion): the
   statistical models see an event-adjusted baseline y_t / (1 + u_t) and their forecasts are multiplied by
   (1 + u_t) of the future events, as in the statistical engine (:mod:`sop_core.planning.forecast.events`); LightGBM
   takes u_t as a feature.
3. **Combinations** are the equal-weight means of :data:`COMBINATIONS`.

References: Makridakis, Spiliotis & Assimakopoulos (2020), The M4 competition (combinations); Petropoulos &
Kourentzes (2015), Forecast combinations for intermittent demand (ADIDA/IMAPA); Teunter, Syntetos & Babai (2011)
(TSB).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sop_core.planning.forecast.classify import ADI_CUTOFF, classify_demand
from sop_core.planning.forecast.events import uplift_factor
from sop_core.planning.forecast.statistical import season_length_for

#: Statistical base models (aliases) of the automatic engine.
STAT_MODELS: tuple[str, ...] = ("ETS", "Theta", "SeasonalNaive", "CrostonSBA", "TSB", "ADIDA", "IMAPA")
#: Equal-weight combinations among the candidates.
COMBINATIONS: dict[str, tuple[str, ...]] = {
    "Mean(ETS,Theta)": ("ETS", "Theta"),
    "Mean(ETS,Theta,SeasonalNaive)": ("ETS", "Theta", "SeasonalNaive"),
    "Mean(ETS,Theta,LightGBM)": ("ETS", "Theta", "LightGBM"),
    "Mean(Theta,LightGBM)": ("Theta", "LightGBM"),
    "Mean(ADIDA,IMAPA,TSB)": ("ADIDA", "IMAPA", "TSB"),
}

#: The models fitted on sparse series (ADI ≥ 1.32 on the data up to the origin): intermittent-demand methods
#: and seasonal naive; ETS, Theta and AutoARIMA assume smooth demand and are the slow ones.
SPARSE_MODELS: tuple[str, ...] = ("SeasonalNaive", "CrostonSBA", "TSB", "ADIDA", "IMAPA")


def _stat_model(alias: str, m: int) -> Any:
    from statsforecast.models import (
        ADIDA,
        IMAPA,
        TSB,
        AutoARIMA,
        AutoETS,
        CrostonSBA,
        DynamicOptimizedTheta,
        SeasonalNaive,
    )

    if alias == "ETS":
        return AutoETS(season_length=m, model="ANA" if m > 1 else "AAN", damped=None if m > 1 else True, alias=alias)
    if alias == "Theta":
        return DynamicOptimizedTheta(season_length=m, alias=alias)
    if alias == "SeasonalNaive":
        return SeasonalNaive(season_length=m, alias=alias)
    if alias == "CrostonSBA":
        return CrostonSBA(alias=alias)
    if alias == "TSB":
        return TSB(alpha_d=0.1, alpha_p=0.1, alias=alias)
    if alias == "ADIDA":
        return ADIDA(alias=alias)
    if alias == "IMAPA":
        return IMAPA(alias=alias)
    if alias == "AutoARIMA":
        return AutoARIMA(season_length=m, alias=alias)
    raise ValueError(f"unknown model {alias!r}")


def _stat_forecasts(train: pd.DataFrame, h: int, freq: str, m: int, aliases: Sequence[str], n_jobs: int,
                    sparse_ids: set[Any] | frozenset[Any] = frozenset()) -> pd.DataFrame:
    """statsforecast point forecasts of ``aliases``; series shorter than 2 seasons get m = 1, sparse series
    only the :data:`SPARSE_MODELS` (the other columns are NaN for them)."""
    from statsforecast import StatsForecast
    from statsforecast.models import Naive

    n = train.groupby("unique_id")["y"].transform("size")
    seasonal_key = (n >= 2 * m) if m > 1 else (n < 0)
    sparse_key = train["unique_id"].isin(sparse_ids)
    parts = []
    for (seasonal, sparse), sub in train.groupby([seasonal_key.to_numpy(), sparse_key.to_numpy()], sort=True):
        sub = sub[sub.groupby("unique_id")["y"].transform("size") >= 3]
        use = [a for a in aliases if not sparse or a in SPARSE_MODELS]
        if sub.empty or not use:
            continue
        sl = m if seasonal else 1
        models = [_stat_model(a, sl) for a in use]
        # a process pool costs about 0.3 s to start: only for many series with the slow models
        jobs = n_jobs if sub["unique_id"].nunique() >= 50 and not sparse else 1
        sf = StatsForecast(models=models, freq=freq, n_jobs=jobs, fallback_model=Naive())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parts.append(sf.forecast(df=sub[["unique_id", "ds", "y"]], h=h))
    if not parts:
        return pd.DataFrame(columns=["unique_id", "ds", *aliases])
    return pd.concat(parts, ignore_index=True)


def _future_grid(last: pd.Series, h: int, freq: str) -> pd.DataFrame:
    return pd.DataFrame({
        "unique_id": np.repeat(last.index.to_numpy(), h),
        "ds": np.concatenate([pd.date_range(d, periods=h + 1, freq=freq)[1:] for d in last.to_numpy()]),
        "step": np.tile(np.arange(1, h + 1), len(last)),
    })


def base_forecasts(
    train: pd.DataFrame,
    h: int,
    freq: str = "MS",
    *,
    exog_cols: Sequence[str] = (),
    future_exog: pd.DataFrame | None = None,
    uplift: pd.DataFrame | None = None,
    use_lightgbm: bool = True,
    include_arima: bool = False,
    n_jobs: int = 1,
    seed: int = 0,
) -> pd.DataFrame:
    """Point forecasts of every base model for every series of ``train``.

    Args:
        train: complete long frame ``unique_id, ds, y`` [units] (+ ``exog_cols``), all series ending on the
            same period.
        h: horizon [periods].
        freq: pandas frequency alias.
        exog_cols: exogenous feature columns for LightGBM.
        future_exog: their future values (see :func:`sop_core.planning.forecast.ml.lightgbm_forecast`).
        uplift: ``unique_id, ds, uplift`` — known event uplift u [fraction] over history and future.
        use_lightgbm: include the global LightGBM model.
        include_arima: include AutoARIMA.
        n_jobs: worker processes / threads.
        seed: LightGBM seed.

    Returns:
        DataFrame[unique_id, ds, step, <one column per base model>] [units], ≥ 0; missing only where a model
        is not fitted (ETS, Theta and AutoARIMA on sparse series).
    """
    from sop_core.planning.forecast.ml import lightgbm_forecast

    m = season_length_for(freq)
    train = train.sort_values(["unique_id", "ds"], kind="stable")
    last = train.groupby("unique_id")["ds"].max()
    grid = _future_grid(last, h, freq)
    y = train["y"].to_numpy(dtype=float)
    factor_hist = uplift_factor(train, uplift)  # 1 + u_t (sop_core.planning.forecast.events)
    factor_future = uplift_factor(grid, uplift)
    adjusted = train[["unique_id", "ds"]].assign(y=y / factor_hist)
    launched = adjusted.assign(pos=adjusted["y"] > 0).groupby("unique_id")["pos"].cummax()
    stat_train = adjusted[launched.to_numpy()]
    aliases = [*STAT_MODELS, *(["AutoARIMA"] if include_arima else [])]
    cls = classify_demand(stat_train) if len(stat_train) else pd.DataFrame(columns=["unique_id", "adi"])
    sparse_ids = set(cls.loc[cls["adi"] >= ADI_CUTOFF, "unique_id"])
    stat = _stat_forecasts(stat_train, h, freq, m, aliases, n_jobs, sparse_ids)
    for a in aliases:
        if a not in stat.columns:
            stat[a] = np.nan
    out = grid.merge(stat, on=["unique_id", "ds"], how="left")
    for a in aliases:
        out[a] = out[a].to_numpy(dtype=float) * factor_future
    out["Zero"] = 0.0
    cols = [*aliases, "Zero"]
    sparse = out["unique_id"].isin(sparse_ids).to_numpy()
    if use_lightgbm:
        exog = list(exog_cols)
        lgb_train = train[["unique_id", "ds", "y", *exog]]
        fut = future_exog
        if uplift is not None and not uplift.empty:
            lgb_train = lgb_train.assign(event_uplift=factor_hist - 1.0)
            fut_u = grid[["unique_id", "ds"]].assign(event_uplift=factor_future - 1.0)
            fut = fut_u if fut is None else fut.merge(fut_u, on=["unique_id", "ds"], how="right")
            exog.append("event_uplift")
        long_enough = lgb_train.groupby("unique_id")["y"].transform("size") >= 2
        pred = lightgbm_forecast(lgb_train[long_enough], h, freq, exog_cols=exog, future_exog=fut, n_jobs=n_jobs, seed=seed)
        out = out.merge(pred, on=["unique_id", "ds"], how="left")
        cols.append("LightGBM")
    # fallbacks: the mean of the last 6 periods (0 for a series without any demand)
    recent = train.groupby("unique_id")["y"].apply(lambda s: float(s.tail(6).mean()))
    fill = out["unique_id"].map(recent).fillna(0.0).to_numpy()
    for c in cols:
        vals = out[c].to_numpy(dtype=float)
        vals = np.clip(np.where(np.isfinite(vals), vals, fill), 0.0, None)
        out[c] = np.where(sparse, np.nan, vals) if c in aliases and c not in SPARSE_MODELS else vals
    return out.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)


def add_combinations(frame: pd.DataFrame) -> pd.DataFrame:
    """Add a column per combination of :data:`COMBINATIONS` whose members are all present (their mean)."""
    out = frame.copy()
    for name, members in COMBINATIONS.items():
        if all(mm in out.columns for mm in members):
            out[name] = out[list(members)].mean(axis=1, skipna=False)
    return out
