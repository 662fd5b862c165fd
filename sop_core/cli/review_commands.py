"""`python -m sop_core reproduce …`, `… export …` and `… diff …`: the signed plan, the meeting pack and the
plan diff between any two plan versions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sop_core.cli.common import open_engine
from sop_core.text_checks import spreadsheet_safe


def cmd_reproduce(args: argparse.Namespace) -> int:
    from sop_core.services.cycle import cycle_by_month
    from sop_core.services.reproduce import reproduce

    engine = open_engine()
    cyc = cycle_by_month(engine, args.cycle)
    report = reproduce(engine, cyc.id)
    if report.ok:
        print(f"match: {report.summary()}")
        for note in report.notes:
            print(f"note: package version changed: {note}")
        return 0
    print(f"mismatch: {report.summary()}", file=sys.stderr)
    return 1


def cmd_export(args: argparse.Namespace) -> int:
    from sop_core.services import executive
    from sop_core.services.cycle import current_cycle, cycle_by_month

    engine = open_engine()
    cyc = cycle_by_month(engine, args.cycle) if args.cycle else current_cycle(engine)
    out = Path(args.out)
    suffix = out.suffix.lower()
    build = {".xlsx": executive.excel_pack, ".pptx": executive.deck, ".pdf": executive.summary}.get(suffix)
    if build is None:
        raise ValueError(f"--out {out.name}: use a .xlsx (meeting pack), .pptx (deck) or .pdf (summary for print) "
                         "file name")
    data = build(engine, cyc.id)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(f"cycle {cyc.label}: {out} written ({len(data) / 1024:.0f} KiB)")
    return 0


#: Money is printed to the cent; a check within half a cent is a match.
DIFF_TOLERANCE = 0.005
DIFF_LEVELS = {"family": "family", "sku": "sku", "period": "month"}


def _amount(value: float, measure: str) -> str:
    digits = 2 if measure == "revenue" else 1
    value = 0.0 if round(value, digits) == 0 else value  # no "-0.00" for float noise
    return f"{value:+,.{digits}f}"


def cmd_diff(args: argparse.Namespace) -> int:
    """The plan diff as a waterfall (cause, amount), the months it covers, the total change and the check that the
    parts add up. Without ``--from``/``--to`` the total change is the revenue vs last plan of the Executive review
    page and the meeting pack (:func:`sop_core.services.plan_changes.last_plan_change`)."""
    from sop_core.cli.common import print_frame
    from sop_core.planning import plan_diff as diff_math
    from sop_core.services.cycle import current_cycle
    from sop_core.services.plan_changes import plan_diff, plan_ref
    from sop_core.services.reproduce import REL_TOL

    engine = open_engine()
    if args.to:
        after = plan_ref(engine, args.to)
    else:
        cyc = current_cycle(engine)
        after = (cyc.id, cyc.plan_version)
    before = plan_ref(engine, args.from_) if args.from_ else None
    result = plan_diff(engine, after, before, measure=args.measure)
    unit = "revenue" if args.measure == "revenue" else "served units"
    print(f"plan diff ({unit}): {result.before_label} → {result.after_label}")
    print(f"over {result.basis}")
    steps = result.waterfall
    width = max(len(label) for label in steps["label"])
    for row in steps.itertuples(index=False):
        shown = f"{row.value:,.2f}" if row.kind != "relative" else _amount(row.value, args.measure)
        print(f"  {row.label:<{width}}  {shown:>18}")
    by_step = steps.set_index("step")["value"]
    parts = float(steps.loc[steps["kind"] == "relative", "value"].sum())
    total = float(by_step["after"] - by_step["before"])
    print(f"total change: {_amount(total, args.measure)}")
    ok = abs(parts - total) <= DIFF_TOLERANCE + REL_TOL * abs(total)
    print(f"check: the parts add up to {_amount(parts, args.measure)}; "
          f"after − before = {_amount(total, args.measure)}: " + ("ok" if ok else "MISMATCH"))
    table = None
    if args.level:
        table = result.by(args.level)
        if args.level == "period":
            table = table.assign(period=table["period"].dt.strftime("%Y-%m"))
        print()
        print(f"by {DIFF_LEVELS[args.level]}:")
        numbers = table.select_dtypes("number").columns
        print_frame(table.assign(**{c: table[c].round(2) + 0.0 for c in numbers}).rename(columns=diff_math.CAUSES))
    if args.csv:
        out = Path(args.csv)
        frame = table if table is not None else result.lines.assign(period=result.lines["period"].dt.strftime("%Y-%m"))
        out.parent.mkdir(parents=True, exist_ok=True)
        spreadsheet_safe(frame).to_csv(out, index=False)
        print(f"{out} written ({len(frame)} rows)")
    if not ok:
        print(f"error: the parts of the diff do not add up to the total change ({parts - total:+.6f})", file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("reproduce", help="re-run a signed cycle's forecast and plan and compare every number")
    p.add_argument("--cycle", required=True, help="the cycle's month, YYYY-MM")
    p.set_defaults(func=cmd_reproduce)
    p = sub.add_parser("export", help="the meeting pack (.xlsx), slide deck (.pptx) or summary for print (.pdf, A4 "
                                      "landscape) of a cycle")
    p.add_argument("--cycle", help="the cycle's month, YYYY-MM (default: the current cycle)")
    p.add_argument("--out", required=True, help="pack.xlsx, deck.pptx or summary.pdf")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser(
        "diff",
        help="what changed between two plan versions, split by cause (default: last signed plan → current plan)",
    )
    p.add_argument("--from", dest="from_", metavar="YYYY-MM[:vN]",
                   help="the plan before (default: the last signed plan of a cycle before --to's)")
    p.add_argument("--to", metavar="YYYY-MM[:vN]",
                   help="the plan after (default: the current cycle's current version); a month alone means "
                        "that cycle's current version")
    p.add_argument("--level", choices=list(DIFF_LEVELS), help="also print the parts per family, SKU or month")
    p.add_argument("--measure", choices=["revenue", "units"], default="revenue",
                   help="revenue (default) or served units")
    p.add_argument("--csv", metavar="OUT.csv",
                   help="write the parts to a CSV file (per --level, else per SKU and month)")
    p.set_defaults(func=cmd_diff)
