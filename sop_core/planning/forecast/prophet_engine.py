"""Prophet as an engine option: one model per series, events and promotion / price as extra regressors.

Each series gets ``Prophet(yearly_seasonality=True)`` (monthly or weekly data: no weekly or daily
seasonality) with every exogenous column as a regressor (``add_regressor``; standardised by Prophet):
promotion flags multiplicative (a promotion lifts demand by a share of the baseline), the others
additive; prices enter relative to the series' usual price, with an "offered" flag where a price is 0
(:func:`sop_core.planning.forecast.ml.relative_prices`). Forecasts and interval bounds are clipped at zero (Prophet's linear trend can go negative). The
80 % and 95 % bounds come from Prophet's simulated 95 % interval; the 80 % half-widths are the 95 % ones
times z_0.90 / z_0.975 = 1.2816 / 1.9600 (normal errors).

Stan (through cmdstanpy) writes its input and output files to a temporary folder. Every fit here writes to a
private folder that is deleted when the fits are done (:func:`private_stan_tmpdir`), so a long-running server
does not accumulate files.

Reference: Taylor, S. J. & Letham, B. (2018). Forecasting at scale. The American Statistician 72(1), 37–45.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: z_0.90 / z_0.975: ratio of the 80 % to the 95 % normal half-width.
_Z80_OVER_Z95 = 1.2815515655446004 / 1.959963984540054


@contextlib.contextmanager
def private_stan_tmpdir() -> Iterator[Path]:
    """Point cmdstanpy's temporary folder at a new private folder; delete it (and restore) on exit."""
    import cmdstanpy
    import cmdstanpy.model as stan_model
    import cmdstanpy.stanfit.mcmc as stan_mcmc
    import cmdstanpy.stanfit.runset as stan_runset
    import cmdstanpy.utils.filesystem as stan_filesystem

    # the modules of cmdstanpy that hold their own reference to its temporary folder
    modules = (cmdstanpy, stan_model, stan_filesystem, stan_runset, stan_mcmc)
    folder = Path(tempfile.mkdtemp(prefix="sop-prophet-"))
    saved: list[tuple[dict[str, Any], Any]] = []
    try:
        for mod in modules:
            names = vars(mod)
            if "_TMPDIR" in names:
                saved.append((names, names["_TMPDIR"]))
                names["_TMPDIR"] = str(folder)
        yield folder
    finally:
        for names, value in saved:
            names["_TMPDIR"] = value
        shutil.rmtree(folder, ignore_errors=True)


def regressor_mode(name: str) -> Literal["additive", "multiplicative"]:
    """A promotion lifts demand by a share of the baseline ("multiplicative"); prices, discounts and events
    enter as additive effects (Prophet's default)."""
    return "multiplicative" if "promo" in name.lower() else "additive"


def _fit_one(uid: Any, hist: pd.DataFrame, fut: pd.DataFrame, regressors: Sequence[str], intervals: bool,
             seasonal: bool) -> pd.DataFrame:
    from prophet import Prophet

    model = Prophet(
        yearly_seasonality=seasonal, weekly_seasonality=False, daily_seasonality=False,
        interval_width=0.95, uncertainty_samples=200 if intervals else 0,
    )
    for r in regressors:
        model.add_regressor(r, mode=regressor_mode(r))
    np.random.seed(0)  # Prophet samples its intervals with numpy's global generator
    model.fit(hist[["ds", "y", *regressors]])
    pred = model.predict(fut[["ds", *regressors]])
    yhat = pred["yhat"].to_numpy(dtype=float)
    out = pd.DataFrame({"unique_id": uid, "ds": fut["ds"].to_numpy(), "yhat": yhat})
    if intervals:
        lo95, hi95 = pred["yhat_lower"].to_numpy(dtype=float), pred["yhat_upper"].to_numpy(dtype=float)
        out["yhat_lo_95"], out["yhat_hi_95"] = lo95, hi95
        out["yhat_lo_80"] = yhat - (yhat - lo95) * _Z80_OVER_Z95
        out["yhat_hi_80"] = yhat + (hi95 - yhat) * _Z80_OVER_Z95
    return out


def _fit_chunk(jobs: list[tuple[Any, pd.DataFrame, pd.DataFrame]], regressors: Sequence[str], intervals: bool,
               seasonal_min: int) -> list[pd.DataFrame]:
    """Fit a list of series in one process, inside a private Stan folder."""
    for name in ("prophet", "cmdstanpy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    out = []
    with private_stan_tmpdir(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for uid, hist, fut in jobs:
            if len(hist) < 2:
                level = float(hist["y"].mean()) if len(hist) else 0.0
                frame = pd.DataFrame({"unique_id": uid, "ds": fut["ds"].to_numpy(), "yhat": level})
                if intervals:
                    for c in ("yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"):
                        frame[c] = level
                out.append(frame)
                continue
            usable = [r for r in regressors if hist[r].nunique() > 1]
            out.append(_fit_one(uid, hist, fut, usable, intervals, len(hist) >= seasonal_min))
    return out


def prophet_forecast(
    history: pd.DataFrame,
    h: int,
    freq: str = "MS",
    *,
    regressors: Sequence[str] = (),
    future_exog: pd.DataFrame | None = None,
    intervals: bool = True,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Prophet forecasts of every series, with optional regressors (events, promotion, price).

    Args:
        history: complete long frame ``unique_id, ds, y`` [units] plus the ``regressors`` columns.
        h: horizon [periods].
        freq: pandas frequency alias.
        regressors: exogenous columns (event flags or uplift, promo flag, price [currency/unit]).
        future_exog: ``unique_id, ds`` + ``regressors`` for the ``h`` future periods (gaps: last known value).
        intervals: also return 80 % and 95 % bounds (slower: 200 simulated paths per series).
        n_jobs: worker processes.

    Returns:
        DataFrame[unique_id, ds, yhat (, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95), model="Prophet"] [units],
        all ≥ 0, sorted by id and period.
    """
    from sop_core.planning.forecast.ml import _future_frame, relative_prices

    regs = list(regressors)
    hist = history[["unique_id", "ds", "y", *regs]].sort_values(["unique_id", "ds"], kind="stable")
    if regs:
        if future_exog is None:
            raise ValueError(f"prophet: future values of {', '.join(regs)} are needed (future_exog)")
        fut = _future_frame(hist, future_exog, regs, h, freq)
        hist, fut, flags = relative_prices(hist, fut, [r for r in regs if "price" in r.lower()])
        regs += flags
    else:
        last = hist.groupby("unique_id")["ds"].max()
        fut = pd.DataFrame({
            "unique_id": np.repeat(last.index.to_numpy(), h),
            "ds": np.concatenate([pd.date_range(d, periods=h + 1, freq=freq)[1:] for d in last.to_numpy()]),
        })
    seasonal_min = 2 * (52 if freq.upper().startswith("W") else 12)
    fut_groups = dict(tuple(fut.groupby("unique_id", sort=False)))
    jobs = [(uid, g, fut_groups[uid]) for uid, g in hist.groupby("unique_id", sort=True)]
    workers = max(1, min(int(n_jobs), len(jobs)))
    if workers == 1:
        parts = _fit_chunk(jobs, regs, intervals, seasonal_min)
    else:
        chunks = [jobs[i::workers] for i in range(workers)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            parts = [p for res in pool.map(_fit_chunk, chunks, [regs] * workers, [intervals] * workers,
                                           [seasonal_min] * workers) for p in res]
    out = pd.concat(parts, ignore_index=True)
    bounds = [c for c in out.columns if c.startswith("yhat")]
    for c in bounds:
        out[c] = np.clip(out[c].to_numpy(dtype=float), 0.0, None)
    if intervals:
        out["yhat_lo_80"] = np.minimum(out["yhat_lo_80"], out["yhat"])
        out["yhat_lo_95"] = np.minimum(out["yhat_lo_95"], out["yhat_lo_80"])
        out["yhat_hi_80"] = np.maximum(out["yhat_hi_80"], out["yhat"])
        out["yhat_hi_95"] = np.maximum(out["yhat_hi_95"], out["yhat_hi_80"])
    out["model"] = "Prophet"
    return out.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
