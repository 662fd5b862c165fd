"""The constrained plan's linear program as an ``.lp`` file, for reading or solving it elsewhere.

>>> import highspy
>>> callable(lp_file_writer("plan.lp"))
True
"""

from __future__ import annotations

import logging
from pathlib import Path

import highspy

from sop_core.planning.linear_program import BeforeSolve

log = logging.getLogger(__name__)


def lp_file_writer(path: str | Path) -> BeforeSolve:
    """A ``before_solve`` hook for :func:`sop_core.planning.balance_solve.solve` and
    :func:`sop_core.planning.aggregate_planning.aggregate_plan` that writes the named model to ``path`` (LP format)."""

    def write(h: highspy.Highs) -> None:
        h.writeModel(str(path))
        log.info("LP written to %s", path)

    return write
