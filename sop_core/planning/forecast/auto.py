"""The automatic engine: a per-series choice among single models and combinations by rolling-origin backtest.

How it works:

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
3. **Candidates** are the base models and the equal-weight combinations of :data:`COMBINATIONS`.
4. **Choice**: the history is cut at ``windows`` origins ``step`` periods apart (the last one ``bt_h``
   periods before the end); every base model is refitted on the data up to each origin and forecasts
   ``bt_h`` periods. Each series gets the candidate with the lowest backtest score: half its mean absolute
   error and half its sMAPE (M4's weighting), each relative to the series' median candidate, shrunk toward
   the candidate's mean over similar series (see :func:`choose`; ties: the earlier candidate in
   :data:`CANDIDATES`). "Zero" is a candidate: for sparse demand the
   MAE-optimal point forecast (the median) is often 0; a series without demand in its last max(12, W·bt_h)
   periods (discontinued or dormant) is forecast 0. Without backtest points a series
   gets :data:`DEFAULT` (the first of ``candidates`` when they are restricted).
5. **Intervals** are conformal (split-conformal on the backtest): the backtest errors of the chosen
   candidate, e = y − ŷ, divided by the series' scale s_i (the in-sample error of seasonal naive, as in MASE),
   are pooled over the horizon steps and the series of the same kind (sparse, ADI ≥ 1.32, or dense); a
   step factor f_k (the mean |e/s| of step k relative to all steps, non-decreasing) widens the bounds with
   the horizon: ŷ + s_i·f_k·q_lo and ŷ + s_i·f_k·q_hi, with q the quantiles of e/(s·f). q_lo is the
   (1 − l/100)/2 quantile; q_hi takes the rest of the miss budget, since discrete demand often cannot miss
   below (see :func:`_quantile_row`). The errors of window w are those of the candidate chosen on the other
   windows (no selection bias, see :func:`calibration_residuals`). Steps beyond ``bt_h`` widen with
   √(k / bt_h). The coverage is measured by cross-fitting: the quantiles of all windows but one are
   checked on the remaining window; where it falls short of a level, the final quantiles aim higher by the
   shortfall (:func:`corrected_targets`).

References: Tashman (2000), Out-of-sample tests of forecasting accuracy, IJF 16(4); Makridakis, Spiliotis &
Assimakopoulos (2020), The M4 competition (combinations); Petropoulos & Kourentzes (2015), Forecast
combinations for intermittent demand (ADIDA/IMAPA); Teunter, Syntetos & Babai (2011) (TSB); Angelopoulos &
Bates (2023), Conformal prediction: a gentle introduction; Gibbs & Candès (2021), Adaptive conformal
inference under distribution shift; Stankeviciute et al. (2021), Conformal time-series
forecasting.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sop_core.planning.forecast.classify import ADI_CUTOFF, classify_demand
from sop_core.planning.forecast.events import uplift_factor
from sop_core.planning.forecast.statistical import season_length_for
from sop_core.units import Progress

log = logging.getLogger(__name__)

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
#: Candidate order (ties go to the earlier one); combinations first (Makridakis et al. 2020).
CANDIDATES: tuple[str, ...] = (
    "Mean(ETS,Theta,LightGBM)", "Mean(ETS,Theta)", "Mean(ETS,Theta,SeasonalNaive)", "Mean(Theta,LightGBM)",
    "Mean(ADIDA,IMAPA,TSB)", "ETS", "Theta", "LightGBM", "SeasonalNaive", "CrostonSBA", "TSB", "ADIDA", "IMAPA",
    "Zero", "AutoARIMA",
)
#: The candidate of series without backtest points.
DEFAULT = "Mean(ETS,Theta)"
#: The models fitted on sparse series (ADI ≥ 1.32 on the data up to the origin): intermittent-demand methods
#: and seasonal naive; ETS, Theta and AutoARIMA assume smooth demand and are the slow ones.
SPARSE_MODELS: tuple[str, ...] = ("SeasonalNaive", "CrostonSBA", "TSB", "ADIDA", "IMAPA")
#: The candidate of sparse series without backtest points (or whose choice was not fitted).
SPARSE_DEFAULT = "Mean(ADIDA,IMAPA,TSB)"


@dataclass
class AutoResult:
    """Output of :func:`auto_forecast`.

    Attributes:
        forecast: ``unique_id, ds, yhat, yhat_lo_<l>, yhat_hi_<l>, model`` [units].
        choice: ``unique_id, model, mae, n_points, scale`` — the chosen candidate per series, its backtest
            mean absolute error [units] and the number of backtest points.
        backtest: ``unique_id, cutoff, ds, y, yhat, model`` of the chosen candidates.
        coverage: measured coverage per level (cross-fitted on the backtest windows) [fraction].
        params: the settings used.
    """

    forecast: pd.DataFrame
    choice: pd.DataFrame
    backtest: pd.DataFrame
    coverage: dict[int, float | None] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- base models
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


# ---------------------------------------------------------------------------- backtest and choice
def cutoffs_for(periods: pd.DatetimeIndex, bt_h: int, windows: int, step: int) -> list[pd.Timestamp]:
    """The ``windows`` backtest origins: the last is ``bt_h`` periods before the end, the others ``step`` apart."""
    out = []
    for w in range(windows):
        back = bt_h + (windows - 1 - w) * step
        if back < len(periods):
            out.append(periods[-back - 1])
    return out


def _fit_task(args: tuple[pd.DataFrame, int, pd.DataFrame | None, str, dict[str, Any]]) -> pd.DataFrame:
    train, h, fut, freq, kwargs = args
    return base_forecasts(train, h, freq, future_exog=fut, **{**kwargs, "n_jobs": 1})


def run_fits(
    cuts: Sequence[tuple[pd.DataFrame, int, pd.DataFrame | None]],
    freq: str,
    n_jobs: int = 1,
    *,
    progress: Progress | None = None,
    **kwargs: Any,
) -> list[pd.DataFrame]:
    """:func:`base_forecasts` of several training cuts ``(train, h, future_exog)``, in order.

    With ``n_jobs`` > 1 the cuts run side by side, one process each (forked, started once): every worker
    fits all models of its cut on one core, so the statistical fits and the single-threaded LightGBM keep
    every core busy. The numbers do not depend on ``n_jobs``.
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    report = progress or (lambda _f, _m: None)
    kwargs = {k: v for k, v in kwargs.items() if k != "n_jobs"}
    tasks = [(train, h, fut, freq, kwargs) for train, h, fut in cuts]
    out: list[pd.DataFrame | None] = [None] * len(tasks)
    workers = max(1, min(int(n_jobs), len(tasks)))
    if workers == 1:
        for i, task in enumerate(tasks):
            report(i / len(tasks), f"Fitting {i + 1} of {len(tasks)}…")
            out[i] = _fit_task(task)
    else:
        # the largest cuts first, so that the last one does not run alone
        order = sorted(range(len(tasks)), key=lambda i: -len(tasks[i][0]))
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
            futures = {pool.submit(_fit_task, tasks[i]): i for i in order}
            for done, fut in enumerate(as_completed(futures)):
                out[futures[fut]] = fut.result()
                report((done + 1) / len(tasks), f"Fitted {done + 1} of {len(tasks)}…")
    return [o for o in out if o is not None]


def rolling_backtest(
    full: pd.DataFrame,
    bt_h: int,
    windows: int,
    freq: str = "MS",
    *,
    step: int | None = None,
    progress: Progress | None = None,
    extra: Sequence[tuple[pd.DataFrame, int, pd.DataFrame | None]] = (),
    extra_out: list[pd.DataFrame] | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """Every base model and combination, refitted at each origin of a rolling-origin backtest.

    The fits of the origins (and the ``extra`` fits, e.g. the final one on the whole history, returned in
    ``extra_out``) run side by side on ``n_jobs`` worker processes (:func:`run_fits`).

    Args:
        full: complete long history ``unique_id, ds, y`` (+ exogenous columns).
        bt_h: periods forecast after each origin [periods].
        windows: number of origins.
        freq: pandas frequency alias.
        step: periods between origins (default ``bt_h``).
        progress: optional callback ``(fraction 0..1, message)``.
        extra: further fits ``(train, h, future_exog)`` to run in the same pool.
        extra_out: receives the base forecasts of ``extra``.
        **kwargs: passed to :func:`base_forecasts` (``exog_cols``, ``uplift``, ``use_lightgbm``, ``n_jobs`` …); exogenous
            future values are taken from ``full`` itself (known in advance: prices, promotions, events).

    Returns:
        DataFrame[unique_id, cutoff, ds, step, y, <candidates>]; series with fewer than 3 periods up to an
        origin are left out of that window.
    """
    report = progress or (lambda _f, _m: None)
    extra_out = extra_out if extra_out is not None else []
    periods = pd.DatetimeIndex(sorted(full["ds"].unique()))
    origins = cutoffs_for(periods, bt_h, windows, step or bt_h)
    exog = list(kwargs.get("exog_cols", ()))
    n_jobs = int(kwargs.pop("n_jobs", 1))
    cuts, tests = [], []
    for cutoff in origins:
        train = full[full["ds"] <= cutoff]
        train = train[train.groupby("unique_id")["y"].transform("size") >= 3]
        if train.empty:
            continue
        test = full[(full["ds"] > cutoff) & (full["ds"] <= cutoff + bt_h * pd.tseries.frequencies.to_offset(freq))]
        cuts.append((train, bt_h, test[["unique_id", "ds", *exog]] if exog else None))
        tests.append((cutoff, test))
    cuts += list(extra)
    fits = run_fits(cuts, freq, n_jobs, progress=report, **kwargs)
    parts = []
    for (cutoff, test), preds in zip(tests, fits, strict=False):
        got = add_combinations(preds).merge(test[["unique_id", "ds", "y"]], on=["unique_id", "ds"], how="inner")
        got.insert(1, "cutoff", cutoff)
        parts.append(got)
    extra_out[:] = fits[len(tests):]
    report(1.0, "Backtest done")
    if not parts:
        return pd.DataFrame(columns=["unique_id", "cutoff", "ds", "step", "y"])
    return pd.concat(parts, ignore_index=True)


def _relative(values: np.ndarray) -> np.ndarray:
    """Each row divided by its median over the candidates (by its mean when that is 0; 1 when both are)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(values, axis=1, keepdims=True)
        mean = np.nanmean(values, axis=1, keepdims=True)
    den = np.where(med > 0, med, np.where(mean > 0, mean, 1.0))
    return values / den


def choose(bt: pd.DataFrame, candidates: Sequence[str], kinds: pd.Series | None = None, *,
           pooled: bool = True) -> pd.DataFrame:
    """The candidate with the lowest shrunken backtest score per series (ties: the earlier one).

    The score weighs the two errors of the M4 competition equally (its "overall weighted average"): the
    mean absolute error and the sMAPE of candidate c on series i, each relative to the series' median over
    the candidates (so that every series counts alike, whatever its size):

        r_ic = ½ · MAE_ic / median_c(MAE_ic) + ½ · sMAPE_ic / median_c(sMAPE_ic).

    A choice among many candidates on a dozen backtest points picks noise, so the score is shrunk toward
    the candidate's mean over the series of the same kind (an empirical-Bayes style pooling):

        score_ic = ½ · r_ic + ½ · mean_j(r_jc)        (``pooled=False``: r_ic alone).

    Args:
        bt: backtest ``unique_id, y`` and one forecast column per candidate [units].
        candidates: the candidates, in order of preference.
        kinds: the kind of each series ("sparse" / "dense"); pooled over all series when None.
        pooled: shrink toward the pooled mean.

    Returns:
        DataFrame[unique_id, model, mae, n_points] sorted by id; ``mae`` is the chosen candidate's backtest
        mean absolute error [units].
    """
    cands = [c for c in candidates if c in bt.columns]
    y = bt["y"].to_numpy(dtype=float)[:, None]
    f = bt[cands].to_numpy(dtype=float)
    abs_err = np.abs(f - y)
    den = np.abs(y) + np.abs(f)
    with np.errstate(divide="ignore", invalid="ignore"):
        smape_terms = np.where(den > 0, 2.0 * abs_err / np.where(den > 0, den, 1.0), 0.0)
    ids = bt["unique_id"].to_numpy()
    mae = pd.DataFrame(abs_err, columns=cands).groupby(ids, sort=True).mean()
    smape = pd.DataFrame(smape_terms, columns=cands).groupby(ids, sort=True).mean()
    n = bt.groupby("unique_id", sort=True).size()
    values = mae.to_numpy(dtype=float)
    score = 0.5 * _relative(values) + 0.5 * _relative(smape.to_numpy(dtype=float))
    if pooled:
        kind = (kinds.reindex(mae.index).fillna("dense") if kinds is not None
                else pd.Series("dense", index=mae.index)).to_numpy()
        pool = np.empty_like(score)
        for k in np.unique(kind):
            rows = kind == k
            pool[rows] = np.nanmean(score[rows], axis=0)
        score = 0.5 * score + 0.5 * pool
    # round away float noise so that ties are ties and the candidate order decides
    score = np.round(score, 9)
    best = np.argmin(np.where(np.isnan(score), np.inf, score), axis=1)
    return pd.DataFrame({
        "unique_id": mae.index.to_numpy(),
        "model": np.array(cands, dtype=object)[best],
        "mae": values[np.arange(len(best)), best],
        "n_points": n.reindex(mae.index).to_numpy(),
    })


def inactive_series(full: pd.DataFrame, periods: int) -> set[Any]:
    """Series without any demand in their last ``periods`` periods (discontinued or dormant): forecast 0."""
    tail = full.groupby("unique_id", sort=False).tail(periods)
    total = tail.groupby("unique_id")["y"].sum()
    n = tail.groupby("unique_id").size()
    return set(total.index[(total <= 0) & (n >= periods)])


# ---------------------------------------------------------------------------- conformal intervals
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


def _pick(frame: pd.DataFrame, models: pd.Series) -> np.ndarray:
    """The value of column ``models[i]`` in row i of ``frame``."""
    cols = {c: i for i, c in enumerate(frame.columns)}
    values = frame.to_numpy()
    return np.array([values[i, cols[c]] for i, c in enumerate(models)], dtype=float)


def calibration_residuals(bt: pd.DataFrame, candidates: Sequence[str], choice: pd.DataFrame,
                          kinds: pd.Series) -> pd.DataFrame:
    """Backtest errors of the chosen candidates, free of selection bias where possible.

    The errors of a model on the very windows it was chosen on are too small (it was chosen because they
    were small). With several windows, the errors of window w are therefore those of the candidate chosen on
    the other windows; with one window, those of the final choice.

    Returns:
        DataFrame[unique_id, cutoff, ds, step, y, yhat, model].
    """
    cols = ["unique_id", "cutoff", "ds", "step", "y", "yhat", "model"]
    if bt.empty:
        return pd.DataFrame(columns=cols)
    final = dict(zip(choice["unique_id"], choice["model"], strict=True))
    cutoffs = sorted(bt["cutoff"].unique())
    parts = []
    for c in cutoffs:
        window = bt[bt["cutoff"] == c].reset_index(drop=True)
        others = bt[bt["cutoff"] != c]
        picked = dict(final)
        if len(cutoffs) > 1 and not others.empty:
            picked.update(dict(zip(*choose(others, candidates, kinds)[["unique_id", "model"]].to_numpy().T, strict=True)))
        models = window["unique_id"].map(picked)
        parts.append(pd.DataFrame({"unique_id": window["unique_id"], "cutoff": window["cutoff"], "ds": window["ds"],
                                   "step": window["step"], "y": window["y"].astype(float),
                                   "yhat": _pick(window, models), "model": models}))
    out = pd.concat(parts, ignore_index=True)[cols]
    return out[np.isfinite(out["yhat"].to_numpy(dtype=float))].reset_index(drop=True)


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
    hits = {int(lv): [] for lv in levels}
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


# ---------------------------------------------------------------------------- the engine
def auto_forecast(
    full: pd.DataFrame,
    h: int,
    freq: str = "MS",
    level: Sequence[int] = (80, 95),
    *,
    exog_cols: Sequence[str] = (),
    future_exog: pd.DataFrame | None = None,
    uplift: pd.DataFrame | None = None,
    windows: int = 3,
    bt_h: int | None = None,
    use_lightgbm: bool = True,
    include_arima: bool = False,
    candidates: Sequence[str] | None = None,
    n_jobs: int = 1,
    seed: int = 0,
    progress: Progress | None = None,
) -> AutoResult:
    """Forecast every series with the candidate that won its rolling-origin backtest, with conformal intervals.

    Args:
        full: complete long history ``unique_id, ds, y`` [units] (see
            :func:`sop_core.planning.forecast.core.prepare_history`) plus ``exog_cols``.
        h: horizon [periods].
        freq: pandas frequency alias ("MS" monthly, "W-MON" weekly …).
        level: interval coverages [%].
        exog_cols: exogenous LightGBM features in ``full`` (price, promo flag, event flags).
        future_exog: ``unique_id, ds`` + ``exog_cols`` for the ``h`` future periods.
        uplift: ``unique_id, ds, uplift`` known event uplift u [fraction] (history and future).
        windows: backtest origins (W).
        bt_h: backtest horizon [periods]; default min(h, 6) monthly, min(h, 13) weekly.
        use_lightgbm: let the global LightGBM model and its combinations compete.
        include_arima: let AutoARIMA compete (slow).
        candidates: restrict the candidates (default :data:`CANDIDATES`).
        n_jobs: worker processes / threads.
        seed: LightGBM seed.
        progress: optional callback ``(fraction 0..1, message)``.

    Returns:
        :class:`AutoResult`.
    """
    report = progress or (lambda _f, _m: None)
    levels = sorted(int(lv) for lv in level)
    if bt_h is None:
        bt_h = min(h, 13 if freq.upper().startswith("W") else 6)
    opts: dict[str, Any] = {"exog_cols": tuple(exog_cols), "uplift": uplift, "use_lightgbm": use_lightgbm,
                            "include_arima": include_arima, "n_jobs": n_jobs, "seed": seed}
    final: list[pd.DataFrame] = []
    bt = rolling_backtest(full, bt_h, windows, freq, progress=lambda f, msg: report(0.8 * f, msg),
                          extra=[(full, h, future_exog)], extra_out=final, **opts)
    cands = [c for c in (candidates or CANDIDATES) if c in bt.columns]
    if not use_lightgbm:
        cands = [c for c in cands if "LightGBM" not in c]
    scale = series_scale(full, season_length_for(freq))
    cls = classify_demand(full)
    kinds = pd.Series(np.where(cls["adi"].to_numpy() >= ADI_CUTOFF, "sparse", "dense"), index=cls["unique_id"])
    choice = (choose(bt, cands, kinds) if not bt.empty
              else pd.DataFrame(columns=["unique_id", "model", "mae", "n_points"]))
    inactive = inactive_series(full, max(12, windows * bt_h))
    if len(choice):
        choice.loc[choice["unique_id"].isin(inactive), "model"] = "Zero"
    report(0.8, "Choosing the model of every series…")
    base = add_combinations(final[0])
    default = pd.Series(cands[0] if candidates else DEFAULT, index=base.index)
    if not candidates:
        default = default.where(base["unique_id"].map(kinds).to_numpy() != "sparse", SPARSE_DEFAULT)
    chosen = base["unique_id"].map(dict(zip(choice["unique_id"], choice["model"], strict=True))).fillna(default)
    chosen = chosen.where(chosen.isin(base.columns), default)
    yhat = _pick(base, chosen)
    # a choice that was not fitted on the whole history (the series turned sparse): the intermittent mean
    missing = ~np.isfinite(yhat)
    if missing.any():
        chosen = chosen.where(~missing, SPARSE_DEFAULT)
        yhat = np.where(missing, base[SPARSE_DEFAULT].to_numpy(dtype=float), yhat)
    fc = pd.DataFrame({"unique_id": base["unique_id"], "ds": base["ds"], "step": base["step"], "yhat": yhat, "model": chosen})
    # residuals of the chosen candidates
    residuals = calibration_residuals(bt, cands, choice, kinds)
    coverage = cross_fitted_coverage(residuals, scale, kinds, levels)
    targets = corrected_targets(coverage)
    out = conformal_bounds(fc, residuals, scale, kinds, levels, targets)
    choice = choice.assign(scale=choice["unique_id"].map(scale).to_numpy())
    cols = ["unique_id", "ds", "yhat", *[f"yhat_{s}_{lv}" for lv in levels for s in ("lo", "hi")], "model"]
    report(1.0, "Forecast done")
    params = {"windows": windows, "bt_h": bt_h, "candidates": cands, "use_lightgbm": use_lightgbm,
              "include_arima": include_arima, "exog_cols": list(exog_cols), "events": uplift is not None, "seed": seed,
              "interval_targets": {str(k): v for k, v in targets.items()}}
    return AutoResult(
        forecast=out[cols].sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True),
        choice=choice,
        backtest=residuals[["unique_id", "cutoff", "ds", "y", "yhat", "model"]],
        coverage=coverage,
        params=params,
    )
