"""Reading one extract: which input table a file loads (:func:`table_for_file`), its bytes as rows of text (CSV
in UTF-8 with ``,``, ``;`` or tab; XLSX), the header row found among the top :data:`HEADER_SEARCH_ROWS` rows, and
the data rows below it as a frame of strings indexed by the row number a user sees (:func:`read_extract`).

>>> frame = read_extract(b"Sales export\\nsku;period;quantity\\nA-100;2026-10-01;4\\n", "sales_history_oct.csv")
>>> frame.attrs["table"], frame.index.tolist(), frame.loc[3].tolist()
('sales_history', [3], ['A-100', '2026-10-01', '4'])
>>> header_note(frame)
'header found in row 2; row 1 skipped (title)'
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sop_core import config
from sop_core.db import models as m
from sop_core.db import repo
from sop_core.io.import_issues import ImportFailed, ImportIssue, refuse
from sop_core.io.import_limits import check_csv, check_xlsx, max_xlsx_rows, xlsx_row_limit
from sop_core.io.import_schema import column_specs

log = logging.getLogger(__name__)

#: What a file can be given as: its bytes, a path, or a binary file object (e.g. a Streamlit upload).
Source = bytes | bytearray | str | Path | IO[bytes]

#: How many rows from the top of a file may hold the header row; rows above it (a title, a print date) are skipped.
HEADER_SEARCH_ROWS = 10

#: A row of a file: (the row number a user sees, its values as text).
Record = tuple[int, list[str]]


def table_for_file(name: str) -> str:
    """The input table a file loads, from its name: ``sales_history_2026.csv`` -> ``sales_history``.

    Matches the stem exactly, in plural (``products.csv``), or as a prefix followed by ``_``, ``-``, ``.``
    or a space; the longest table name wins (``supplier_item_q3.csv`` -> ``supplier_item``).

    >>> table_for_file("supplier_item_q3.csv"), table_for_file("Products.xlsx")
    ('supplier_item', 'product')

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


def _decode(file: str, data: bytes, table: str) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        refuse(
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
        refuse(file, f"is not a readable CSV file ({err})", row=start)
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
        refuse(file, "is not a readable Excel workbook (.xlsx); save it again from Excel as .xlsx or CSV UTF-8")
    try:
        sheet = book[table] if table and table in book.sheetnames else book.worksheets[0]
        records: list[Record] = []
        max_rows, max_cells, cells = max_xlsx_rows(), config.import_max_cells(), 0
        for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            cells += len(values)
            if number > max_rows or cells > max_cells:
                xlsx_row_limit(file, number, cells)
            records.append((number, [_cell_text(v) for v in values]))
        return records
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
    """The spreadsheet letter of a column, from its 0-based position: 0 -> ``A``, 25 -> ``Z``, 26 -> ``AA``.

    >>> [column_letter(i) for i in (0, 25, 26)]
    ['A', 'Z', 'AA']
    """
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


def _plain_csv(data: bytes) -> bytes | None:
    """The bytes of a CSV file (without its byte-order mark) when each of its lines is one row: no quote character,
    no empty first line, no carriage return other than in a line end; else None."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if b'"' in data or data.startswith((b"\n", b"\r")):
        return None
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return None
    return data  # a blank line further down fails pyarrow's parse (empty lines are not skipped): see _arrow_frame


def _arrow_frame(file: str, data: bytes, table: str) -> pd.DataFrame | None:
    """The frame of :func:`read_with_row_issues` for a plain CSV file whose rows are all as wide as its header,
    parsed by pyarrow; None when the file needs the line-by-line reader (quotes, blank lines, a row of another
    width, a header with a name twice or an empty cell, bytes that are not UTF-8), which then names its
    problems."""
    plain = _plain_csv(data)
    if plain is None:
        return None
    end = -1
    for _ in range(HEADER_SEARCH_ROWS):  # the top rows, without copying the rest of the file
        end = plain.find(b"\n", end + 1)
        if end < 0:
            break
    try:
        head = (plain if end < 0 else plain[:end]).decode("utf-8")
    except UnicodeDecodeError:
        return None
    sep = _csv_delimiter(head, table)
    records = _csv_records(file, head, sep)
    if any(not any(v.strip() for v in f) for _n, f in records):
        return None
    at = _header_index(table, records)
    if at is None:
        return None
    header_row = records[at][0]
    header = [h.strip().lower() for h in records[at][1]]
    if "" in header or len(set(header)) != len(header):
        return None
    try:
        arrow = pacsv.read_csv(
            io.BytesIO(plain),
            read_options=pacsv.ReadOptions(skip_rows=header_row, column_names=header, block_size=16 << 20),
            parse_options=pacsv.ParseOptions(
                delimiter=sep, quote_char=False, escape_char=False, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    arrow = pa.table([pc.utf8_trim_whitespace(arrow[h]) for h in header], names=header)
    filled = pc.invert(functools.reduce(pc.and_, [pc.equal(arrow[h], "") for h in header]))
    rows = np.arange(header_row + 1, header_row + 1 + arrow.num_rows, dtype=np.int64)
    if pc.all(filled).as_py() is False:  # blank rows to leave out (filtering copies every column)
        rows = rows[filled.to_numpy(zero_copy_only=False)]
        arrow = arrow.filter(filled)
    frame = arrow.to_pandas(types_mapper=pd.ArrowDtype)  # arrow strings: no Python objects
    frame.index = pd.Index(rows, name="row")
    frame.attrs.update(
        file=file, table=table, header_row=header_row, title_rows=tuple(n for n, _f in records[:at]), refused=0
    )
    return frame


def read_with_row_issues(source: Source, name: str, table: str | None) -> tuple[pd.DataFrame, list[ImportIssue]]:
    """The frame of :func:`read_extract`, and the rows left out of it because their width does not match the header.

    Raises:
        ImportFailed: the file cannot be read as a table (see :func:`read_extract`).
    """
    file = Path(name).name
    table = table or table_for_file(file)
    if table not in m.INPUT_TABLES:
        refuse(file, f"cannot load table {table!r}; the input tables are " + ", ".join(m.INPUT_TABLES))
    data = _as_bytes(source)
    if not data:
        refuse(file, "is empty (0 bytes); expected a header row and data rows")
    suffix = Path(file).suffix.lower()
    if suffix in (".csv", ".txt"):
        check_csv(file, data)  # the cost bounds, before any parsing
    elif suffix in (".xlsx", ".xlsm"):
        check_xlsx(file, data)
    fast = _arrow_frame(file, data, table) if suffix in (".csv", ".txt") else None
    if fast is not None:
        return fast, []
    if suffix in (".csv", ".txt"):
        records = _records_csv(file, data, table)
    elif suffix in (".xlsx", ".xlsm"):
        records = _records_xlsx(file, data, table)
    elif suffix == ".xls":
        refuse(file, "is an old Excel .xls file; save it as .xlsx or CSV UTF-8")
    else:
        refuse(file, "is neither a .csv nor an .xlsx file")
    records = [(n, f) for n, f in records if any(v.strip() for v in f)]
    if not records:
        refuse(file, "holds no header and no data; expected a header row and data rows")
    at = _header_index(table, records)
    if at is None:
        refuse(file, _no_header_reason(table))
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
        ImportFailed: the file is beyond the cost bounds of :mod:`sop_core.io.import_limits` (a line too long, too
            many rows or cells, a workbook that unzips too large), empty, not UTF-8, not a readable workbook, or of another type; no header row is
            found; a column name appears twice in the header or an empty header cell stands above values; a row
            has values beyond the header's columns, or (CSV) fewer values than the header (every such row is named).
    """
    frame, issues = read_with_row_issues(source, name, table)
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
