"""A small linear-program builder on HiGHS shared by the constrained supply plan (:mod:`sop_core.planning.balance`)
and the textbook aggregate plan (:mod:`sop_core.planning.aggregate_planning`): columns, rows and a sparse matrix
handed to ``highspy.Highs`` in one call."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeAlias

import highspy
import numpy as np
import pandas as pd

from sop_core.errors import SopError

log = logging.getLogger(__name__)

INF = highspy.kHighsInf
#: Duals and slacks below this are treated as zero.
TOL = 1e-6


class BalanceError(SopError):
    """The planning problem has no optimal solution or its inputs are inconsistent."""


class LinearProgram:
    """Columns, rows and COO triplets of one LP; :meth:`highs` hands them to HiGHS in one call."""

    def __init__(self) -> None:
        self.cost: list[np.ndarray] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.integer: list[np.ndarray] = []
        self.col_names: list[np.ndarray] = []
        self.row_lower: list[np.ndarray] = []
        self.row_upper: list[np.ndarray] = []
        self.row_names: list[np.ndarray] = []
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.n_col = 0
        self.n_row = 0

    def add_cols(
        self,
        names: np.ndarray,
        cost: np.ndarray | float,
        lower: np.ndarray | float = 0.0,
        upper: np.ndarray | float = INF,
        integer: bool = False,
    ) -> np.ndarray:
        n = len(names)
        idx = np.arange(self.n_col, self.n_col + n)
        self.n_col += n
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=float), n).copy())
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=float), n).copy())
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=float), n).copy())
        self.integer.append(np.full(n, 1 if integer else 0, dtype=np.int32))
        self.col_names.append(np.asarray(names, dtype=object))
        return idx

    def add_rows(self, names: np.ndarray, lower: np.ndarray | float, upper: np.ndarray | float) -> np.ndarray:
        n = len(names)
        idx = np.arange(self.n_row, self.n_row + n)
        self.n_row += n
        self.row_lower.append(np.broadcast_to(np.asarray(lower, dtype=float), n).copy())
        self.row_upper.append(np.broadcast_to(np.asarray(upper, dtype=float), n).copy())
        self.row_names.append(np.asarray(names, dtype=object))
        return idx

    def add_coef(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray | float) -> None:
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        vals = np.broadcast_to(np.asarray(vals, dtype=float), rows.shape).ravel().copy()
        self.rows.append(rows.ravel())
        self.cols.append(cols.ravel())
        self.vals.append(vals)

    @staticmethod
    def _cat(parts: list[np.ndarray], dtype: type = float) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    def highs(self) -> tuple[highspy.Highs, int]:
        """A silent ``Highs`` holding the model; returns it and the number of non-zeros."""
        rows, cols, vals = self._cat(self.rows, np.int64), self._cat(self.cols, np.int64), self._cat(self.vals)
        keep = vals != 0.0
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
        order = np.lexsort((rows, cols))
        rows, cols, vals = rows[order], cols[order], vals[order]
        start = np.searchsorted(cols, np.arange(self.n_col + 1)).astype(np.int32)
        integrality = self._cat(self.integer, np.int32)
        h = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no annotations for it
        h.silent()
        status = h.passModel(
            self.n_col,
            self.n_row,
            len(vals),
            1,  # column-wise
            1,  # minimise
            0.0,
            self._cat(self.cost),
            self._cat(self.lower),
            self._cat(self.upper),
            self._cat(self.row_lower),
            self._cat(self.row_upper),
            start[:-1].copy(),
            rows.astype(np.int32),
            vals,
            integrality,
        )
        if status == highspy.HighsStatus.kError:
            raise BalanceError("the planning model could not be passed to HiGHS")
        return h, len(vals)

    def names(self) -> tuple[np.ndarray, np.ndarray]:
        return self._cat(self.col_names, object), self._cat(self.row_names, object)


def lp_name(*parts: object) -> str:
    """An LP-file-safe name: ``cap_ULM-ESP_2027-03`` → ``cap_ULM.ESP_2027.03`` (the LP writer
    of HiGHS rejects "-", spaces and brackets)."""
    text = "_".join(str(p) for p in parts)
    return "".join(c if c.isalnum() or c in "_." else "." for c in text)


def month_label(ts: pd.Timestamp) -> str:
    return str(pd.Timestamp(ts).strftime("%Y-%m"))


#: Called with the built, named HiGHS model just before it is solved, e.g. to write it as an ``.lp`` file
#: (:func:`sop_core.io.lp_files.lp_file_writer`): the math itself reads and writes no files.
BeforeSolve: TypeAlias = Callable[[highspy.Highs], None]


def hand_over_named(h: highspy.Highs, lp: LinearProgram, before_solve: BeforeSolve) -> None:
    """Give the model's columns and rows their LP-file-safe names (:func:`lp_name`) and hand it to ``before_solve``."""
    cols, rows = lp.names()
    for j, name in enumerate(cols):
        h.passColName(j, lp_name(name))
    for k, name in enumerate(rows):
        h.passRowName(k, lp_name(name))
    before_solve(h)


def run_to_optimum(h: highspy.Highs, what: str) -> float:
    t0 = time.perf_counter()
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise BalanceError(f"{what}: no optimal plan ({h.modelStatusToString(status)})")
    return time.perf_counter() - t0
