"""`python -m sop_core reproduce …` and `python -m sop_core export …`: the signed plan and the meeting pack."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sop_core.cli import _engine


def cmd_reproduce(args: argparse.Namespace) -> int:
    from sop_core.services import workflow

    engine = _engine()
    cyc = workflow.cycle_by_month(engine, args.cycle)
    report = workflow.reproduce(engine, cyc.id)
    if report.ok:
        print(f"match: {report.summary()}")
        for note in report.notes:
            print(f"note: package version changed: {note}")
        return 0
    print(f"mismatch: {report.summary()}", file=sys.stderr)
    return 1


def cmd_export(args: argparse.Namespace) -> int:
    from sop_core import export
    from sop_core.services import workflow

    engine = _engine()
    cyc = workflow.cycle_by_month(engine, args.cycle) if args.cycle else workflow.current_cycle(engine)
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".pptx"):
        raise ValueError(f"--out {out.name}: use a .xlsx (meeting pack) or .pptx (deck) file name")
    data = export.excel_pack(engine, cyc.id) if suffix == ".xlsx" else export.deck(engine, cyc.id)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(f"cycle {cyc.label}: {out} written ({len(data) / 1024:.0f} KiB)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce", help="re-run a signed cycle's forecast and plan and compare every number")
    p.add_argument("--cycle", required=True, help="the cycle's month, YYYY-MM")
    p.set_defaults(func=cmd_reproduce)
    p = sub.add_parser("export", help="the meeting pack (.xlsx) or slide deck (.pptx) of a cycle")
    p.add_argument("--cycle", help="the cycle's month, YYYY-MM (default: the current cycle)")
    p.add_argument("--out", required=True, help="pack.xlsx or deck.pptx")
    p.set_defaults(func=cmd_export)
