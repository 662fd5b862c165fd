"""What every command of ``python -m sop_core`` shares: the database, the acting user, progress bars, tables,
one-line errors.

The acting user of a command that writes is the operating-system user, or ``--as NAME``; the services check
that user's role (:mod:`sop_core.services.permissions`) as they check a signed-in user's on the pages. The
command line reaches the database directly, so it trusts who runs it: ``--as`` names who acts and is recorded
in the audit trail, it proves nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import getpass
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TextIO

from sqlalchemy import Engine

from sop_core import config
from sop_core.errors import NotAllowed, SopError
from sop_core.units import Progress

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("sop_core")


class CliError(SopError):
    """A problem the user can fix; printed as one line."""


def acting_user_option(what: str = "a user whose role may do it") -> argparse.ArgumentParser:
    """A parent parser with ``--as NAME``, the acting user (default: the operating-system user)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--as", dest="acting_user", metavar="NAME",
                        help=f"the acting user, {what} (default: the operating-system user)")
    return parent


def actor(args: argparse.Namespace) -> str:
    """The acting user of a command: ``--as NAME``, else the operating-system user."""
    return getattr(args, "acting_user", None) or getpass.getuser()


def hinted(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``command``, with a refusal's message naming the acting user and the way out: ``--as NAME``."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except NotAllowed as err:
            raise CliError(f"{err} (acting user: {actor(args)}; act as a user with that role with --as NAME)") \
                from err

    return run


def progress_bar(label: str = "") -> Progress:
    """A progress callback drawing a one-line bar on stderr."""
    start = time.perf_counter()
    tty = sys.stderr.isatty()

    def report(fraction: float, message: str) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        filled = int(30 * fraction)
        line = f"{label}[{'#' * filled}{'.' * (30 - filled)}] {100 * fraction:5.1f} % {message} ({time.perf_counter() - start:.1f} s)"
        if tty:
            sys.stderr.write("\r\x1b[2K" + line)
            if fraction >= 1.0:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    return report


def open_engine() -> Engine:
    """The engine of the configured database (``SOP_DATABASE_URL``), its schema upgraded to head."""
    from sop_core.db.engine import make_engine
    from sop_core.db.migrate import upgrade

    engine = make_engine(config.database_url())
    upgrade(engine)
    return engine


@contextlib.contextmanager
def solver_chatter_to_stderr() -> Iterator[None]:
    """Send what native libraries print on standard output (the LP solver's banner) to standard error while
    the block runs, so that a command's own output (JSON, CSV) stays clean for the next program in a pipe."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def silence_solver_banner() -> None:
    """Make the process's first LP solver with standard output sent to the null device: HiGHS prints its banner
    (version, copyright) on the first one a process makes, and no command should print a library's text."""
    import highspy

    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no annotations for it
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def print_frame(frame: pd.DataFrame, out: TextIO | None = None) -> None:
    """Print ``frame`` as a plain table (up to 500 rows) on ``out`` (default: standard output)."""
    import pandas as pd

    with pd.option_context("display.max_rows", 500, "display.width", 200, "display.max_columns", 30):
        print(frame.to_string(index=False), file=out or sys.stdout)


# --------------------------------------------------------------------------- commands


def store_figures(engine: Engine, cycle_id: int | None) -> None:
    """Compute and store the figures the pages open with (a progress bar on a terminal), and say so."""
    from sop_core.services.page_figures import store_page_figures

    t0 = time.perf_counter()
    stored = store_page_figures(engine, cycle_id, progress=progress_bar("figures ") if sys.stderr.isatty() else None)
    print(f"{len(stored)} page figures stored in {time.perf_counter() - t0:.1f} s: the pages open with them")
