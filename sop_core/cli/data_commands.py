"""`python -m sop_core init-db | demo | import | template | kpi | figures`: set-up and data."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sop_core.cli.common import (
    CliError,
    acting_user_option,
    actor,
    hinted,
    open_engine,
    print_frame,
    progress_bar,
    store_figures,
)

if TYPE_CHECKING:
    from sop_core.io.import_issues import ImportIssue


def cmd_init_db(_args: argparse.Namespace) -> int:
    from sop_core.services.bootstrap import ensure_ready

    engine = open_engine()
    seeded = ensure_ready(engine, seed_demo=False)
    print(f"database ready at schema head: {engine.url.render_as_string(hide_password=True)}" + (" (seeded)" if seeded else ""))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from sop_core.db import models as m
    from sop_core.db import repo
    from sop_core.db.engine import session_scope
    from sop_core.services.bootstrap import seed_demo_company

    if args.scale < 1:
        raise CliError(f"--scale must be ≥ 1, got {args.scale}")
    if args.workers is not None and args.workers < 1:
        raise CliError(f"--workers must be ≥ 1, got {args.workers}")
    engine = open_engine()
    with session_scope(engine) as s:
        has_data = repo.count_rows(s, m.Product) > 0
    if has_data and not args.reset:
        raise CliError("the database already holds data; use `demo --reset` to replace everything with the demo company")
    t0 = time.perf_counter()
    seeded = seed_demo_company(engine, seed=args.seed, scale=args.scale, reset=args.reset, workers=args.workers,
                               user=actor(args),
                               progress=progress_bar())
    print(f"demo company written in {time.perf_counter() - t0:.1f} s: "
          + ", ".join(f"{k} {v}" for k, v in seeded.written.items()))
    print("summary: " + ", ".join(f"{k} {v}" for k, v in seeded.summary.items()))
    return 0


#: How many problems of a refused import are printed; ``--errors FILE.csv`` writes them all.
MAX_PRINTED_ISSUES = 50


def _print_issues(issues: Sequence[ImportIssue], errors_file: Path | None) -> None:
    """Every problem of a refused import on stderr, one a line (file, row, column, value, reason), at most
    :data:`MAX_PRINTED_ISSUES`; a single problem is a single ``error: …`` line."""
    if len(issues) == 1:
        print(f"error: {issues[0]}", file=sys.stderr)
        return
    print(f"error: {len(issues)} problems; nothing was imported:", file=sys.stderr)
    for issue in issues[:MAX_PRINTED_ISSUES]:
        print(f"  {issue}", file=sys.stderr)
    more = len(issues) - MAX_PRINTED_ISSUES
    if more > 0:
        where = f"{errors_file} holds them all" if errors_file else "--errors FILE.csv writes them all"
        print(f"  … and {more} more; {where}", file=sys.stderr)


def cmd_import(args: argparse.Namespace) -> int:
    from sop_core.io import import_issues, ingest

    paths = [Path(p) for p in args.files]
    for p in paths:
        if not p.is_file():
            raise CliError(f"{p}: no such file")
    errors_file = Path(args.errors) if args.errors else None
    engine = open_engine()
    try:
        bar = progress_bar() if sys.stderr.isatty() else None  # piped stderr keeps the problems alone
        report = ingest.import_files(engine, paths, table=args.table, user=actor(args), progress=bar)
    except import_issues.ImportFailed as err:
        if errors_file:
            _write_errors(errors_file, import_issues.issues_csv(err.issues))
        _print_issues(err.issues, errors_file)
        if errors_file:
            n = len(err.issues)
            print(f"{errors_file} written ({n} problem{'s' if n != 1 else ''})", file=sys.stderr)
        return 1
    if errors_file:  # no stale list from an earlier run: the header alone
        _write_errors(errors_file, import_issues.issues_csv([]))
    print(report)
    for note in report.notes:
        print(note)
    if not args.no_figures:
        store_figures(engine, None)
    return 0



def _write_errors(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def cmd_template(args: argparse.Namespace) -> int:
    from sop_core.io import import_templates

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = import_templates.write_templates(out)
    print(f"{len(written)} templates written to {out}:")
    for p in written:
        print(f"  {p.name}")
    return 0


def cmd_kpi(_args: argparse.Namespace) -> int:
    from sop_core.services import kpi

    engine = open_engine()
    print_frame(kpi.kpi_summary(engine))
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    from sop_core.services.cycle import cycle_by_month

    engine = open_engine()
    store_figures(engine, cycle_by_month(engine, args.cycle).id if args.cycle else None)
    return 0


# --------------------------------------------------------------------------- parser
def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this area's commands to the parser's subcommands."""
    p = sub.add_parser("init-db", help="create or upgrade the schema (no data)")
    p.set_defaults(func=cmd_init_db)

    p = sub.add_parser("demo", help="load the demo company (deterministic) and a baseline forecast",
                       parents=[acting_user_option("an admin, for --reset")])
    p.add_argument("--reset", action="store_true", help="empty every table first")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--scale", type=int, default=1,
                   help="multiply the catalogue: SKUs, suppliers and resources (default 1: 176 SKUs)")
    p.add_argument("--workers", type=int, default=None,
                   help="forecast processes (default: every core from 500 SKUs on, else 1)")
    p.set_defaults(func=hinted(cmd_demo))

    p = sub.add_parser("import", help="validate and load CSV/XLSX extracts in one transaction",
                       parents=[acting_user_option("a planner or an admin")])
    p.add_argument("files", nargs="+", metavar="FILE", help="e.g. product.csv sales_history.xlsx")
    p.add_argument("--table", help="target table (default: taken from each file name)")
    p.add_argument(
        "--errors",
        metavar="FILE.csv",
        help="write every problem of a refused import to FILE.csv (columns file,row,column,value,reason)",
    )
    p.add_argument("--no-figures", action="store_true",
                   help="leave the pages' stored figures for a later `figures` (e.g. before further imports)")
    p.set_defaults(func=hinted(cmd_import))

    p = sub.add_parser("template", help="write a CSV and an XLSX import template per input table")
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("kpi", help="print the operational KPIs")
    p.set_defaults(func=cmd_kpi)

    p = sub.add_parser("figures", help="compute and store the figures the pages open with (after an import or a "
                       "forecast run: the first visits read them)")
    p.add_argument("--cycle", metavar="YYYY-MM", help="the cycle (default: the newest)")
    p.set_defaults(func=cmd_figures)
