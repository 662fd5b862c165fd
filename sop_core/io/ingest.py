"""Import ERP / sales extracts (CSV or XLSX) into the input tables: read, validate, load atomically.

One file holds one input table (:data:`sop_core.db.models.INPUT_TABLES`). The table is named by the file:
``sales_history.csv``, ``sales_history_2026.csv`` and ``sales_history.xlsx`` all load ``sales_history``
(see :func:`table_for_file`). The headers are the column names of :func:`sop_core.db.repo.input_columns`;
optional columns (nullable in the model, or with a default) may be left out.

Row numbers in messages are the numbers a user sees in the file: the header is row 1 and the first data
row is row 2 (for XLSX, the Excel row number). An ERP export often starts with a title row or two: the header is
the first of the top :data:`HEADER_SEARCH_ROWS` rows that names the table's columns, and the rows above it are
skipped (:func:`header_note`: ``header found in row 3; rows 1–2 skipped (title)``). Every problem becomes an
:class:`ImportIssue`, printed as ``sales_history.csv row 14, column quantity: -4 is negative; quantities must be
≥ 0``; :func:`issues_csv` writes them all as CSV.

Nothing is written unless every file of an import is valid; then all files land in one transaction, in
load order (parents first). Upsert rule: a row whose natural key (:data:`sop_core.db.models.NATURAL_KEYS`)
exists is updated, other rows are inserted, nothing is deleted. On an updated row, columns the file leaves
out keep their stored values; a new row gets the column's default.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, NoReturn

import numpy as np
import pandas as pd
import pandera.pandas as pa
from sqlalchemy import Date, Engine, Float, Integer
from sqlalchemy.orm import Session

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.engine import session_scope
from sop_core.errors import SopError
from sop_core.units import Progress

log = logging.getLogger(__name__)

Kind = Literal["str", "float", "int", "date"]
Source = bytes | bytearray | str | Path | IO[bytes]

#: Period columns that must be month starts (monthly tables).
MONTH_START_COLUMNS: dict[str, tuple[str, ...]] = {
    "sales_history": ("period",),
    "open_order": ("due_period",),
    "budget": ("period",),
}

#: Columns that must name a known master-data item: column -> kind of item (a key of ``known``).
REFERENCES: dict[str, dict[str, str]] = {
    "sales_history": {"sku": "sku"},
    "inventory": {"sku": "sku"},
    "open_order": {"sku": "sku", "supplier": "supplier"},
    "supplier_item": {"supplier": "supplier", "sku": "sku"},
    "receipt": {"supplier": "supplier", "sku": "sku"},
    "routing": {"sku": "sku", "resource": "resource"},
    "budget": {"family": "family"},
    "event": {"scope": "scope"},
}

#: Where each kind of master-data item comes from: kind -> (table, column).
MASTER_SOURCES: dict[str, tuple[str, str]] = {
    "sku": ("product", "sku"),
    "family": ("product", "family"),
    "supplier": ("supplier", "supplier"),
    "resource": ("resource", "resource"),
}

_REFERENCE_REASONS = {
    "sku": "is not a known SKU; add it to product (in the database or in the same import)",
    "supplier": "is not a known supplier; add it to supplier (in the database or in the same import)",
    "resource": "is not a known resource; add it to resource (in the database or in the same import)",
    "family": "is not a known product family; families come from product.family",
    "scope": "is not a known SKU or product family; use a SKU, a family or * for all",
}

_TYPE_REASONS = {
    "float": "is not a number; write digits with a decimal point, e.g. 12.5",
    "int": "is not a whole number",
    "date": "is not a date; write dates as YYYY-MM-DD",
}

MONTH_START_REASON = "is not the first day of a month; periods are month starts (YYYY-MM-01)"
END_BEFORE_START_REASON = "is before start; an event must end on or after its start"
MARGIN_ABOVE_REVENUE_REASON = (
    "is above revenue; the margin budget is revenue − cost of goods sold, so it cannot exceed the revenue"
)
#: Float columns that may be negative (an uplift can be a drop; a family can be budgeted at a loss).
SIGNED_COLUMNS: dict[str, tuple[str, ...]] = {"event": ("uplift_pct",), "budget": ("margin",)}
SOURCE_REASON = "is not a valid source; use purchase or production"
SERVICE_TARGET_REASON = "is outside (0, 1); service_target is a share such as 0.95"
PROMO_REASON = "is not 0 or 1; promo is 1 in promotion months, else 0"
PRIORITY_REASON = "is below 1; priority 1 is the preferred supplier, 2 and up are alternates"

#: How many rows from the top of a file may hold the header row; rows above it (a title, a print date) are skipped.
HEADER_SEARCH_ROWS = 10


# --------------------------------------------------------------------------- issues and results
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
        text = f"{self.value} {self.reason}" if self.value not in (None, "") else self.reason
        if not self.column and self.value in (None, ""):
            return f"{where} {text}"  # a whole file or row: "orders.csv does not name an input table…"
        return f"{where}: {text}"

    def as_dict(self) -> dict[str, Any]:
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


def issues_frame(issues: Iterable[ImportIssue]) -> pd.DataFrame:
    """Issues as a table with columns file, row, column, value, reason (for display)."""
    rows = [i.as_dict() for i in issues]
    frame = pd.DataFrame(rows, columns=["file", "row", "column", "value", "reason"])
    frame["row"] = frame["row"].astype("Int64")
    return frame


def issues_csv(issues: Iterable[ImportIssue]) -> bytes:
    """Issues as CSV with the header ``file,row,column,value,reason``, one line per issue (empty fields where an
    issue has no row, column or value), UTF-8 with a byte-order mark so that Excel shows ≥ and – as written."""
    return issues_frame(issues).to_csv(index=False, lineterminator="\n").encode("utf-8-sig")


@dataclass(frozen=True)
class FileResult:
    """What one file wrote: rows in total, of which ``inserted`` new and ``updated`` existing; ``note`` tells
    what was skipped above the header (:func:`header_note`, e.g. ``header found in row 3; rows 1–2 skipped
    (title)``), empty when the header is row 1."""

    file: str
    table: str
    rows: int
    inserted: int
    updated: int
    note: str = ""


@dataclass(frozen=True)
class ImportReport:
    """The outcome of a committed import, per file and per table."""

    files: tuple[FileResult, ...]

    def _per_table(self, attr: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.files:
            out[f.table] = out.get(f.table, 0) + getattr(f, attr)
        return out

    @property
    def rows(self) -> dict[str, int]:
        return self._per_table("rows")

    @property
    def inserted(self) -> dict[str, int]:
        return self._per_table("inserted")

    @property
    def updated(self) -> dict[str, int]:
        return self._per_table("updated")

    @property
    def notes(self) -> list[str]:
        """One line per file whose header was not row 1: ``<file>: header found in row 3; rows 1–2 skipped (title)``."""
        return [f"{f.file}: {f.note}" for f in self.files if f.note]

    @property
    def total_rows(self) -> int:
        return sum(f.rows for f in self.files)

    def __str__(self) -> str:
        parts = [
            f"{table} {rows} ({self.inserted[table]} new, {self.updated[table]} updated)"
            for table, rows in self.rows.items()
        ]
        files = "1 file" if len(self.files) == 1 else f"{len(self.files)} files"
        rows = "1 row" if self.total_rows == 1 else f"{self.total_rows} rows"
        return f"Imported {files}, {rows}: " + ", ".join(parts)


# --------------------------------------------------------------------------- columns and schemas
@dataclass(frozen=True)
class ColumnSpec:
    """An input column as the import sees it (derived from the model)."""

    name: str
    kind: Kind
    required: bool
    default: Any
    max_length: int | None


def column_specs(table: str) -> list[ColumnSpec]:
    """The import columns of ``table`` in template order, with type, required flag and default."""
    model = m.INPUT_TABLES[table]
    specs = []
    for name in repo.input_columns(table):
        col = model.__table__.columns[name]
        if isinstance(col.type, Date):
            kind: Kind = "date"
        elif isinstance(col.type, Float):
            kind = "float"
        elif isinstance(col.type, Integer):
            kind = "int"
        else:
            kind = "str"
        default = col.default.arg if col.default is not None and not callable(col.default.arg) else None
        required = not col.nullable and col.default is None
        specs.append(ColumnSpec(name, kind, required, default, getattr(col.type, "length", None)))
    return specs


def _non_negative_reason(column: str) -> str:
    if "price" in column:
        what = "prices"
    elif "cost" in column:
        what = "costs"
    elif "hours" in column:
        what = "hours"
    elif column.endswith("_days"):
        what = "lead times"
    elif column.endswith("_rate"):
        what = "rates"
    elif column == "revenue":
        what = "revenues"
    else:
        what = "quantities"
    return f"is negative; {what} must be ≥ 0"


def _is_month_start(s: pd.Series) -> pd.Series:
    return s.dt.is_month_start


def _end_not_before_start(df: pd.DataFrame) -> pd.Series:
    return ~(df["end"] < df["start"])


def _margin_not_above_revenue(df: pd.DataFrame) -> pd.Series:
    if "margin" not in df.columns:
        return pd.Series(True, index=df.index)
    return ~(df["margin"] > df["revenue"] + 1e-9)


_DTYPES = {"str": str, "float": "float64", "int": "Int64", "date": "datetime64[ns]"}


def schema_for(table: str) -> pa.DataFrameSchema:
    """The pandera schema of an input table, applied to the parsed (typed) frame of a file.

    Columns and types come from the model; required columns must be present and filled; no other column
    is allowed. Checks: quantities, hours, prices and costs ≥ 0; period columns of monthly tables are month
    starts; ``service_target`` in (0, 1); ``open_order.source`` in {purchase, production}; ``promo`` in
    {0, 1}; ``priority`` ≥ 1; an event's ``end`` ≥ ``start``; a budget's ``margin`` (optional, may be
    negative) ≤ its ``revenue``.
    """
    columns: dict[str, pa.Column] = {}
    for spec in column_specs(table):
        checks: list[pa.Check] = []
        if spec.kind == "float" and spec.name == "service_target":
            checks.append(pa.Check.in_range(0, 1, include_min=False, include_max=False, error=SERVICE_TARGET_REASON))
        elif spec.kind == "float" and spec.name not in SIGNED_COLUMNS.get(table, ()):
            checks.append(pa.Check.ge(0, error=_non_negative_reason(spec.name)))
        if spec.name == "promo":
            checks.append(pa.Check.isin([0, 1], error=PROMO_REASON))
        if spec.name == "priority":
            checks.append(pa.Check.ge(1, error=PRIORITY_REASON))
        if table == "open_order" and spec.name == "source":
            checks.append(pa.Check.isin(["purchase", "production"], error=SOURCE_REASON))
        if spec.name in MONTH_START_COLUMNS.get(table, ()):
            checks.append(pa.Check(_is_month_start, error=MONTH_START_REASON))
        if spec.kind == "str" and spec.max_length:
            checks.append(
                pa.Check.str_length(max_value=spec.max_length, error=f"is longer than {spec.max_length} characters")
            )
        columns[spec.name] = pa.Column(
            _DTYPES[spec.kind], checks, nullable=not spec.required, required=spec.required, coerce=spec.kind != "str"
        )
    frame_checks = {
        "event": [pa.Check(_end_not_before_start, error=END_BEFORE_START_REASON)],
        "budget": [pa.Check(_margin_not_above_revenue, error=MARGIN_ABOVE_REVENUE_REASON)],
    }.get(table, [])
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=True, name=table)


#: The column a frame-wide check reports its failures on.
_FRAME_CHECK_COLUMN = {END_BEFORE_START_REASON: "end", MARGIN_ABOVE_REVENUE_REASON: "margin"}


# --------------------------------------------------------------------------- reading files
def table_for_file(name: str) -> str:
    """The input table a file loads, from its name: ``sales_history_2026.csv`` -> ``sales_history``.

    Matches the stem exactly, in plural (``products.csv``), or as a prefix followed by ``_``, ``-``, ``.``
    or a space; the longest table name wins (``supplier_item_q3.csv`` -> ``supplier_item``).

    Raises:
        ImportFailed: the name starts with no input table name.
    """
    stem = Path(name).stem.strip().lower()
    for table in sorted(m.INPUT_TABLES, key=len, reverse=True):
        if re.fullmatch(rf"{table}s?", stem) or re.match(rf"{table}s?[_\-. ]", stem):
            return table
    raise ImportFailed(
        [
            ImportIssue(
                Path(name).name,
                None,
                None,
                None,
                "does not name an input table; start the file name with one of "
                + ", ".join(m.INPUT_TABLES)
                + " (e.g. sales_history_2026.csv)",
            )
        ]
    )


def _as_bytes(source: Source) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | Path):
        return Path(source).read_bytes()
    getvalue = getattr(source, "getvalue", None)
    if callable(getvalue):
        return bytes(getvalue())
    return bytes(source.read())


def _cell_text(value: Any) -> str:
    """An XLSX cell as the text a user would type."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _fail(
    file: str, reason: str, row: int | None = None, column: str | None = None, value: str | None = None
) -> NoReturn:
    raise ImportFailed([ImportIssue(file, row, column, value, reason)])


#: A row of a file: (the row number a user sees, its values as text).
Record = tuple[int, list[str]]


def _decode(file: str, data: bytes, table: str) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        _fail(
            file,
            "is not valid UTF-8; save the file as CSV UTF-8 (Excel: Save as → CSV UTF-8)",
            row=data.count(b"\n", 0, err.start) + 1,
            column=_column_at(file, data, err.start, table),
            value=f"byte 0x{data[err.start]:02X}",
        )


def _column_at(file: str, data: bytes, position: int, table: str) -> str | None:
    """The header name of the column holding byte ``position`` of a CSV file: the values before it on its line
    are counted against the header row found above that line (None on the header row or above it)."""
    line_start = data.rfind(b"\n", 0, position) + 1
    above = data[:line_start].decode("utf-8", "replace")
    sep = _csv_delimiter(above, table)
    try:
        records = [(n, f) for n, f in _csv_records(file, above, sep) if any(v.strip() for v in f)]
    except ImportFailed:
        return None
    at = _header_index(table, records)
    if at is None:
        return None
    header = records[at][1]
    prefix = data[line_start:position].decode("utf-8", "replace")
    index = len(next(csv.reader([prefix + "x"], delimiter=sep), [])) - 1
    if not 0 <= index < len(header):
        return None
    return header[index].strip().lower() or None


def _delimiter(header_line: str) -> str:
    counts = {sep: header_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] else ","


def _csv_delimiter(text: str, table: str) -> str:
    """The separator of a CSV text: of ``,``, ``;`` and tab, the one that splits a line among the first
    :data:`HEADER_SEARCH_ROWS` into the most column names of ``table`` (the header row, wherever it is); when no
    line names a column, the most frequent one in the first line."""
    lines = text.split("\n", HEADER_SEARCH_ROWS)[:HEADER_SEARCH_ROWS]
    names = set(repo.input_columns(table))
    best, best_hits = "", 0
    for sep in (",", ";", "\t"):
        for line in lines:
            hits = len(names & {cell.strip().strip('"').lower() for cell in line.split(sep)})
            if hits > best_hits:
                best, best_hits = sep, hits
    return best or _delimiter(lines[0] if lines else "")


def _csv_records(file: str, text: str, sep: str) -> list[Record]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    records: list[Record] = []
    start = 1
    try:
        for fields in reader:
            records.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as err:
        _fail(file, f"is not a readable CSV file ({err})", row=start)
    return records


def _records_csv(file: str, data: bytes, table: str) -> list[Record]:
    text = _decode(file, data, table)
    return _csv_records(file, text, _csv_delimiter(text, table))


def _records_xlsx(file: str, data: bytes, table: str | None) -> list[Record]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # noqa: BLE001 - openpyxl raises many types for a damaged or foreign file
        log.info("unreadable workbook %s: %s", file, err)
        _fail(file, "is not a readable Excel workbook (.xlsx); save it again from Excel as .xlsx or CSV UTF-8")
    try:
        sheet = book[table] if table and table in book.sheetnames else book.worksheets[0]
        return [
            (number, [_cell_text(v) for v in values])
            for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)
        ]
    finally:
        book.close()


def _header_index(table: str, records: Sequence[Record]) -> int | None:
    """Which of ``records`` (the non-blank rows of a file) is the header row.

    The first of the rows numbered 1 to :data:`HEADER_SEARCH_ROWS` whose cells name every required column of
    ``table``; when none does, the one naming the most columns of ``table`` (the first on a tie), whose missing
    and unknown columns the checks then name. None when no such row names any column of ``table``.
    """
    names = set(repo.input_columns(table))
    required = {s.name for s in column_specs(table) if s.required}
    best, best_hits = None, 0
    for index, (number, fields) in enumerate(records):
        if number > HEADER_SEARCH_ROWS:
            break
        cells = {f.strip().lower() for f in fields}
        if required <= cells:
            return index
        hits = len(names & cells)
        if hits > best_hits:
            best, best_hits = index, hits
    return best


def _no_header_reason(table: str) -> str:
    specs = column_specs(table)
    required = ", ".join(s.name for s in specs if s.required)
    optional = ", ".join(s.name for s in specs if not s.required)
    columns = f"{required} (required) and {optional} (optional)" if optional else f"{required} (all required)"
    return (
        f"has no header row: none of rows 1–{HEADER_SEARCH_ROWS} names a column of {table}; "
        f"the header names the columns {columns}"
    )


def column_letter(index: int) -> str:
    """The spreadsheet letter of a column, from its 0-based position: 0 -> ``A``, 25 -> ``Z``, 26 -> ``AA``."""
    letters = ""
    n = index + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _header_issues(file: str, header: list[str], header_row: int, rows: list[Record]) -> list[ImportIssue]:
    """A name given to two columns, and an empty header cell above values: the file cannot be read as a table."""
    issues = []
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        positions.setdefault(name, []).append(i)
    for name, where in positions.items():
        if name and len(where) > 1:
            letters = ", ".join(column_letter(i) for i in where[:-1]) + f" and {column_letter(where[-1])}"
            times = "twice" if len(where) == 2 else f"{len(where)} times"
            reason = f"appears {times} in the header (columns {letters}); each column may appear only once"
            issues.append(ImportIssue(file, header_row, name, None, reason))
    for i in positions.get("", []):
        first = next((number for number, values in rows if values[i] != ""), None)
        if first is not None:
            reason = f"has an empty header cell but holds values from row {first}; name the column or delete it"
            issues.append(ImportIssue(file, header_row, column_letter(i), None, reason))
    return issues


def _body(
    file: str, header: list[str], records: Sequence[Record], csv_text: bool
) -> tuple[list[Record], list[ImportIssue]]:
    """The data rows below the header, each as wide as the header, and the rows refused for their width.

    A row with a value beyond the header's last column is refused. In a CSV file, a row with fewer values than the
    header names columns (a line cut short) is refused too rather than filled with empty cells; an XLSX row simply
    ends at its last filled cell.
    """
    width = len(header)
    named = max((i + 1 for i, h in enumerate(header) if h), default=0)
    rows: list[Record] = []
    issues: list[ImportIssue] = []
    for number, fields in records:
        values = [v.strip() for v in fields]
        if len(values) > width and any(values[width:]):
            issues.append(
                ImportIssue(file, number, None, None, f"has {len(values)} values but the header has {width} columns")
            )
        elif csv_text and len(values) < named:
            reason = (
                f"the line ends before this column, after {len(values)} of the header's {named} values; a line cut "
                "short is refused, not filled in; write an empty cell as nothing between two separators"
            )
            issues.append(ImportIssue(file, number, header[len(values)] or column_letter(len(values)), None, reason))
        else:
            rows.append((number, (values + [""] * width)[:width]))
    return rows, issues


def _read(source: Source, name: str, table: str | None) -> tuple[pd.DataFrame, list[ImportIssue]]:
    """The frame of :func:`read_extract`, and the rows left out of it because their width does not match the header.

    Raises:
        ImportFailed: the file cannot be read as a table (see :func:`read_extract`).
    """
    file = Path(name).name
    table = table or table_for_file(file)
    if table not in m.INPUT_TABLES:
        _fail(file, f"cannot load table {table!r}; the input tables are " + ", ".join(m.INPUT_TABLES))
    data = _as_bytes(source)
    if not data:
        _fail(file, "is empty (0 bytes); expected a header row and data rows")
    suffix = Path(file).suffix.lower()
    if suffix in (".csv", ".txt"):
        records = _records_csv(file, data, table)
    elif suffix in (".xlsx", ".xlsm"):
        records = _records_xlsx(file, data, table)
    elif suffix == ".xls":
        _fail(file, "is an old Excel .xls file; save it as .xlsx or CSV UTF-8")
    else:
        _fail(file, "is neither a .csv nor an .xlsx file")
    records = [(n, f) for n, f in records if any(v.strip() for v in f)]
    if not records:
        _fail(file, "holds no header and no data; expected a header row and data rows")
    at = _header_index(table, records)
    if at is None:
        _fail(file, _no_header_reason(table))
    header_row = records[at][0]
    header = [h.strip().lower() for h in records[at][1]]
    rows, issues = _body(file, header, records[at + 1 :], csv_text=suffix in (".csv", ".txt"))
    header_problems = _header_issues(file, header, header_row, rows)
    if header_problems:
        raise ImportFailed(header_problems)
    frame = pd.DataFrame(
        [values for _number, values in rows],
        columns=header,
        index=pd.Index([number for number, _values in rows], name="row"),
        dtype=object,
    )
    frame = frame.iloc[:, [i for i, h in enumerate(header) if h]]  # empty header cells hold no values (checked)
    frame.attrs.update(
        file=file,
        table=table,
        header_row=header_row,
        title_rows=tuple(n for n, _f in records[:at]),
        refused=len(issues),
    )
    return frame, issues


def read_extract(source: Source, name: str, table: str | None = None) -> pd.DataFrame:
    """Read one CSV or XLSX extract as text, indexed by the row number a user sees.

    CSV must be UTF-8 (a byte-order mark is accepted); the delimiter is ``,``, ``;`` or tab, as in the header
    line. XLSX: the sheet named after the table, else the first sheet. The header row is the first of rows 1 to
    :data:`HEADER_SEARCH_ROWS` that names the table's required columns (:func:`_header_index`): rows above it
    (a title, a print date) are skipped, as :func:`header_note` tells. Headers are trimmed and lower-cased, cells
    trimmed; blank rows are skipped. The index is the row number in the file (the first data row is the row
    below the header; the Excel row number for XLSX).

    Args:
        source: the file's bytes, a path, or a binary file object (e.g. a Streamlit upload).
        name: the file name; its extension picks the reader and its stem the table (when ``table`` is None).
        table: the input table, when the file name does not tell.

    Returns:
        Every value as a string (``""`` for an empty cell), one column per header; ``attrs`` holds ``file``,
        ``table``, ``header_row`` and ``title_rows`` (the non-blank rows skipped above the header).

    Raises:
        ImportFailed: the file is empty, not UTF-8, not a readable workbook, or of another type; no header row is
            found; a column name appears twice in the header or an empty header cell stands above values; a row
            has values beyond the header's columns, or (CSV) fewer values than the header (every such row is named).
    """
    frame, issues = _read(source, name, table)
    if issues:
        raise ImportFailed(issues)
    return frame


def header_note(frame: pd.DataFrame) -> str | None:
    """What :func:`read_extract` skipped above the header, e.g. ``header found in row 3; rows 1–2 skipped (title)``;
    None when the header is row 1."""
    row = int(frame.attrs.get("header_row", 1))
    if row <= 1:
        return None
    above = "row 1" if row == 2 else f"rows 1–{row - 1}"
    return f"header found in row {row}; {above} skipped ({'title' if frame.attrs.get('title_rows') else 'blank'})"


# --------------------------------------------------------------------------- validation
def _parse(spec: ColumnSpec, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Typed values of one column and a mask of the cells that could not be parsed."""
    empty = raw.eq("")
    if spec.kind == "str":
        return raw.where(~empty, None).astype(object), pd.Series(False, index=raw.index)
    if spec.kind == "date":
        parsed = pd.to_datetime(raw.where(~empty), format="ISO8601", errors="coerce")
        bad = ~empty & parsed.isna()
        return parsed.dt.normalize(), bad
    number = pd.to_numeric(raw.where(~empty), errors="coerce").astype("float64")
    bad = ~empty & (number.isna() | ~np.isfinite(number.fillna(0.0)))
    number = number.where(~bad)
    if spec.kind == "int":
        fractional = number.notna() & (number % 1 != 0)
        bad |= fractional
        number = number.where(~fractional)
        return number.round().astype("Int64"), bad
    return number, bad


@dataclass
class _Checked:
    file: str
    table: str
    raw: pd.DataFrame
    typed: pd.DataFrame | None
    issues: list[ImportIssue]


def _check_columns(file: str, table: str, raw: pd.DataFrame) -> list[ImportIssue]:
    specs = {s.name: s for s in column_specs(table)}
    issues = []
    header_row = raw.attrs.get("header_row", 1)
    seen: set[str] = set()
    for col in raw.columns:
        if col in seen:
            issues.append(ImportIssue(file, header_row, col, None, "column appears twice in the header"))
        seen.add(col)
        if col not in specs:
            reason = f"unknown column; {table} has the columns " + ", ".join(specs)
            issues.append(ImportIssue(file, header_row, col or "(no header)", None, reason))
    for name, spec in specs.items():
        if spec.required and name not in raw.columns:
            issues.append(ImportIssue(file, header_row, name, None, "required column is missing from the header"))
    return issues


def _check_file(file: str, table: str, raw: pd.DataFrame) -> _Checked:
    """Structure, types and the schema's checks of one file (no cross-file or database checks)."""
    issues = _check_columns(file, table, raw)
    if issues:
        return _Checked(file, table, raw, None, issues)
    if raw.empty:  # no rows, or only rows refused for their width (named by the reading)
        reason = "has no data rows; add at least one row below the header"
        issues = [] if raw.attrs.get("refused") else [ImportIssue(file, None, None, None, reason)]
        return _Checked(file, table, raw, None, issues)
    specs = [s for s in column_specs(table) if s.name in raw.columns]
    typed = pd.DataFrame(index=raw.index)
    unparsed: set[tuple[int, str]] = set()
    for spec in specs:
        values, bad = _parse(spec, raw[spec.name])
        for row in raw.index[bad.to_numpy()]:
            value = raw.at[row, spec.name]
            reason = _TYPE_REASONS[spec.kind]
            if spec.kind == "int" and spec.name == "promo":
                reason = PROMO_REASON
            issues.append(ImportIssue(file, int(row), spec.name, str(value), reason))
            unparsed.add((int(row), spec.name))
        if not spec.required:
            values = values.where(values.notna() | bad, spec.default) if spec.default is not None else values
        typed[spec.name] = values
    for key in m.NATURAL_KEYS[table]:  # a key column left out takes its default (open_order.supplier = '')
        if key not in typed.columns:
            spec = next(s for s in column_specs(table) if s.name == key)
            typed[key] = spec.default
    try:
        schema_for(table).validate(typed, lazy=True)
    except pa.errors.SchemaErrors as err:
        issues.extend(_schema_issues(file, raw, err.failure_cases, unparsed))
    return _Checked(file, table, raw, typed, issues)


def _schema_issues(
    file: str, raw: pd.DataFrame, cases: pd.DataFrame, unparsed: set[tuple[int, str]]
) -> list[ImportIssue]:
    issues = []
    for case in cases.itertuples(index=False):
        check = str(case.check)
        column = _FRAME_CHECK_COLUMN.get(check, case.column)
        if case.schema_context == "DataFrameSchema" and check in _FRAME_CHECK_COLUMN and case.column != column:
            continue
        row = None if case.index is None or pd.isna(case.index) else int(case.index)
        if row is None or (row, column) in unparsed:
            if row is None:
                issues.append(ImportIssue(file, None, column, None, check))
            continue
        value = raw.at[row, column] if column in raw.columns else None
        if check == "not_nullable":
            if column not in raw.columns:
                continue
            reason = f"empty cell; {column} is required"
            value = None
        elif check == END_BEFORE_START_REASON and "start" in raw.columns:
            reason = check.replace("is before start", f"is before start {raw.at[row, 'start']}")
        elif check == MARGIN_ABOVE_REVENUE_REASON and "revenue" in raw.columns:
            reason = check.replace("is above revenue", f"is above revenue {raw.at[row, 'revenue']}", 1)
        else:
            reason = check
        issues.append(ImportIssue(file, row, column, None if value in (None, "") else str(value), reason))
    return issues


def _reference_issues(
    checked: _Checked, known: Mapping[str, set[str]], seen_keys: dict[str, dict[tuple, tuple[str, int]]]
) -> list[ImportIssue]:
    """Unknown SKUs / suppliers / resources / families, and natural keys repeated within the import."""
    issues = []
    file, table, raw, typed = checked.file, checked.table, checked.raw, checked.typed
    assert typed is not None
    for column, kind in REFERENCES.get(table, {}).items():
        if column not in typed.columns:
            continue
        allowed = known.get(kind, set())
        if kind == "scope":
            allowed = {"*"} | set(known.get("sku", set())) | set(known.get("family", set()))
        values = typed[column]
        unknown = values.notna() & values.ne("") & ~values.isin(allowed)
        for row in typed.index[unknown.to_numpy()]:
            issues.append(ImportIssue(file, int(row), column, str(raw.at[row, column]), _REFERENCE_REASONS[kind]))
    keys = list(m.NATURAL_KEYS[table])
    label = "/".join(keys)
    first_seen = seen_keys.setdefault(table, {})
    complete = typed[keys].notna().all(axis=1)
    rows = typed.index[complete.to_numpy()]
    for row, key in zip(rows, typed.loc[complete, keys].itertuples(index=False, name=None), strict=True):
        if key in first_seen:
            other_file, other_row = first_seen[key]
            where = f"row {other_row}" if other_file == file else f"{other_file} row {other_row}"
            value = "/".join(str(raw.at[row, k]) if k in raw.columns else "" for k in keys)
            reason = f"repeats the key of {where}; each {label} may appear only once in an import"
            issues.append(ImportIssue(file, int(row), label, value, reason))
        else:
            first_seen[key] = (file, int(row))
    return issues


def _with_import_masters(known: Mapping[str, set[str]], checked: Iterable[_Checked]) -> dict[str, set[str]]:
    out = {kind: set(values) for kind, values in known.items()}
    for c in checked:
        frame = c.typed if c.typed is not None else c.raw
        for kind, (table, column) in MASTER_SOURCES.items():
            if c.table == table and column in frame.columns:
                out.setdefault(kind, set()).update(str(v) for v in frame[column].dropna() if str(v) != "")
    return out


def _sort_key(columns: list[str]) -> Callable[[ImportIssue], tuple[int, int]]:
    def key(issue: ImportIssue) -> tuple[int, int]:
        first = (issue.column or "").split("/")[0]
        return (issue.row or 0, columns.index(first) if first in columns else len(columns))

    return key


def _check_all(frames: Mapping[str, tuple[str, pd.DataFrame]], known: Mapping[str, set[str]]) -> list[_Checked]:
    checked = [_check_file(file, table, raw) for file, (table, raw) in frames.items()]
    known_all = _with_import_masters(known, checked)
    seen_keys: dict[str, dict[tuple, tuple[str, int]]] = {}
    for c in sorted(checked, key=lambda c: list(m.INPUT_TABLES).index(c.table)):
        if c.typed is not None:
            c.issues.extend(_reference_issues(c, known_all, seen_keys))
    for c in checked:
        c.issues.sort(key=_sort_key(repo.input_columns(c.table)))
    return checked


def validate(frames: Mapping[str, tuple[str, pd.DataFrame]], known: Mapping[str, set[str]]) -> list[ImportIssue]:
    """Every problem in the files of one import (pure: no database).

    Args:
        frames: file name -> (input table, frame as returned by :func:`read_extract`).
        known: master data already stored: ``{"sku": {...}, "family": {...}, "supplier": {...},
            "resource": {...}}``. Items defined by product / supplier / resource files of the same import count
            as known too.

    Returns:
        The issues, file by file in the given order, each file's by row; empty when the import may proceed.
    """
    return [issue for c in _check_all(frames, known) for issue in c.issues]


# --------------------------------------------------------------------------- importing
def _named(files: Sequence[tuple[str, Source]] | Sequence[str | Path]) -> list[tuple[str, Source]]:
    out: list[tuple[str, Source]] = []
    for f in files:
        if isinstance(f, tuple):
            out.append((Path(f[0]).name, f[1]))
        else:
            out.append((Path(f).name, Path(f)))
    return out


def known_masters(engine: Engine) -> dict[str, set[str]]:
    """The stored SKUs, product families, suppliers and resources (for referential checks)."""
    with session_scope(engine) as s:
        return _known_in(s)


def _known_in(session: Session) -> dict[str, set[str]]:
    product = repo.read_table(session, "product")
    supplier = repo.read_table(session, "supplier")
    resource = repo.read_table(session, "resource")
    return {
        "sku": set(product["sku"].astype(str)),
        "family": set(product["family"].astype(str)),
        "supplier": set(supplier["supplier"].astype(str)),
        "resource": set(resource["resource"].astype(str)),
    }


def _read_all(
    files: Sequence[tuple[str, Source]], table: str | None
) -> tuple[dict[str, tuple[str, pd.DataFrame]], list[ImportIssue]]:
    frames: dict[str, tuple[str, pd.DataFrame]] = {}
    issues: list[ImportIssue] = []
    for name, source in files:
        try:
            if name in frames:
                _fail(name, "is given twice in one import")
            frame, refused = _read(source, name, table)
            frames[name] = (frame.attrs["table"], frame)
            issues.extend(refused)
        except ImportFailed as err:
            issues.extend(err.issues)
    return frames, issues


def _in_file_order(issues: list[ImportIssue], named: Sequence[tuple[str, Source]]) -> list[ImportIssue]:
    """File by file in the given order, each file's by row (whole-file issues first; a row's keep their order)."""
    order = {name: n for n, (name, _source) in enumerate(named)}
    return sorted(issues, key=lambda i: (order.get(i.file, len(order)), i.row or 0))


def validate_files(
    engine: Engine, files: Sequence[tuple[str, Source]] | Sequence[str | Path], table: str | None = None
) -> list[ImportIssue]:
    """Read and validate files against the database without writing (what the Validate button does)."""
    named = _named(files)
    frames, issues = _read_all(named, table)
    return _in_file_order(issues + validate(frames, known_masters(engine)), named)


def import_files(
    engine: Engine,
    files: Sequence[tuple[str, Source]] | Sequence[str | Path],
    table: str | None = None,
    user: str = "demo",
    progress: Progress | None = None,
) -> ImportReport:
    """Validate every file, then write them all in one transaction (or nothing).

    Files are written in :data:`~sop_core.db.models.INPUT_TABLES` order (parents first) with
    :func:`sop_core.db.repo.upsert_frame`: a row whose natural key exists is updated, other rows are
    inserted, nothing is deleted. An ``audit_log`` row (action ``import``) records who imported what.

    Args:
        engine: the database.
        files: ``(file name, bytes | path | file object)`` pairs, or paths.
        table: the input table of every file, when the file names do not tell.
        user: the user name written to the audit log.
        progress: called with (share done 0..1, message).

    Raises:
        ImportFailed: any file has any issue; nothing was written.
    """
    report = progress or (lambda _f, _msg: None)
    named = _named(files)
    report(0.05, f"Reading {len(named)} file(s)…")
    frames, issues = _read_all(named, table)
    results = []
    with session_scope(engine) as s:  # the checks against stored master data and the writes: one transaction
        report(0.3, "Validating…")
        checked = _check_all(frames, _known_in(s))
        issues = _in_file_order(issues + [i for c in checked for i in c.issues], named)
        if issues:
            log.info("import refused: %d issue(s), first: %s", len(issues), issues[0])
            raise ImportFailed(issues)
        order = list(m.INPUT_TABLES)
        checked.sort(key=lambda c: order.index(c.table))
        for n, c in enumerate(checked):
            assert c.typed is not None
            report(0.4 + 0.55 * n / max(len(checked), 1), f"Writing {c.file} into {c.table}…")
            existing = repo.read_table(s, c.table)
            updated = _count_existing(c.table, c.typed, existing)
            written = repo.upsert_frame(s, c.table, c.typed)
            results.append(FileResult(c.file, c.table, written, written - updated, updated, header_note(c.raw) or ""))
        detail = {"files": [r.__dict__ for r in results]}
        entity = ",".join(dict.fromkeys(r.table for r in results))[:64]
        s.add(m.AuditLog(username=user, action="import", entity=entity, entity_id="", detail=detail))
    out = ImportReport(tuple(results))
    log.info("%s", out)
    report(1.0, str(out))
    return out


def _count_existing(table: str, typed: pd.DataFrame, existing: pd.DataFrame) -> int:
    """How many rows of ``typed`` have a natural key that ``existing`` already holds."""
    if existing.empty:
        return 0
    keys = list(m.NATURAL_KEYS[table])
    stored = {tuple(_key_value(v) for v in k) for k in existing[keys].itertuples(index=False, name=None)}
    return sum(tuple(_key_value(v) for v in k) in stored for k in typed[keys].itertuples(index=False, name=None))


def _key_value(value: Any) -> Any:
    if isinstance(value, dt.date | pd.Timestamp | np.datetime64):
        return pd.Timestamp(value).date()
    return value


# --------------------------------------------------------------------------- templates
_TEMPLATE_ROWS: dict[str, list[dict[str, Any]]] = {
    "product": [
        dict(
            sku="SKU-001",
            name="Trail bike 29in",
            family="BIKES",
            category="FINISHED",
            unit_price=1200.0,
            unit_cost=780.0,
            holding_rate=0.25,
            order_cost=150.0,
            service_target=0.95,
        ),
        dict(
            sku="SKU-002",
            name="City bike 28in",
            family="BIKES",
            category="FINISHED",
            unit_price=850.0,
            unit_cost=560.0,
            holding_rate=0.25,
            order_cost=150.0,
            service_target=0.9,
        ),
    ],
    "supplier": [dict(supplier="SUP-01", name="Alpine Components"), dict(supplier="SUP-02", name="Nordic Frames")],
    "resource": [
        dict(
            resource="LINE-1",
            name="Assembly line 1",
            plant="Plant A",
            capacity_hours=320.0,
            overtime_hours=48.0,
            overtime_cost_per_hour=55.0,
        ),
        dict(
            resource="PAINT",
            name="Paint shop",
            plant="Plant A",
            capacity_hours=160.0,
            overtime_hours=0.0,
            overtime_cost_per_hour=0.0,
        ),
    ],
    "sales_history": [
        dict(sku="SKU-001", period=dt.date(2026, 9, 1), quantity=140.0, net_price=1180.0, promo=0),
        dict(sku="SKU-001", period=dt.date(2026, 10, 1), quantity=152.0, net_price=1150.0, promo=1),
    ],
    "inventory": [
        dict(sku="SKU-001", as_of=dt.date(2026, 10, 31), on_hand=85.0),
        dict(sku="SKU-002", as_of=dt.date(2026, 10, 31), on_hand=40.0),
    ],
    "open_order": [
        dict(sku="SKU-001", due_period=dt.date(2026, 11, 1), quantity=60.0, source="purchase", supplier="SUP-01"),
        dict(sku="SKU-002", due_period=dt.date(2026, 12, 1), quantity=40.0, source="production", supplier=""),
    ],
    "supplier_item": [
        dict(
            supplier="SUP-01",
            sku="SKU-001",
            lead_time_days=30.0,
            lead_time_std_days=5.0,
            moq=50.0,
            unit_cost=760.0,
            priority=1,
        ),
        dict(
            supplier="SUP-02",
            sku="SKU-001",
            lead_time_days=45.0,
            lead_time_std_days=8.0,
            moq=100.0,
            unit_cost=740.0,
            priority=2,
        ),
    ],
    "receipt": [
        dict(
            supplier="SUP-01",
            sku="SKU-001",
            order_date=dt.date(2026, 8, 3),
            promised_date=dt.date(2026, 9, 2),
            received_date=dt.date(2026, 9, 5),
            qty_ordered=100.0,
            qty_received=100.0,
        ),
        dict(
            supplier="SUP-02",
            sku="SKU-001",
            order_date=dt.date(2026, 9, 1),
            promised_date=dt.date(2026, 10, 16),
            received_date=None,
            qty_ordered=80.0,
            qty_received=0.0,
        ),
    ],
    "routing": [
        dict(sku="SKU-001", resource="LINE-1", hours_per_unit=1.5),
        dict(sku="SKU-002", resource="LINE-1", hours_per_unit=1.2),
    ],
    "event": [
        dict(
            name="Spring promotion", start=dt.date(2027, 3, 1), end=dt.date(2027, 3, 31), scope="BIKES", uplift_pct=15.0
        ),
        dict(name="Trade fair", start=dt.date(2027, 5, 3), end=dt.date(2027, 5, 9), scope="SKU-001", uplift_pct=8.0),
    ],
    "budget": [
        dict(family="BIKES", period=dt.date(2026, 11, 1), volume=300.0, revenue=330000.0, margin=112200.0),
        dict(family="BIKES", period=dt.date(2026, 12, 1), volume=280.0, revenue=308000.0, margin=104720.0),
    ],
}


def template_frame(table: str) -> pd.DataFrame:
    """The import template of ``table``: its headers and two example rows (consistent across tables)."""
    return pd.DataFrame(_TEMPLATE_ROWS[table], columns=repo.input_columns(table))


def _columns_sheet(table: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "column": s.name,
                "type": {"str": "text", "float": "number", "int": "whole number", "date": "date YYYY-MM-DD"}[s.kind],
                "required": "yes" if s.required else "no",
                "default when empty": "" if s.required or s.default is None else s.default,
            }
            for s in column_specs(table)
        ]
    )


def template_bytes(table: str, fmt: Literal["csv", "xlsx"]) -> bytes:
    """The template of ``table`` as a UTF-8 CSV or an XLSX workbook (sheet named after the table)."""
    frame = template_frame(table)
    if fmt == "csv":
        return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl", date_format="YYYY-MM-DD", datetime_format="YYYY-MM-DD") as xl:
        frame.to_excel(xl, sheet_name=table, index=False)
        _columns_sheet(table).to_excel(xl, sheet_name="columns", index=False)
    return buffer.getvalue()


def write_templates(out_dir: Path) -> list[Path]:
    """Write ``<table>.csv`` and ``<table>.xlsx`` for every input table into ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in m.INPUT_TABLES:
        for fmt in ("csv", "xlsx"):
            path = out_dir / f"{table}.{fmt}"
            path.write_bytes(template_bytes(table, fmt))
            paths.append(path)
    return paths
