"""Public forecasting contract: ``forecast`` and ``backtest`` on long-format histories.

Input (``history``): one row per series and period — ``unique_id`` (series id, e.g. a SKU), ``ds`` (period
start), ``y`` (demand [units], ≥ 0). The column names can be overridden with ``id_col``, ``time_col`` and
``target_col`` (in that order everywhere); outputs keep the caller's id and time column names.

Output of :func:`forecast`: ``unique_id, ds, yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95, model`` —
``yhat`` the point forecast [units], ``yhat_lo_<l>``/``yhat_hi_<l>`` the bounds of the l % prediction interval,
``model`` the model that produced the row. Every value is ≥ 0 and lo95 ≤ lo80 ≤ yhat ≤ hi80 ≤ hi95.

Missing periods inside a series, and after its last row up to the last period of the whole history, are
demand 0 (an ERP extract has no row for a month without sales): every series is forecast from the period
after the last period of the history.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from sop_core.planning.forecast.chunks import ChunkRunner, ProcessPoolRunner, series_chunks
from sop_core.planning.forecast.events import apply_uplift, remove_uplift
from sop_core.planning.forecast.statistical import StatisticalForecaster
from sop_core.units import INTERVAL_LEVELS, Progress

log = logging.getLogger(__name__)

#: Engines: "statistical" (fast, the default of runs), "auto" (backtest choice among statistical models, the
#: global LightGBM model and combinations), "lightgbm" (the global model alone), "prophet".
ENGINES: tuple[str, ...] = ("statistical", "auto", "lightgbm", "prophet")


def check_engine(engine: str) -> None:
    """Raise ValueError naming the available engines when ``engine`` is not one of them."""
    if engine in ENGINES:
        return
    raise ValueError(f"unknown forecast engine {engine!r}; available: {', '.join(ENGINES)}")


def prepare_history(
    history: pd.DataFrame, freq: str = "MS", *, id_col: str = "unique_id", time_col: str = "ds", target_col: str = "y"
) -> pd.DataFrame:
    """Validate a long history and return it complete, as ``unique_id, ds, y`` sorted by id and period.

    Args:
        history: long frame with ``id_col``, ``time_col`` and ``target_col`` (demand [units]).
        freq: pandas frequency alias of the periods ("MS" = month starts).
        id_col: series id column.
        time_col: period start column (dates, or strings pandas can parse).
        target_col: demand column [units], ≥ 0.

    Returns:
        DataFrame[unique_id, ds, y] with one row per series and period from the series' first period to the
        last period of the whole history; missing periods are 0.

    Raises:
        ValueError: a column is missing, a value is missing, negative or not a number, a (series, period) pair
            repeats, or a period is not on the ``freq`` grid.
    """
    missing = [c for c in (id_col, time_col, target_col) if c not in history.columns]
    if missing:
        raise ValueError(f"history: missing column(s) {', '.join(missing)}; expected {id_col}, {time_col}, {target_col}")
    if history.empty:
        raise ValueError("history is empty: at least one series with one period is needed")
    frame = pd.DataFrame(
        {"unique_id": history[id_col].to_numpy(), "ds": pd.to_datetime(history[time_col]).to_numpy()}
    )
    y = pd.to_numeric(history[target_col], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(y) | (y < 0))
    if len(bad):
        i = int(bad[0])
        raw = history[target_col].iloc[i]
        shown = f"{y[i]:g}" if np.isfinite(y[i]) else repr(raw)
        why = "is negative; demand must be ≥ 0" if np.isfinite(y[i]) else "is missing or not a number"
        where = f"series {frame['unique_id'].iloc[i]!r} at {frame['ds'].iloc[i]:%Y-%m-%d}"
        raise ValueError(f"history: {where}: {target_col} = {shown} {why}")
    frame["y"] = y
    dup = frame.duplicated(["unique_id", "ds"])
    if dup.any():
        row = frame[dup].iloc[0]
        raise ValueError(f"history: series {row['unique_id']!r} has more than one row for {row['ds']:%Y-%m-%d}")
    offset = pd.tseries.frequencies.to_offset(freq)
    days = frame["ds"].unique()  # every distinct period checked once
    off_days = days[[not offset.is_on_offset(d) for d in days]]
    off_grid = frame["ds"].isin(off_days)
    if off_grid.any():
        row = frame[off_grid].iloc[0]
        raise ValueError(f"history: series {row['unique_id']!r} has period {row['ds']:%Y-%m-%d}, not a {freq!r} period start")
    last = frame["ds"].max()
    firsts = frame.groupby("unique_id", sort=True)["ds"].min()
    grid = pd.date_range(firsts.min(), last, freq=freq)
    pos = {d: i for i, d in enumerate(grid)}
    start = firsts.map(pos).to_numpy()
    counts = len(grid) - start
    ids = np.repeat(firsts.index.to_numpy(), counts)
    idx = np.concatenate([np.arange(s, len(grid)) for s in start])
    full = pd.DataFrame({"unique_id": ids, "ds": grid[idx]})
    full = full.merge(frame, on=["unique_id", "ds"], how="left")
    full["y"] = full["y"].fillna(0.0)
    return full


def _check_horizon(horizon: int) -> int:
    if int(horizon) != horizon or horizon < 1:
        raise ValueError(f"horizon must be a whole number of periods ≥ 1, got {horizon!r}")
    return int(horizon)


def _check_level(level: Sequence[int]) -> list[int]:
    levels = sorted({int(lv) for lv in level})
    if not levels or any(not 0 < lv < 100 for lv in levels):
        raise ValueError(f"level must be interval coverages in % between 0 and 100, got {tuple(level)!r}")
    return levels


def forecast(
    history: pd.DataFrame,
    horizon: int,
    freq: str = "MS",
    engine: str = "statistical",
    level: Sequence[int] = INTERVAL_LEVELS,
    *,
    n_jobs: int = 1,
    id_col: str = "unique_id",
    time_col: str = "ds",
    target_col: str = "y",
    exog_cols: Sequence[str] = (),
    future_exog: pd.DataFrame | None = None,
    uplift: pd.DataFrame | None = None,
    progress: Progress | None = None,
    chunk_runner: ChunkRunner | None = None,
) -> pd.DataFrame:
    """Forecast every series of ``history`` ``horizon`` periods ahead, with prediction intervals.

    Args:
        history: long frame, one row per series and period; ``target_col`` is demand [units], ≥ 0.
        horizon: number of periods to forecast (h) [periods].
        freq: pandas frequency alias of the periods ("MS" = month starts; season length 12).
        engine: "statistical" (per-series choice among ETS, Theta, seasonal naive, Croston SBA and TSB; see
            :mod:`sop_core.planning.forecast.statistical`), "auto" (rolling-origin backtest choice among statistical
            models, the global LightGBM model and combinations, conformal intervals; see
            :mod:`sop_core.planning.forecast.auto`), "lightgbm" (the global model alone, conformal intervals) or
            "prophet" (:mod:`sop_core.planning.forecast.prophet_engine`).
        level: prediction-interval coverages [%].
        n_jobs: worker processes.
        id_col: series id column.
        time_col: period start column.
        target_col: demand column [units].
        exog_cols: exogenous columns of ``history`` (price, promo flag, event flags) used by "auto",
            "lightgbm" and "prophet".
        future_exog: ``unique_id, ds`` + ``exog_cols`` for the forecast periods (id and time columns named
            as in ``history``).
        uplift: ``unique_id, ds, uplift`` known event uplift u [fraction] over history and future. The
            statistical engine (and the statistical members of "auto") forecast the event-adjusted baseline
            y_t / (1 + u_t) and multiply the forecast and its bounds by (1 + u_t) of the future events
            (:mod:`sop_core.planning.forecast.events`); LightGBM takes u_t as a feature, Prophet as a regressor.
        progress: optional callback ``(fraction 0..1, message)``.
        chunk_runner: runs the statistical engine on chunks of whole series (e.g. on a cluster; see
            :mod:`sop_core.planning.forecast.chunks`) instead of ``n_jobs`` local processes; the numbers are
            the same. None: local.

    Returns:
        DataFrame[unique_id, ds, yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95, model]: ``horizon`` rows
        per series, starting the period after the last period of ``history``, sorted by id and period.

    Raises:
        ValueError: unknown engine, bad horizon or level, invalid history (see :func:`prepare_history`), or a
            ``chunk_runner`` with an engine other than "statistical".

    Example:
        >>> hist = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=12, freq="MS"),
        ...                      "y": 50.0})
        >>> fc = forecast(hist, horizon=3)
        >>> fc["ds"].dt.strftime("%Y-%m").tolist(), fc["yhat"].round(6).tolist()
        (['2025-01', '2025-02', '2025-03'], [50.0, 50.0, 50.0])
    """
    check_engine(engine)
    _check_runner(engine, chunk_runner)
    h = _check_horizon(horizon)
    levels = _check_level(level)
    full = prepare_history(history, freq, id_col=id_col, time_col=time_col, target_col=target_col)
    if engine == "statistical":
        out = _statistical(full, h, levels, freq, n_jobs, _rename(uplift, id_col, time_col), progress, chunk_runner)
    else:
        out = forecast_details(
            full, h, freq, engine, levels, n_jobs=n_jobs, exog=_exog(history, full, exog_cols, id_col, time_col),
            future_exog=_rename(future_exog, id_col, time_col), uplift=_rename(uplift, id_col, time_col),
            progress=progress,
        ).forecast
    log.info("forecast: %d series × %d periods, models %s", full["unique_id"].nunique(), h, out["model"].value_counts().to_dict())
    return out.rename(columns={"unique_id": id_col, "ds": time_col})


def _check_runner(engine: str, chunk_runner: ChunkRunner | None) -> None:
    """Raise ValueError when a chunk runner is given for an engine that is not forecast series by series."""
    if chunk_runner is not None and engine != "statistical":
        raise ValueError(f"the {engine!r} engine fits all series together: only the statistical engine runs in "
                         "chunks of series")


def _statistical(full: pd.DataFrame, h: int, levels: Sequence[int], freq: str, n_jobs: int,
                 uplift: pd.DataFrame | None, progress: Progress | None = None,
                 chunk_runner: ChunkRunner | None = None) -> pd.DataFrame:
    """The statistical engine with known events: the baseline b_t = y_t / (1 + u_t) is forecast and the
    forecast and bounds are multiplied by (1 + u_t) of the future periods (:mod:`sop_core.planning.forecast.events`).
    With a ``chunk_runner``, or ``n_jobs`` > 1 local processes (:class:`ProcessPoolRunner`), the baseline is
    forecast by chunks of whole series (every series on its own: the same numbers as one process)."""
    baseline = remove_uplift(full, uplift)
    if chunk_runner is None and n_jobs > 1 and baseline["unique_id"].nunique() > 1:
        chunk_runner = ProcessPoolRunner(n_jobs)
    if chunk_runner is None:
        base = StatisticalForecaster(freq=freq, n_jobs=n_jobs).forecast(baseline, h, levels, progress=progress)
    else:
        baseline = baseline.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
        chunks = series_chunks(baseline, chunk_runner.n_chunks)
        parts = chunk_runner(partial(statistical_chunk, h=h, levels=tuple(levels), freq=freq), chunks, progress)
        base = pd.concat(parts, ignore_index=True).sort_values(["unique_id", "ds"], kind="stable")
        base = base.reset_index(drop=True)
    return apply_uplift(base, uplift)


def statistical_chunk(chunk: pd.DataFrame, h: int, levels: tuple[int, ...], freq: str) -> pd.DataFrame:
    """The statistical forecast of the series of ``chunk`` (complete long ``unique_id, ds, y``) in this process:
    the unit of work a :class:`sop_core.planning.forecast.chunks.ChunkRunner` runs (see
    :meth:`StatisticalForecaster.forecast` for the columns)."""
    return StatisticalForecaster(freq=freq, n_jobs=1).forecast(chunk, h, levels)


def _rename(frame: pd.DataFrame | None, id_col: str, time_col: str) -> pd.DataFrame | None:
    if frame is None:
        return None
    out = frame.rename(columns={id_col: "unique_id", time_col: "ds"})
    out["ds"] = pd.to_datetime(out["ds"])
    return out


def _exog(history: pd.DataFrame, full: pd.DataFrame, cols: Sequence[str], id_col: str, time_col: str) -> pd.DataFrame | None:
    """Exogenous columns on the completed grid of ``full`` (gaps: the series' previous value, else 0)."""
    if not cols:
        return None
    missing = [c for c in cols if c not in history.columns]
    if missing:
        raise ValueError(f"history: missing exogenous column(s) {', '.join(missing)}")
    ex = _rename(history[[id_col, time_col, *cols]], id_col, time_col)
    assert ex is not None
    out = full[["unique_id", "ds"]].merge(ex, on=["unique_id", "ds"], how="left")
    out[list(cols)] = out.groupby("unique_id")[list(cols)].ffill().fillna(0.0)
    return out


def forecast_details(
    full: pd.DataFrame,
    h: int,
    freq: str,
    engine: str,
    levels: Sequence[int] = INTERVAL_LEVELS,
    *,
    n_jobs: int = 1,
    exog: pd.DataFrame | None = None,
    future_exog: pd.DataFrame | None = None,
    uplift: pd.DataFrame | None = None,
    windows: int = 3,
    progress: Progress | None = None,
) -> Any:
    """The "auto", "lightgbm" or "prophet" engine on a completed history, with its backtest details.

    Args:
        full: output of :func:`prepare_history`.
        h: horizon [periods].
        freq: pandas frequency alias.
        engine: "auto", "lightgbm" or "prophet".
        levels: interval coverages [%].
        n_jobs: worker processes.
        exog: ``unique_id, ds`` + exogenous columns on the grid of ``full``.
        future_exog: their values for the forecast periods.
        uplift: ``unique_id, ds, uplift`` known event uplift [fraction].
        windows: backtest origins of "auto" and "lightgbm" (choice and conformal intervals).
        progress: optional callback ``(fraction 0..1, message)``.

    Returns:
        :class:`sop_core.planning.forecast.auto.AutoResult` (for "prophet": the forecast, no backtest).
    """
    from sop_core.planning.forecast.auto import AutoResult, auto_forecast

    cols = [c for c in (exog.columns if exog is not None else []) if c not in ("unique_id", "ds")]
    data = full if exog is None else full.merge(exog, on=["unique_id", "ds"], how="left")
    if engine == "prophet":
        from sop_core.planning.forecast.prophet_engine import prophet_forecast

        regs = list(cols)
        fut = future_exog
        if uplift is not None and not uplift.empty:
            u = uplift.set_index(["unique_id", "ds"])["uplift"]
            data = data.assign(event_uplift=pd.Series(list(zip(data["unique_id"], data["ds"], strict=True))).map(u).fillna(0.0).to_numpy())
            last = data.groupby("unique_id")["ds"].max()
            grid = pd.DataFrame({"unique_id": np.repeat(last.index.to_numpy(), h),
                                 "ds": np.concatenate([pd.date_range(d, periods=h + 1, freq=freq)[1:] for d in last.to_numpy()])})
            grid["event_uplift"] = pd.Series(list(zip(grid["unique_id"], grid["ds"], strict=True))).map(u).fillna(0.0).to_numpy()
            fut = grid if fut is None else fut.merge(grid, on=["unique_id", "ds"], how="right")
            regs.append("event_uplift")
        out = prophet_forecast(data, h, freq, regressors=regs, future_exog=fut, n_jobs=n_jobs)
        cols_out = ["unique_id", "ds", "yhat", *[f"yhat_{s}_{lv}" for lv in levels for s in ("lo", "hi")], "model"]
        return AutoResult(forecast=out[cols_out], choice=pd.DataFrame(columns=["unique_id", "model", "mae", "n_points"]),
                          backtest=pd.DataFrame(columns=["unique_id", "cutoff", "ds", "y", "yhat", "model"]),
                          params={"regressors": regs})
    candidates = ("LightGBM",) if engine == "lightgbm" else None
    return auto_forecast(data, h, freq, levels, exog_cols=cols, future_exog=future_exog, uplift=uplift,
                         windows=windows, candidates=candidates, n_jobs=n_jobs, progress=progress)


def backtest(
    history: pd.DataFrame,
    horizon: int,
    windows: int = 1,
    engine: str = "statistical",
    freq: str = "MS",
    *,
    step: int | None = None,
    n_jobs: int = 1,
    id_col: str = "unique_id",
    time_col: str = "ds",
    target_col: str = "y",
    exog_cols: Sequence[str] = (),
    uplift: pd.DataFrame | None = None,
    progress: Progress | None = None,
    chunk_runner: ChunkRunner | None = None,
) -> pd.DataFrame:
    """Rolling-origin evaluation: refit the whole procedure at each cutoff and forecast ``horizon`` periods.

    The last window ends with the last period of ``history``; earlier windows start ``step`` periods apart.
    At each cutoff only the history up to and including the cutoff is used (model choice included).

    Args:
        history: long frame as for :func:`forecast`.
        horizon: periods forecast after each cutoff (h) [periods].
        windows: number of cutoffs (≥ 1).
        engine: as for :func:`forecast`.
        freq: pandas frequency alias of the periods.
        step: periods between cutoffs [periods]; default ``horizon``.
        n_jobs: worker processes.
        id_col: series id column.
        time_col: period start column.
        target_col: demand column [units].
        exog_cols: exogenous columns of ``history`` (their actual future values are used: known in advance).
        uplift: known event uplift ``unique_id, ds, uplift`` [fraction], used by every engine as in
            :func:`forecast` (events are planned in advance: a window knows the events of its test periods).
        progress: optional callback ``(fraction 0..1, message)``.
        chunk_runner: as for :func:`forecast` (statistical engine only).

    Returns:
        DataFrame[unique_id, cutoff, ds, y, yhat, model], sorted by cutoff, id and period; series that start
        after a cutoff are absent from that window.

    Raises:
        ValueError: unknown engine, windows < 1, no history before the first cutoff, or a ``chunk_runner`` with
            an engine other than "statistical".
    """
    check_engine(engine)
    _check_runner(engine, chunk_runner)
    h = _check_horizon(horizon)
    if int(windows) != windows or windows < 1:
        raise ValueError(f"windows must be a whole number ≥ 1, got {windows!r}")
    step = _check_horizon(step or h)
    report = progress or (lambda _f, _m: None)
    full = prepare_history(history, freq, id_col=id_col, time_col=time_col, target_col=target_col)
    exog = _exog(history, full, exog_cols, id_col, time_col)
    uplift = _rename(uplift, id_col, time_col)
    periods = pd.DatetimeIndex(sorted(full["ds"].unique()))
    parts: list[pd.DataFrame] = []
    for w in range(int(windows)):
        back = h + (int(windows) - 1 - w) * step
        if back >= len(periods):
            raise ValueError(f"backtest: {len(periods)} periods of history are too few for {windows} window(s) of {h}")
        cutoff = periods[-back - 1]
        train = full[full["ds"] <= cutoff]
        test = full[(full["ds"] > cutoff) & (full["ds"] <= periods[-back - 1 + h])]
        report(w / windows, f"Backtest window {w + 1} of {windows} (cutoff {cutoff:%Y-%m})…")
        if engine == "statistical":
            fc = _statistical(train, h, (), freq, n_jobs, uplift, chunk_runner=chunk_runner)  # points only
        else:
            ex_train = exog[exog["ds"] <= cutoff] if exog is not None else None
            ex_future = exog[exog["ds"] > cutoff] if exog is not None else None
            fc = forecast_details(train, h, freq, engine, (80,), n_jobs=n_jobs, exog=ex_train,
                                  future_exog=ex_future, uplift=uplift).forecast
        got = test.merge(fc[["unique_id", "ds", "yhat", "model"]], on=["unique_id", "ds"], how="inner")
        got.insert(1, "cutoff", cutoff)
        parts.append(got[["unique_id", "cutoff", "ds", "y", "yhat", "model"]])
    report(1.0, "Backtest done")
    out = pd.concat(parts, ignore_index=True).sort_values(["cutoff", "unique_id", "ds"], kind="stable")
    return out.reset_index(drop=True).rename(columns={"unique_id": id_col, "ds": time_col, "y": target_col})
