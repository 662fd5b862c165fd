"""``python -m sop_core``: the command line of S&OP Studio, one module per area of commands.

Each ``*_commands`` module has ``register(subparsers)``; :func:`build_parser` lists them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from sop_core.cli import (
    cycle_commands,
    data_commands,
    forecast_commands,
    monitor_commands,
    pricing_commands,
    review_commands,
    user_commands,
    whatif_commands,
)
from sop_core.cli.common import silence_solver_banner

#: The areas of commands, in the order ``--help`` lists them.
COMMAND_AREAS = (data_commands, user_commands, forecast_commands, cycle_commands, review_commands, whatif_commands,
                 pricing_commands, monitor_commands)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit 2), like the other errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m sop_core",
        description="S&OP Studio batch jobs. The database is SOP_DATABASE_URL (default: the SQLite file data/sop.db).",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for area in COMMAND_AREAS:
        area.register(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    silence_solver_banner()
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's contract: one line, non-zero exit
        if args.debug:
            raise
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1
