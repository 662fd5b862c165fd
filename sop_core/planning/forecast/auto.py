"""The automatic engine: a per-series choice among single models and combinations by rolling-origin backtest.

How it works:

1. **Base models** and their **combinations** are fitted on every series
   (:mod:`sop_core.planning.forecast.base_models`, with the event uplift of
   :mod:`sop_core.planning.forecast.events`).
2. **Candidates** are the base models and the equal-weight combinations
   (:data:`sop_core.planning.forecast.base_models.COMBINATIONS`), in the order of :data:`CANDIDATES`.
3. **Choice**: the history is cut at ``windows`` origins ``step`` periods apart (the last one ``bt_h``
   periods before the end); every base model is refitted on the data up to each origin and forecasts
   ``bt_h`` periods. Each series gets the candidate with the lowest backtest score: half its mean absolute
   error and half its sMAPE (M4's weighting), each relative to the series' median candidate, shrunk toward
   the candidate's mean over similar series (see :func:`choose`; ties: the earlier candidate in
   :data:`CANDIDATES`). "Zero" is a candidate: for sparse demand the
   MAE-optimal point forecast (the median) is often 0; a series without demand in its last max(12, W·bt_h)
   periods (discontinued or dormant) is forecast 0. Without backtest points a series
   gets :data:`DEFAULT` (the first of ``candidates`` when they are restricted).
4. **Intervals** are conformal, calibrated on the backtest errors of the chosen candidates
   (:mod:`sop_core.planning.forecast.conformal`).

References: Tashman (2000), Out-of-sample tests of forecasting accuracy, IJF 16(4); Makridakis, Spiliotis &
Assimakopoulos (2020), The M4 competition (combinations).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sop_core.planning.forecast.base_models import add_combinations, base_forecasts
from sop_core.planning.forecast.classify import ADI_CUTOFF, classify_demand
from sop_core.planning.forecast.conformal import (
    conformal_bounds,
    corrected_targets,
    cross_fitted_coverage,
    series_scale,
)
from sop_core.planning.forecast.statistical import season_length_for
from sop_core.units import INTERVAL_LEVELS, Progress

log = logging.getLogger(__name__)

#: Candidate order (ties go to the earlier one); combinations first (Makridakis et al. 2020).
CANDIDATES: tuple[str, ...] = (
    "Mean(ETS,Theta,LightGBM)", "Mean(ETS,Theta)", "Mean(ETS,Theta,SeasonalNaive)", "Mean(Theta,LightGBM)",
    "Mean(ADIDA,IMAPA,TSB)", "ETS", "Theta", "LightGBM", "SeasonalNaive", "CrostonSBA", "TSB", "ADIDA", "IMAPA",
    "Zero", "AutoARIMA",
)
#: The candidate of series without backtest points.
DEFAULT = "Mean(ETS,Theta)"
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




def chosen_values(frame: pd.DataFrame, models: pd.Series) -> np.ndarray:
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
                                   "yhat": chosen_values(window, models), "model": models}))
    out = pd.concat(parts, ignore_index=True)[cols]
    return out[np.isfinite(out["yhat"].to_numpy(dtype=float))].reset_index(drop=True)


# ---------------------------------------------------------------------------- the engine
def auto_forecast(
    full: pd.DataFrame,
    h: int,
    freq: str = "MS",
    level: Sequence[int] = INTERVAL_LEVELS,
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
    yhat = chosen_values(base, chosen)
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
