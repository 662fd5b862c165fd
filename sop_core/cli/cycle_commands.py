"""`python -m sop_core cycle …`: the monthly plan cycles and their states."""

from __future__ import annotations

import argparse

from sop_core.cli.common import acting_user_option, actor, hinted, open_engine, print_frame


def cmd_cycle(args: argparse.Namespace) -> int:
    from sop_core.services import cycle

    engine = open_engine()
    if args.action == "list":
        frame = cycle.cycles_frame(engine)
        if frame.empty:
            print("no plan cycles yet")
        else:
            frame = frame.assign(status_at=frame["status_at"].map(lambda t: f"{t:%Y-%m-%d %H:%M}" if t else ""))
            print_frame(frame[["month", "status", "status_by", "status_at", "plan_version", "frozen", "signed_by"]])
        return 0
    if not args.cycle or not args.to:
        raise ValueError("cycle advance needs --cycle YYYY-MM and --to STATE")
    cyc = cycle.cycle_by_month(engine, args.cycle)
    state = cycle.advance(engine, cyc.id, args.to, actor(args), args.note)
    print(f"cycle {cyc.label}: {cyc.status} → {state}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from sop_core.services.cycle import CYCLE_STATES

    p = sub.add_parser("cycle", help="plan cycles and their states",
                       parents=[acting_user_option("the owner of the state left or entered, or an admin")])
    p.add_argument("action", choices=["list", "advance"])
    p.add_argument("--cycle", help="the cycle's month, YYYY-MM (advance)")
    p.add_argument("--to", choices=CYCLE_STATES, help="the state to move to (advance)")
    p.add_argument("--note", default="", help="a note stored with the state change")
    p.set_defaults(func=hinted(cmd_cycle))
