"""The problems an import finds (:class:`ImportIssue`), the refusal that carries them (:class:`ImportFailed`), and
the list of them as a table or as the CSV of ``--errors FILE.csv``.

>>> issue = ImportIssue("sales_history.csv", 14, "quantity", "-4", "is negative; quantities must be ≥ 0")
>>> str(issue)
'sales_history.csv row 14, column quantity: -4 is negative; quantities must be ≥ 0'
>>> str(ImportFailed([issue, issue]))
'sales_history.csv row 14, column quantity: -4 is negative; quantities must be ≥ 0 (and 1 more)'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import pandas as pd

from sop_core.errors import SopError
from sop_core.text_checks import spreadsheet_safe

#: The longest value a message shows whole; a longer one is shown by its start and its length.
LONGEST_VALUE_SHOWN = 60

#: The columns of :func:`issues_frame` and of the header of :func:`issues_csv`.
ISSUE_COLUMNS = ["file", "row", "column", "value", "reason"]


@dataclass(frozen=True)
class ImportIssue:
    """One problem found in an import file.

    Attributes:
        file: the file name as given (e.g. ``sales_history.csv``).
        row: the row a user sees in the file: the header is row 1, the first data row is row 2 (for XLSX the
            Excel row number); None for a problem with the whole file.
        column: the column name (``sku/period`` for a composite key); None when no single column is at fault.
        value: the value as written in the file; None when there is none (empty cell, missing column).
        reason: what is wrong and what is expected, read after the value (``is negative; …``).

    ``str(issue)`` is one line: ``<file> row <row>, column <column>: <value> <reason>``, e.g.
    ``sales_history.csv row 14, column quantity: -4 is negative; quantities must be ≥ 0``. Parts that are None
    are left out; a whole file or row reads ``orders.csv does not name an input table; …``.

    >>> str(ImportIssue("orders.csv", None, None, None, "does not name an input table"))
    'orders.csv does not name an input table'
    >>> str(ImportIssue("routing.csv", 3, "sku/resource", "A/R1", "repeats the key of row 2"))
    'routing.csv row 3, columns sku/resource: A/R1 repeats the key of row 2'
    >>> str(ImportIssue("product.csv", 2, "name", "n" * 10_001, "is longer than 200 characters"))[:40]
    'product.csv row 2, column name: nnnnnnnn'
    >>> str(ImportIssue("product.csv", 2, "name", "n" * 10_001, "is longer than 200 characters"))[-53:]
    'nn… (10,001 characters) is longer than 200 characters'
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            label = "columns" if "/" in self.column else "column"
            where += f", {label} {self.column}"
        value = self.value
        if value is not None and len(value) > LONGEST_VALUE_SHOWN:  # a cell of 10,001 characters: its start
            value = f"{value[:LONGEST_VALUE_SHOWN]}… ({len(value):,} characters)"
        text = f"{value} {self.reason}" if value not in (None, "") else self.reason
        if not self.column and self.value in (None, ""):
            return f"{where} {text}"  # a whole file or row: "orders.csv does not name an input table…"
        return f"{where}: {text}"

    def as_dict(self) -> dict[str, Any]:
        """The issue as a row of :func:`issues_frame`: ``{"file", "row", "column", "value", "reason"}``."""
        return {"file": self.file, "row": self.row, "column": self.column, "value": self.value, "reason": self.reason}


class ImportFailed(SopError):
    """An import was refused; nothing was written. ``issues`` lists every problem found."""

    def __init__(self, issues: Sequence[ImportIssue]) -> None:
        self.issues: list[ImportIssue] = list(issues)
        super().__init__(self._message())

    def _message(self) -> str:
        if not self.issues:
            return "import refused"
        more = len(self.issues) - 1
        return f"{self.issues[0]} (and {more} more)" if more else str(self.issues[0])

    def __str__(self) -> str:
        return self._message()


def refuse(
    file: str, reason: str, row: int | None = None, column: str | None = None, value: str | None = None
) -> NoReturn:
    """Refuse a file for one problem: raises :class:`ImportFailed` with that single issue."""
    raise ImportFailed([ImportIssue(file, row, column, value, reason)])


def issues_frame(issues: Iterable[ImportIssue]) -> pd.DataFrame:
    """Issues as a table with columns file, row, column, value, reason (for display)."""
    rows = [i.as_dict() for i in issues]
    frame = pd.DataFrame(rows, columns=ISSUE_COLUMNS)
    frame["row"] = frame["row"].astype("Int64")
    return frame


def issues_csv(issues: Iterable[ImportIssue]) -> bytes:
    """Issues as CSV with the header ``file,row,column,value,reason``, one line per issue (empty fields where an
    issue has no row, column or value), UTF-8 with a byte-order mark so that Excel shows ≥ and – as written; a
    value a spreadsheet would run as a formula starts with an apostrophe (:func:`~sop_core.text_checks.spreadsheet_text`).

    >>> issues_csv([ImportIssue("budget.csv", 2, "period", "2026-11-15", "is not the first day of a month")])
    b'\\xef\\xbb\\xbffile,row,column,value,reason\\nbudget.csv,2,period,2026-11-15,is not the first day of a month\\n'
    """
    text: str = spreadsheet_safe(issues_frame(issues)).to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8-sig")
