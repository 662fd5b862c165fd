"""`python -m sop_core monitor`: run the KPI triggers and store the exceptions (once, or every N minutes)."""

from __future__ import annotations

import argparse
import datetime as dt
import time

from sqlalchemy import Engine

from sop_core.cli.common import CliError, acting_user_option, actor, hinted, open_engine

CRON_EXAMPLE = (
    "run it from cron, e.g. every 30 minutes:\n"
    "  */30 * * * * cd /srv/sop-studio && SOP_DATABASE_URL=postgresql+psycopg://sop@db/sop "
    ".venv/bin/python -m sop_core monitor --once --as sam >> /var/log/sop-monitor.log 2>&1"
)


def _cycle_id(engine: Engine, label: str | None) -> int | None:
    if not label:
        return None
    from sop_core.services.cycle import list_cycles

    match = [c for c in list_cycles(engine) if c.label == label]
    if not match:
        raise CliError(f"no cycle {label}; see `python -m sop_core cycle list`")
    return match[0].id


def _run_once(engine: Engine, cycle_id: int | None, user: str) -> None:
    from sop_core.services.monitor import KIND_LABELS, run_monitor

    result = run_monitor(engine, cycle_id, user=user)
    found = ", ".join(f"{KIND_LABELS[k].lower()} {n}" for k, n in result.found.items())
    print(
        f"{result.run_at:%Y-%m-%d %H:%M:%S} monitor: found {found}; stored {result.stored} new, "
        f"{result.already_open} already open, {result.resolved} resolved",
        flush=True,
    )
    for note in result.notes:
        print(f"  note: {note}", flush=True)


def cmd_monitor(args: argparse.Namespace) -> int:
    if args.every is not None and args.every <= 0:
        raise CliError(f"--every must be a positive number of minutes, got {args.every}")
    engine = open_engine()
    cycle_id = _cycle_id(engine, args.cycle)
    if args.once or args.every is None:
        _run_once(engine, cycle_id, actor(args))
        return 0
    while True:  # stopped with Ctrl-C (the CLI exits with 130)
        started = time.monotonic()
        _run_once(engine, cycle_id, actor(args))
        pause = max(0.0, args.every * 60 - (time.monotonic() - started))
        print(f"  next run at {dt.datetime.now() + dt.timedelta(seconds=pause):%H:%M:%S}", flush=True)
        time.sleep(pause)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this area's commands to the parser's subcommands."""
    p = sub.add_parser(
        "monitor",
        help="run the KPI triggers (reorder points, tracking signals, supplier OTIF) and store the exceptions",
        description=(
            "Check projected reorder-point breaches, tracking signals beyond ±4 and suppliers below their "
            "OTIF target; store each new exception once (an exception already open is not stored again; "
            "one no longer found is resolved)."
        ),
        epilog=CRON_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[acting_user_option("a planner or an admin")],
    )
    p.add_argument("--every", type=float, metavar="MINUTES", help="keep running, one check every MINUTES")
    p.add_argument("--once", action="store_true", help="run the checks once and exit (the default; use it in cron)")
    p.add_argument(
        "--cycle", metavar="YYYY-MM", help="the cycle whose forecast drives the projection (default: newest)"
    )
    p.set_defaults(func=hinted(cmd_monitor))
