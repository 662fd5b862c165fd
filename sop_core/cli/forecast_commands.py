"""`python -m sop_core forecast …`: compute and store a forecast run with a progress bar."""

from __future__ import annotations

import argparse
import time

from sop_core.cli.common import (
    CliError,
    acting_user_option,
    actor,
    hinted,
    open_engine,
    progress_bar,
    store_figures,
)
from sop_core.units import FORECAST_HORIZON


def cmd_forecast(args: argparse.Namespace) -> int:
    from sop_core.services import forecast_backends, forecasting
    from sop_core.services.cycle import list_cycles

    if args.workers < 1:
        raise CliError(f"--workers must be ≥ 1, got {args.workers}")
    if args.horizon < 1:
        raise CliError(f"--horizon must be ≥ 1, got {args.horizon}")
    if args.scheduler and args.backend != "dask":
        raise CliError("--scheduler needs --backend dask")
    forecast_backends.check_backend(args.backend, args.engine)
    engine = open_engine()
    cycles = list_cycles(engine)
    cycle_id = None
    if args.cycle:
        match = [c for c in cycles if c.label == args.cycle]
        if not match:
            raise CliError(f"no cycle {args.cycle}; see `python -m sop_core cycle list`")
        cycle_id = match[0].id
    elif cycles:
        cycle_id = cycles[0].id
    t0 = time.perf_counter()
    with forecast_backends.open_backend(args.backend, scheduler=args.scheduler, workers=args.workers,
                                        engine_name=args.engine) as runner:
        run_id = forecasting.run_forecast(
            engine,
            cycle_id=cycle_id,
            horizon=args.horizon,
            engine_name=args.engine,
            workers=args.workers,
            user=actor(args),
            progress=progress_bar("forecast "),
            reconciliation=args.reconcile,
            chunk_runner=runner,
        )
    run = forecasting.run_info(engine, run_id)
    coverage = (run.get("backtest") or {}).get("coverage") or {}
    wmape = (run.get("backtest") or {}).get("wmape")
    extra = ""
    if wmape is not None:
        extra += f"; backtest WMAPE {100 * wmape:.1f} %"
    if coverage and all(v is not None for v in coverage.values()):
        extra += "; interval coverage " + ", ".join(f"{k} %: {100 * v:.1f} %" for k, v in coverage.items())
    print(f"forecast run {run_id} stored ({args.engine}, horizon {args.horizon}) on {run['params']['backend']} in {time.perf_counter() - t0:.1f} s{extra}")
    if not args.no_figures:
        store_figures(engine, cycle_id)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this area's commands to the parser's subcommands."""
    from sop_core.planning.forecast import ENGINES, RECONCILE_METHODS
    from sop_core.planning.forecast.chunks import BACKENDS

    p = sub.add_parser("forecast", help="compute and store a forecast run (statistical, auto, lightgbm, prophet)",
                       parents=[acting_user_option("a demand planner or an admin")])
    p.add_argument("--engine", default="statistical", choices=ENGINES,
                   help="forecast engine (default: statistical; auto = backtest choice incl. LightGBM)")
    p.add_argument("--horizon", type=int, default=FORECAST_HORIZON, help=f"months ahead (default {FORECAST_HORIZON})")
    p.add_argument("--workers", type=int, default=1,
                   help="processes to use (default 1; with --backend dask: the LocalCluster's workers)")
    p.add_argument("--backend", default="local", choices=BACKENDS,
                   help="where the series are forecast: local, or dask (statistical engine; a LocalCluster of "
                        "--workers processes, or the cluster of --scheduler)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://HOST:8786 (with --backend dask)")
    p.add_argument("--cycle", help="cycle YYYY-MM (default: the newest)")
    p.add_argument("--reconcile", default="bottom_up", choices=RECONCILE_METHODS,
                   help="hierarchy reconciliation (default bottom_up; ols / wls_struct = MinT)")
    p.add_argument("--no-figures", action="store_true", help="leave the pages' stored figures for a later `figures`")
    p.set_defaults(func=hinted(cmd_forecast))
