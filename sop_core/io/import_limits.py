"""The cost bounds of reading one import file, checked before it is parsed, so that a small hostile file (one
line of 20 MB, a workbook that unzips to gigabytes or a million rows) is refused in well under a second instead of
holding the server for minutes.

* CSV (:func:`check_csv`): every line at most :func:`~sop_core.config.import_max_line_bytes` bytes, at most
  :func:`~sop_core.config.import_max_rows` lines and :func:`~sop_core.config.import_max_cells` cells (lines plus
  separators): one vectorised pass over the bytes, nothing decoded.
* XLSX (:func:`check_xlsx`): the zip's directory says how large its parts unzip to (at most
  :func:`~sop_core.config.import_max_xlsx_mb` MB), and each sheet's ``<dimension ref="A1:E1000000"/>`` how many
  rows and columns it holds (at most :func:`max_xlsx_rows` rows and the cell limit); a sheet without a dimension
  (or with a false one) large enough to pass the row limit has its rows counted while it is unzipped, without
  parsing; the rows are counted again while they are read (:func:`xlsx_row_limit`).

Every refusal names the file, the row where one applies, and what to do.

>>> check_csv("sales_history.csv", b"sku,period,quantity\\nA-100,2026-10-01,4\\n")
>>> try:
...     check_csv("sales_history.csv", b"sku,period,quantity\\n" + b"x" * 70_000 + b"\\n")
... except ImportFailed as err:
...     print(err)
sales_history.csv row 2 is 70,000 bytes long; a line may be at most 65,536 bytes (SOP_IMPORT_MAX_LINE_BYTES): \
is this a CSV file?
"""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np

from sop_core import config
from sop_core.io.import_issues import ImportFailed, refuse

_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?"')

__all__ = ["ImportFailed", "check_csv", "check_xlsx", "max_xlsx_rows", "xlsx_row_limit"]


def max_xlsx_rows() -> int:
    """The most rows a workbook may hold: ``SOP_IMPORT_MAX_XLSX_ROWS`` (default 100,000), at most the row limit."""
    return min(config.import_max_xlsx_rows(), config.import_max_rows())


def check_csv(file: str, data: bytes) -> None:
    """Refuse a CSV file with a line longer than the line limit, more lines than the row limit, or more cells
    (lines + separators of the most frequent kind) than the cell limit.

    Raises:
        ImportFailed: one issue naming the file, the first line too long (as its row), and the limit.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)
    lines = len(ends) + (1 if raw.size and raw[-1] != 10 else 0)
    max_rows = config.import_max_rows()
    if lines > max_rows:
        refuse(file, f"has {lines:,} lines; an import file may hold at most {max_rows:,} (SOP_IMPORT_MAX_ROWS): "
                     "split it into several files")
    limit = config.import_max_line_bytes()
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [raw.size]))
    long = np.flatnonzero(stops - starts > limit)
    if long.size:
        first = int(long[0])
        length = int(stops[first] - starts[first])
        refuse(file, f"is {length:,} bytes long; a line may be at most {limit:,} bytes (SOP_IMPORT_MAX_LINE_BYTES): "
                     "is this a CSV file?", row=first + 1)
    separators = max(int(np.count_nonzero(raw == ord(sep))) for sep in ",;\t")
    cells, max_cells = lines + separators, config.import_max_cells()
    if cells > max_cells:
        refuse(file, f"holds about {cells:,} cells; an import file may hold at most {max_cells:,} "
                     "(SOP_IMPORT_MAX_CELLS): split it into several files")


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.decode():
        n = n * 26 + ord(ch) - ord("A") + 1
    return n


#: The fewest bytes a row takes in a sheet's XML (``<row/>``): a sheet smaller than this many times the row limit
#: cannot pass it, and is not counted.
_SMALLEST_ROW = 6


def _counted_rows(book: zipfile.ZipFile, part: zipfile.ZipInfo) -> int:
    """The row elements of a sheet, counted while it is unzipped in 1 MB steps (``<row`` and a prefixed
    ``<x:row ``): some hundred MB a second, nothing kept."""
    rows, tail = 0, b""
    with book.open(part) as sheet:
        while chunk := sheet.read(1 << 20):
            text = tail + chunk
            rows += text.count(b"<row") + text.count(b":row ") - tail.count(b"<row") - tail.count(b":row ")
            tail = text[-5:]
    return rows


def check_xlsx(file: str, data: bytes) -> None:
    """Refuse a workbook that unzips to more than the size limit, or whose sheet declares more rows than
    :func:`max_xlsx_rows` or more cells than the cell limit. A file that is no zip is left to the workbook reader,
    which names it unreadable.

    Raises:
        ImportFailed: one issue naming the file and the limit.
    """
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        return
    with book:
        parts = book.infolist()
        unzipped = sum(p.file_size for p in parts)
        limit_mb = config.import_max_xlsx_mb()
        if unzipped > limit_mb * 1_000_000:
            refuse(file, f"unzips to {unzipped / 1e6:,.0f} MB; a workbook may unzip to at most {limit_mb:,} MB "
                         "(SOP_IMPORT_MAX_XLSX_MB): save it as CSV UTF-8 or split it")
        max_rows, max_cells = max_xlsx_rows(), config.import_max_cells()
        for part in parts:
            if not (part.filename.startswith("xl/worksheets/") and part.filename.endswith(".xml")):
                continue
            try:
                with book.open(part) as sheet:
                    head = sheet.read(4096)
            except (zipfile.BadZipFile, OSError, RuntimeError, EOFError):  # RuntimeError: also an unsupported method
                refuse(file, "is not a readable Excel workbook (.xlsx); save it again from Excel as .xlsx or CSV UTF-8")
            found = _DIMENSION.search(head)
            rows = int(found.group(4) or found.group(2)) if found else 0
            columns = _column_number(found.group(3) or found.group(1)) if found else 1
            if rows <= max_rows and part.file_size > _SMALLEST_ROW * max_rows:  # no or a false dimension: count
                rows = max(rows, _counted_rows(book, part))
            if rows > max_rows:
                refuse(file, f"holds {rows:,} rows; a workbook may hold at most {max_rows:,} "
                             "(SOP_IMPORT_MAX_XLSX_ROWS): save larger extracts as CSV UTF-8")
            if rows * columns > max_cells:
                refuse(file, f"holds {rows * columns:,} cells ({rows:,} rows × {columns:,} columns); an import file "
                             f"may hold at most {max_cells:,} (SOP_IMPORT_MAX_CELLS)")


def xlsx_row_limit(file: str, row: int, cells: int) -> None:
    """Refuse a workbook while it is read, at its first row beyond :func:`max_xlsx_rows` or when its cells so far
    (``cells``) pass the cell limit (for a workbook whose sheet declares no dimension, or a false one).

    Raises:
        ImportFailed: one issue naming the file, the row and the limit.
    """
    max_rows = max_xlsx_rows()
    if row > max_rows:
        refuse(file, f"holds more than {max_rows:,} rows; a workbook may hold at most {max_rows:,} "
                     "(SOP_IMPORT_MAX_XLSX_ROWS): save larger extracts as CSV UTF-8", row=row)
    max_cells = config.import_max_cells()
    if cells > max_cells:
        refuse(file, f"holds more than {max_cells:,} cells; an import file may hold at most {max_cells:,} "
                     "(SOP_IMPORT_MAX_CELLS)", row=row)
