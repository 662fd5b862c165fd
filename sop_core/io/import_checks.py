"""The validation rules of an import: every file's columns, types and schema checks (:func:`check_file`), then
the checks across the files of one import and the stored master data (unknown SKUs, suppliers, resources and
families; a natural key given twice). :func:`validate` lists every problem, file by file, each file's by row.

>>> import pandas as pd
>>> raw = pd.DataFrame({"sku": ["A-100", "B-9"], "resource": ["R1", "R1"], "hours_per_unit": ["1.5", "-2"]},
...                    index=pd.Index([2, 3], name="row"))
>>> [str(i) for i in validate({"routing.csv": ("routing", raw)}, {"sku": {"A-100"}, "resource": {"R1"}})]
['routing.csv row 3, column sku: B-9 is not a known SKU; add it to product (in the database or in the same import)', \
'routing.csv row 3, column hours_per_unit: -2 is negative; hours must be ≥ 0']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pdr
import pyarrow as pa
import pyarrow.compute as pc

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.io.import_issues import ImportIssue
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


def _parse(spec: ColumnSpec, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Typed values of one column and a mask of the cells that could not be parsed."""
    empty = raw.eq("")
    if spec.kind == "str":
        return raw.where(~empty, None).astype(object), pd.Series(False, index=raw.index)
    if spec.kind == "date":  # each distinct text parsed once (a file holds few distinct periods)
        codes, texts = pd.factorize(raw.where(~empty))
        days = pd.to_datetime(pd.Series(texts, dtype=object), format="ISO8601", errors="coerce")
        days = np.append(days.dt.normalize().to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
        parsed = pd.Series(days[codes], index=raw.index)  # code -1 (empty) picks the trailing NaT
        bad = ~empty & parsed.isna()
        return parsed, bad
    number = _numbers(raw.where(~empty))
    bad = ~empty & (number.isna() | ~np.isfinite(number.fillna(0.0)))
    number = number.where(~bad)
    if spec.kind == "int":
        fractional = number.notna() & (number % 1 != 0)
        bad |= fractional
        number = number.where(~fractional)
        return number.round().astype("Int64"), bad
    return number, bad


def _numbers(text: pd.Series) -> pd.Series:
    """Texts as float64 (NaN where a text is missing or is no number): pyarrow's cast when every text is a
    number, else pandas' parser, which marks each text that is not."""
    try:
        cast = pc.cast(pa.array(text, type=pa.string(), from_pandas=True), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pd.to_numeric(text, errors="coerce").astype("float64")
    return pd.Series(cast.to_numpy(zero_copy_only=False), index=text.index, dtype="float64")


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


def check_file(file: str, table: str, raw: pd.DataFrame) -> Checked:
    """Structure, types and the schema's checks of one file (no cross-file or database checks)."""
    issues = _check_columns(file, table, raw)
    if issues:
        return Checked(file, table, raw, None, issues)
    if raw.empty:  # no rows, or only rows refused for their width (named by the reading)
        reason = "has no data rows; add at least one row below the header"
        issues = [] if raw.attrs.get("refused") else [ImportIssue(file, None, None, None, reason)]
        return Checked(file, table, raw, None, issues)
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
    except pdr.errors.SchemaErrors as err:
        issues.extend(_schema_issues(file, raw, err.failure_cases, unparsed))
    return Checked(file, table, raw, typed, issues)


def _schema_issues(
    file: str, raw: pd.DataFrame, cases: pd.DataFrame, unparsed: set[tuple[int, str]]
) -> list[ImportIssue]:
    issues = []
    for case in cases.itertuples(index=False):
        check = str(case.check)
        column = FRAME_CHECK_COLUMN.get(check, case.column)
        if case.schema_context == "DataFrameSchema" and check in FRAME_CHECK_COLUMN and case.column != column:
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
                out.setdefault(kind, set()).update(str(v) for v in frame[column].dropna() if str(v) != "")
    return out


def _sort_key(columns: list[str]) -> Callable[[ImportIssue], tuple[int, int]]:
    def key(issue: ImportIssue) -> tuple[int, int]:
        first = (issue.column or "").split("/")[0]
        return (issue.row or 0, columns.index(first) if first in columns else len(columns))

    return key


def check_all(frames: Mapping[str, tuple[str, pd.DataFrame]], known: Mapping[str, set[str]]) -> list[Checked]:
    """Every file of one import checked (see :func:`validate`), in the given order; each file's issues by row."""
    checked = [check_file(file, table, raw) for file, (table, raw) in frames.items()]
    known_all = _with_import_masters(known, checked)
    seen_keys: SeenKeys = {}
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
    return [issue for c in check_all(frames, known) for issue in c.issues]
