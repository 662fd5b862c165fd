"""Wall time of the default (statistical) engine on a Dask cluster against this machine, on the demo company.

The demo company at ``--scale`` (1 → 176 SKUs × 48 months; 10 → 1,760 SKUs) with its event calendar is forecast
``--horizon`` months ahead (with 80 % / 95 % intervals) by:

* the local pool: :func:`sop_core.services.forecasting.statistical_forecast` with ``--workers`` processes;
* Dask, a LocalCluster of 1 worker and of ``--workers`` workers (one thread each), chunks of whole series
  (:mod:`sop_core.services.forecast_backends`); the cluster is started and warmed up (imports, compiled
  statsforecast code) before the clock starts: a long-lived cluster pays that once;
* statsforecast AutoETS alone (season 12, intervals, naive where it cannot fit, ``--workers`` processes) on the
  same series: a floor for one model of the engine's several.

Every figure is the best of ``--repeat`` runs [s]; ratios are to the Dask cluster of ``--workers`` workers
(> 1: slower than it). It also checks that the Dask forecasts equal the local ones (largest difference).
``--no-dask`` measures the local engine alone, on 1 and on ``--workers`` processes, against AutoETS: the
engine's time as a share of AutoETS's and its speed-up on ``--workers`` processes, with the CPU seconds of
each figure (this process and its worker processes).

    PYTHONPATH=. .venv/bin/python bench/forecast_dask.py [--scale 1] [--workers 2] [--repeat 2] [--horizon 18]
        [--no-dask]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sop_core.io import demo  # noqa: E402
from sop_core.planning.forecast.chunks import ChunkRunner  # noqa: E402
from sop_core.services import forecast_backends, forecasting  # noqa: E402
from sop_core.units import FORECAST_HORIZON  # noqa: E402

VALUES = ["yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]


def _cpu() -> float:
    """CPU seconds of this process and of its ended child processes [s]."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _best(fn: Callable[[], pd.DataFrame], repeat: int) -> tuple[float, pd.DataFrame]:
    """The shortest wall time of ``repeat`` calls of ``fn`` [s] and its last result."""
    times, out = [], pd.DataFrame()
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def _local_only(long: pd.DataFrame, uplift: pd.DataFrame, horizon: int, workers: int, repeat: int) -> None:
    """The local engine on 1 and ``workers`` processes against AutoETS on ``workers`` processes: wall [s],
    CPU [s], the ratios."""
    figures: dict[str, tuple[float, float]] = {}
    runs: list[tuple[str, Callable[[], pd.DataFrame]]] = [
        ("engine, 1 process", lambda: _engine(long, uplift, horizon, 1)),
        (f"engine, {workers} processes", lambda: _engine(long, uplift, horizon, workers)),
        (f"statsforecast AutoETS alone, {workers} processes", lambda: _auto_ets(long, horizon, workers)),
    ]
    for name, fn in runs:
        cpu0 = _cpu()
        wall, _ = _best(fn, repeat)
        figures[name] = (wall, (_cpu() - cpu0) / repeat)
        print(f"  {name:<45} {wall:9.1f} s wall {figures[name][1]:9.1f} s CPU   {_load()}", flush=True)
    one, many = figures["engine, 1 process"][0], figures[f"engine, {workers} processes"][0]
    ets = figures[f"statsforecast AutoETS alone, {workers} processes"][0]
    print(f"engine / AutoETS on {workers} processes: {many / ets:.2f} of its wall time")
    print(f"speed-up of the engine on {workers} processes over 1: {one / many:.2f}×")


def _load() -> str:
    return "load " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def _engine(long: pd.DataFrame, uplift: pd.DataFrame, horizon: int, workers: int,
            runner: ChunkRunner | None = None) -> pd.DataFrame:
    return forecasting.statistical_forecast(long, horizon, uplift, workers=workers, chunk_runner=runner)


def _on_dask(long: pd.DataFrame, uplift: pd.DataFrame, horizon: int, workers: int, repeat: int) -> tuple[float, pd.DataFrame]:
    with forecast_backends.open_backend("dask", workers=workers) as runner:
        assert runner is not None
        _engine(first_series(long), uplift, 3, 1, runner)  # warm-up: every worker imports and compiles once
        return _best(lambda: _engine(long, uplift, horizon, 1, runner), repeat)


def first_series(long: pd.DataFrame, n: int = 100) -> pd.DataFrame:
    """The rows of the first ``n`` series of ``long``: enough to warm a process up (imports, compiled code)."""
    return long[long["unique_id"].isin(sorted(long["unique_id"].unique())[:n])]


def _auto_ets(long: pd.DataFrame, horizon: int, workers: int) -> pd.DataFrame:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, Naive

    sf = StatsForecast(models=[AutoETS(season_length=12)], freq="MS", n_jobs=workers, fallback_model=Naive())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sf.forecast(df=long, h=horizon, level=[80, 95])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="demo company scale (1 → 176 SKUs)")
    parser.add_argument("--workers", type=int, default=2, help="processes of the local pool and the larger cluster")
    parser.add_argument("--repeat", type=int, default=2, help="runs per figure (the best counts)")
    parser.add_argument("--horizon", type=int, default=FORECAST_HORIZON, help="months ahead")
    parser.add_argument("--no-dask", action="store_true",
                        help="the local engine on 1 and --workers processes against AutoETS only (CPU seconds too)")
    args = parser.parse_args()

    frames = demo.generate(scale=args.scale)
    history = frames["sales_history"][["sku", "period", "quantity"]].assign(period=lambda f: pd.to_datetime(f["period"]))
    long = forecasting.long_history(history)
    uplift = forecasting.event_uplift(frames["event"], frames["product"], sorted(history["sku"].astype(str).unique()))
    print(f"demo company at scale {args.scale}: {long['unique_id'].nunique()} series × {long['ds'].nunique()} months, "
          f"horizon {args.horizon}, best of {args.repeat}")

    if args.no_dask:  # warm-up of this process (imports, compiled statsforecast code) on a few series
        few = first_series(long)
        _engine(few, uplift, 3, 1)
        _auto_ets(few, 3, 1)
        _local_only(long, uplift, args.horizon, args.workers, args.repeat)
        return
    _engine(first_series(long), uplift, 3, args.workers)  # warm-up of this process (imports, compiled code)
    figures: dict[str, float] = {}
    figures[f"local pool, {args.workers} processes"], local = _best(
        lambda: _engine(long, uplift, args.horizon, args.workers), args.repeat)
    figures["dask, 1 worker"], one = _on_dask(long, uplift, args.horizon, 1, args.repeat)
    figures[f"dask, {args.workers} workers"], many = _on_dask(long, uplift, args.horizon, args.workers, args.repeat)
    _auto_ets(long, 3, args.workers)
    figures[f"statsforecast AutoETS alone, {args.workers} processes"], _ = _best(
        lambda: _auto_ets(long, args.horizon, args.workers), args.repeat)

    base = figures[f"dask, {args.workers} workers"]
    print(f"{'':<45} {'wall [s]':>9} {'ratio':>7}")
    for name, seconds in figures.items():
        print(f"{name:<45} {seconds:>9.2f} {seconds / base:>7.2f}")
    print(f"speed-up of {args.workers} Dask workers over 1: {figures['dask, 1 worker'] / base:.2f}×")
    for name, got in (("1 worker", one), (f"{args.workers} workers", many)):
        same = (got["model"].to_numpy() == local["model"].to_numpy()).all()
        diff = float(np.abs(got[VALUES].to_numpy(float) - local[VALUES].to_numpy(float)).max())
        print(f"dask {name} vs local: same model per series {same}, largest difference {diff:.3g}")


if __name__ == "__main__":
    main()
