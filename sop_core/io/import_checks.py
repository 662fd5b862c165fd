"""The validation rules of an import: every file's columns, types and schema checks (:func:`check_file`), then
the checks across the files of one import and the stored master data (unknown SKUs, suppliers, resources and
families; a natural key given twice). :func:`validate` lists every problem, file by file, each file's by row.

>>> import datetime as dt
>>> import pandas as pd
>>> raw = pd.DataFrame({"sku": ["A-100", "B-9"], "resource": ["R1", "R1"], "hours_per_unit": ["1.5", "-2"]},
...                    index=pd.Index([2, 3], name="row"))
>>> window = PeriodWindow.around(dt.date(2026, 11, 1))
>>> [str(i) for i in validate({"routing.csv": ("routing", raw)}, {"sku": {"A-100"}, "resource": {"R1"}}, window)]
['routing.csv row 3, column sku: B-9 is not a known SKU; add it to product (in the database or in the same import)', \
'routing.csv row 3, column hours_per_unit: -2 is negative; hours must be ≥ 0']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.io.import_issues import ImportIssue
from sop_core.io.import_plausible import PeriodWindow, plausibility_issues
from sop_core.io.import_schema import (
    END_BEFORE_START_REASON,
    FRAME_CHECK_COLUMN,
    MARGIN_ABOVE_REVENUE_REASON,
    MASTER_SOURCES,
    PROMO_REASON,
    REFERENCES,
    ColumnSpec,
    column_specs,
    schema_for,
)

#: Where each natural key was first seen in an import: table -> its key columns, ``_file`` and ``_row``.
SeenKeys = dict[str, pd.DataFrame]

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


def _text(raw: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A column as read (strings, ``""`` for an empty cell) as an arrow string array (no copy when the frame is
    arrow-backed)."""
    return pa.array(raw, type=pa.string(), from_pandas=True)


def _mask(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An arrow boolean array as numpy (null counts as False)."""
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def _parse(spec: ColumnSpec, raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Typed values of one column and a mask of the cells that could not be parsed. Text columns become arrow
    strings (None for an empty cell), dates ``datetime64[ns]`` (NaT), floats ``float64`` (NaN), integers ``Int64``."""
    text = _text(raw)
    empty = _mask(pc.equal(text, ""))
    missing = pc.if_else(pa.array(empty), pa.scalar(None, pa.string()), text) if empty.any() else text
    if spec.kind == "str":
        return pd.Series(pd.arrays.ArrowExtensionArray(missing), index=raw.index), np.zeros(len(raw), dtype=bool)
    if spec.kind == "date":  # each distinct text parsed once (a file holds few distinct periods)
        encoded = pc.dictionary_encode(missing)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.unify_dictionaries().combine_chunks()
        texts = pd.Series(encoded.dictionary.to_pylist(), dtype=object)
        days = pd.to_datetime(texts, format="ISO8601", errors="coerce").dt.normalize()
        days = np.append(days.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
        codes = pc.fill_null(encoded.indices, len(texts)).to_numpy(zero_copy_only=False)
        parsed = pd.Series(days[codes], index=raw.index)  # an empty cell picks the trailing NaT
        return parsed, ~empty & parsed.isna().to_numpy()
    number = _numbers(missing)
    bad = ~empty & ~np.isfinite(number)  # no number, or an infinite one
    number = np.where(bad, np.nan, number)
    if spec.kind == "int":
        fractional = ~np.isnan(number) & ((number % 1 != 0) | (np.abs(number) >= 2.0**63))  # or beyond int64
        bad |= fractional
        missing_int = np.isnan(number) | fractional
        whole = np.where(missing_int, 0.0, number).astype(np.int64)
        return pd.Series(pd.arrays.IntegerArray(whole, missing_int), index=raw.index), bad
    return pd.Series(number, index=raw.index), bad


def _numbers(text: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Texts as float64 (NaN where a text is missing or is no number): pyarrow's cast when every text is a
    number, else pandas' parser, which marks each text that is not."""
    try:
        cast = pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        parsed = pd.to_numeric(pd.Series(text.to_pylist(), dtype=object), errors="coerce")
        return np.asarray(parsed, dtype="float64")
    return np.asarray(cast.to_numpy(zero_copy_only=False), dtype="float64")


@dataclass
class Checked:
    """One file of an import after its checks: the frame as read (``raw``, strings), the typed frame that is
    loaded (``typed``; None when the columns are wrong or there are no data rows) and its ``issues``."""

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


def check_file(file: str, table: str, raw: pd.DataFrame, window: PeriodWindow) -> Checked:
    """Structure, types, the schema's checks and the plausibility rules (:mod:`~sop_core.io.import_plausible`, dates
    within ``window``) of one file (no cross-file or database checks)."""
    issues = _check_columns(file, table, raw)
    if issues:
        return Checked(file, table, raw, None, issues)
    if raw.empty:  # no rows, or only rows refused for their width (named by the reading)
        reason = "has no data rows; add at least one row below the header"
        issues = [] if raw.attrs.get("refused") else [ImportIssue(file, None, None, None, reason)]
        return Checked(file, table, raw, None, issues)
    specs = [s for s in column_specs(table) if s.name in raw.columns]
    columns: dict[str, pd.Series] = {}
    unparsed: set[tuple[int, str]] = set()
    for spec in specs:
        values, bad = _parse(spec, raw[spec.name])
        for row in raw.index[bad]:
            value = raw.at[row, spec.name]
            reason = _TYPE_REASONS[spec.kind]
            if spec.kind == "int" and spec.name == "promo":
                reason = PROMO_REASON
            issues.append(ImportIssue(file, int(row), spec.name, str(value), reason))
            unparsed.add((int(row), spec.name))
        if not spec.required and spec.default is not None:
            values = values.where(values.notna() | bad, spec.default)
        columns[spec.name] = values
    for key in m.NATURAL_KEYS[table]:  # a key column left out takes its default (open_order.supplier = '')
        if key not in columns:
            spec = next(s for s in column_specs(table) if s.name == key)
            columns[key] = pd.Series(spec.default, index=raw.index, dtype=pd.ArrowDtype(pa.string()))
    typed = pd.DataFrame(columns, index=raw.index)
    issues.extend(_rule_issues(file, raw, _rule_failures(table, typed), unparsed))
    issues.extend(plausibility_issues(file, table, raw, typed, window, unparsed))
    return Checked(file, table, raw, typed, issues)


def _rule_failures(table: str, typed: pd.DataFrame) -> list[tuple[str, str, int]]:
    """Each broken rule of the table's schema (:func:`~sop_core.io.import_schema.schema_for`) as (the check's
    reason, or ``not_nullable`` for an empty required cell; the column; the row). The typed frame already has the
    schema's types, so each check runs as the vectorised function it is (the schema's own validation would check
    every value's type again, row by row); a check sees the non-empty values only, as in the schema."""
    schema = schema_for(table)
    failures: list[tuple[str, str, int]] = []
    for name, column in schema.columns.items():
        if name not in typed.columns:
            continue
        values = typed[name]
        if not column.nullable:
            failures.extend(("not_nullable", name, int(row)) for row in typed.index[values.isna().to_numpy()])
        for check in column.checks:
            result = check(values)
            if not result.check_passed:
                failures.extend((str(check.error), name, int(row)) for row in result.failure_cases.index)
    for check in schema.checks:
        result = check(typed)
        if not result.check_passed:
            column = FRAME_CHECK_COLUMN[str(check.error)]
            failures.extend((str(check.error), column, int(row)) for row in result.failure_cases.index)
    return failures


def _rule_issues(
    file: str, raw: pd.DataFrame, failures: list[tuple[str, str, int]], unparsed: set[tuple[int, str]]
) -> list[ImportIssue]:
    """The issues of :func:`_rule_failures`, with the value as written; a cell that is no number or date (named
    already) is not named again."""
    issues = []
    for check, column, row in failures:
        if (row, column) in unparsed:
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
    checked: Checked, known: Mapping[str, set[str]], seen_keys: SeenKeys
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
    return issues + _repeated_key_issues(checked, seen_keys)


def _repeated_key_issues(checked: Checked, seen_keys: SeenKeys) -> list[ImportIssue]:
    """A natural key given twice in one import, named on each later row with the file and row that gave it first;
    ``seen_keys`` gains the file's first occurrences."""
    file, table, raw, typed = checked.file, checked.table, checked.raw, checked.typed
    assert typed is not None
    keys = list(m.NATURAL_KEYS[table])
    label = "/".join(keys)
    complete = typed[keys].notna().all(axis=1).to_numpy()
    here = typed.loc[complete, keys].assign(_file=file, _row=typed.index[complete].to_numpy(dtype="int64"))
    before = seen_keys.get(table)
    every = here if before is None else pd.concat([before, here], ignore_index=True)
    repeated = every.duplicated(subset=keys, keep="first").to_numpy()
    seen_keys[table] = every[~repeated].reset_index(drop=True)
    if not repeated.any():
        return []
    firsts = every[~repeated].rename(columns={"_file": "_first_file", "_row": "_first_row"})
    again = every[repeated].merge(firsts, on=keys, how="left").sort_values("_row", kind="stable")
    issues = []
    for row, other_file, other_row in again[["_row", "_first_file", "_first_row"]].itertuples(index=False, name=None):
        where = f"row {other_row}" if other_file == file else f"{other_file} row {other_row}"
        value = "/".join(str(raw.at[row, k]) if k in raw.columns else "" for k in keys)
        reason = f"repeats the key of {where}; each {label} may appear only once in an import"
        issues.append(ImportIssue(file, int(row), label, value, reason))
    return issues


def _with_import_masters(known: Mapping[str, set[str]], checked: Iterable[Checked]) -> dict[str, set[str]]:
    out = {kind: set(values) for kind, values in known.items()}
    for c in checked:
        frame = c.typed if c.typed is not None else c.raw
        for kind, (table, column) in MASTER_SOURCES.items():
            if c.table == table and column in frame.columns:
                values = frame[column].dropna().tolist()
                out.setdefault(kind, set()).update(str(v) for v in values if str(v) != "")
    return out


def _sort_key(columns: list[str]) -> Callable[[ImportIssue], tuple[int, int]]:
    def key(issue: ImportIssue) -> tuple[int, int]:
        first = (issue.column or "").split("/")[0]
        return (issue.row or 0, columns.index(first) if first in columns else len(columns))

    return key


def check_all(frames: Mapping[str, tuple[str, pd.DataFrame]], known: Mapping[str, set[str]],
              window: PeriodWindow) -> list[Checked]:
    """Every file of one import checked (see :func:`validate`), in the given order; each file's issues by row."""
    checked = [check_file(file, table, raw, window) for file, (table, raw) in frames.items()]
    known_all = _with_import_masters(known, checked)
    seen_keys: SeenKeys = {}
    for c in sorted(checked, key=lambda c: list(m.INPUT_TABLES).index(c.table)):
        if c.typed is not None:
            c.issues.extend(_reference_issues(c, known_all, seen_keys))
    for c in checked:
        c.issues.sort(key=_sort_key(repo.input_columns(c.table)))
    return checked


def validate(frames: Mapping[str, tuple[str, pd.DataFrame]], known: Mapping[str, set[str]],
             window: PeriodWindow) -> list[ImportIssue]:
    """Every problem in the files of one import (pure: no database).

    Args:
        frames: file name -> (input table, frame as returned by :func:`read_extract`).
        known: master data already stored: ``{"sku": {...}, "family": {...}, "supplier": {...},
            "resource": {...}}``. Items defined by product / supplier / resource files of the same import count
            as known too.
        window: the dates the import accepts (:class:`~sop_core.io.import_plausible.PeriodWindow`, around the
            current cycle's month).

    Returns:
        The issues, file by file in the given order, each file's by row; empty when the import may proceed.
    """
    return [issue for c in check_all(frames, known, window) for issue in c.issues]
