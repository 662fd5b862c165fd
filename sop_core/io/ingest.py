"""Import ERP / sales extracts (CSV or XLSX) into the input tables: read, validate, load atomically.

One file holds one input table (:data:`sop_core.db.models.INPUT_TABLES`). The table is named by the file:
``sales_history.csv``, ``sales_history_2026.csv`` and ``sales_history.xlsx`` all load ``sales_history``
(see :func:`sop_core.io.import_readers.table_for_file`). The headers are the column names of
:func:`sop_core.db.repo.input_columns`; optional columns (nullable in the model, or with a default) may be left out
(:mod:`sop_core.io.import_schema`).

Row numbers in messages are the numbers a user sees in the file: the header is row 1 and the first data
row is row 2 (for XLSX, the Excel row number). An ERP export often starts with a title row or two: the header is
the first of the top :data:`~sop_core.io.import_readers.HEADER_SEARCH_ROWS` rows that names the table's columns,
and the rows above it are skipped (:func:`~sop_core.io.import_readers.header_note`: ``header found in row 3;
rows 1–2 skipped (title)``). Every problem (:mod:`sop_core.io.import_checks`) becomes an
:class:`~sop_core.io.import_issues.ImportIssue`, printed as ``sales_history.csv row 14, column quantity: -4 is
negative; quantities must be ≥ 0``; :func:`~sop_core.io.import_issues.issues_csv` writes them all as CSV.

Nothing is written unless every file of an import is valid; then all files land in one transaction, in
load order (parents first). Upsert rule: a row whose natural key (:data:`sop_core.db.models.NATURAL_KEYS`)
exists is updated, other rows are inserted, nothing is deleted. On an updated row, columns the file leaves
out keep their stored values; a new row gets the column's default.

>>> str(ImportReport((FileResult("product.csv", "product", 3, 2, 1), FileResult("routing.csv", "routing", 1, 1, 0))))
'Imported 2 files, 4 rows: product 3 (2 new, 1 updated), routing 1 (1 new, 0 updated)'
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from sop_core.db import cycle_repo, import_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.formatting import plural
from sop_core.io.import_checks import check_all, validate
from sop_core.io.import_issues import ImportFailed, ImportIssue, refuse
from sop_core.io.import_plausible import PeriodWindow
from sop_core.io.import_readers import Source, header_note, read_with_row_issues
from sop_core.services import permissions
from sop_core.units import Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileResult:
    """What one file wrote: rows in total, of which ``inserted`` new and ``updated`` existing; ``note`` tells
    what was skipped above the header (:func:`~sop_core.io.import_readers.header_note`, e.g. ``header found in row 3; rows 1–2 skipped
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
        """Rows written per table."""
        return self._per_table("rows")

    @property
    def inserted(self) -> dict[str, int]:
        """New rows per table."""
        return self._per_table("inserted")

    @property
    def updated(self) -> dict[str, int]:
        """Rows per table whose natural key was already stored (updated in place)."""
        return self._per_table("updated")

    @property
    def notes(self) -> list[str]:
        """One line per file whose header was not row 1: ``<file>: header found in row 3; rows 1–2 skipped (title)``."""
        return [f"{f.file}: {f.note}" for f in self.files if f.note]

    @property
    def total_rows(self) -> int:
        """Rows written over all files."""
        return sum(f.rows for f in self.files)

    def __str__(self) -> str:
        parts = [
            f"{table} {rows} ({self.inserted[table]} new, {self.updated[table]} updated)"
            for table, rows in self.rows.items()
        ]
        return f"Imported {plural(len(self.files), 'file')}, {plural(self.total_rows, 'row')}: " + ", ".join(parts)


def _named(files: Sequence[tuple[str, Source]] | Sequence[str | Path]) -> list[tuple[str, Source]]:
    """Each file as (its name without folders, its source): a path is named after itself."""
    out: list[tuple[str, Source]] = []
    for f in files:
        if isinstance(f, tuple):
            out.append((Path(f[0]).name, f[1]))
        else:
            out.append((Path(f).name, Path(f)))
    return out


def import_window(session: Session) -> PeriodWindow:
    """The dates an import accepts: around the month of the current cycle (the newest that is not signed or
    closed, else the newest), or of today when there is no cycle yet."""
    rows = cycle_repo.cycles_newest_first(session)
    current = next((r for r in rows if r.status not in ("signed", "closed")), rows[0]) if rows else None
    return PeriodWindow.around(current.month if current is not None else dt.date.today())


def _read_all(
    files: Sequence[tuple[str, Source]], table: str | None
) -> tuple[dict[str, tuple[str, pd.DataFrame]], list[ImportIssue]]:
    """Every file read: file name -> (input table, frame), and the issues of the reading (files that cannot be
    read, rows refused for their width)."""
    frames: dict[str, tuple[str, pd.DataFrame]] = {}
    issues: list[ImportIssue] = []
    for name, source in files:
        try:
            if name in frames:
                refuse(name, "is given twice in one import")
            frame, refused = read_with_row_issues(source, name, table)
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
    with session_scope(engine) as s:
        known, window = import_repo.stored_masters(s), import_window(s)
    return _in_file_order(issues + validate(frames, known, window), named)


def _share_of(report: Progress, start: float, width: float) -> Progress:
    """A progress callback for one step of an import, which takes ``width`` of the whole from ``start`` on."""
    return lambda share, message: report(start + width * share, message)


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
        user: who imports (an enabled user with the ``import`` action of :mod:`sop_core.services.permissions`),
            written to the audit log.
        progress: called with (share done 0..1, message).

    Raises:
        NotAllowed: ``user`` may not import data; nothing was read.
        ImportFailed: any file has any issue; nothing was written.
    """
    report = progress or (lambda _f, _msg: None)
    permissions.require(engine, user, "import")
    named = _named(files)
    report(0.05, f"Reading {plural(len(named), 'file')}…")
    frames, issues = _read_all(named, table)
    results = []
    with session_scope(engine) as s:  # the checks against stored master data and the writes: one transaction
        report(0.3, "Validating…")
        checked = check_all(frames, import_repo.stored_masters(s), import_window(s))
        issues = _in_file_order(issues + [i for c in checked for i in c.issues], named)
        if issues:
            log.info("import refused: %d issue(s), first: %s", len(issues), issues[0])
            raise ImportFailed(issues)
        order = list(m.INPUT_TABLES)
        checked.sort(key=lambda c: order.index(c.table))
        total = max(sum(len(c.typed) for c in checked if c.typed is not None), 1)
        loaded = 0
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        changed: dict[str, int] = {}
        for c in checked:
            assert c.typed is not None
            step = _share_of(report, 0.4 + 0.55 * loaded / total, 0.55 * len(c.typed) / total)
            step(0.0, f"Writing {c.file} into {c.table}…")
            changed[c.file], before[c.file], after[c.file] = import_repo.changed_rows(s, c.table, c.typed)
            written, updated = import_repo.upsert_counted(s, c.table, c.typed, step)
            loaded += len(c.typed)
            results.append(FileResult(c.file, c.table, written, written - updated, updated, header_note(c.raw) or ""))
        detail = {"files": [r.__dict__ for r in results], "rows_changed": changed,
                  "rows_listed_at_most": import_repo.AUDIT_ROWS}
        import_repo.record_import(s, user, ",".join(dict.fromkeys(r.table for r in results)), detail,
                                  before=before, after=after)
    out = ImportReport(tuple(results))
    log.info("%s", out)
    report(1.0, str(out))
    return out
