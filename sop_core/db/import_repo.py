"""The queries of an import: the stored master data its files refer to, the load of one file's rows (with how
many of them were already stored), and the audit row that records it. Functions take the caller's session and
never commit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from sop_core.db import audit_repo, bulk_repo, repo
from sop_core.db import models as m
from sop_core.units import Progress

#: Most changed rows of one table an import's audit row holds, before and after [rows]; beyond, it counts them.
AUDIT_ROWS = 5_000


def stored_masters(session: Session) -> dict[str, set[str]]:
    """The stored master data by kind: ``{"sku": SKUs, "family": product families, "supplier": supplier codes,
    "resource": resource codes}``, each a set of strings."""
    product = repo.read_table(session, "product")
    supplier = repo.read_table(session, "supplier")
    resource = repo.read_table(session, "resource")
    return {
        "sku": set(product["sku"].astype(str)),
        "family": set(product["family"].astype(str)),
        "supplier": set(supplier["supplier"].astype(str)),
        "resource": set(resource["resource"].astype(str)),
    }


def _key_codes(news: list[pd.Series], olds: list[pd.Series]) -> tuple[np.ndarray, np.ndarray]:
    """The natural keys of a checked file's rows and of the stored rows as one integer per row, equal where the keys
    match as text (dates as YYYY-MM-DD): each key column is encoded over both sides at once in C++ (dates as days,
    other columns as text), the columns combined into one code."""
    code = np.zeros(len(news[0]) + len(olds[0]), dtype=np.int64)
    for new, old in zip(news, olds, strict=True):
        sides = []
        for column in (new, old):
            if pd.api.types.is_datetime64_any_dtype(column):  # the date as printed: days, rounded down
                days = column.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
                sides.append(pa.array(days))
            else:
                sides.append(pc.cast(pa.array(column, from_pandas=True), pa.string()))
        both = pa.concat_arrays([a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in sides])
        encoded = pc.dictionary_encode(both)
        width = len(encoded.dictionary)
        combined = code * width + encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        code = pd.factorize(combined)[0].astype(np.int64)  # small again: no overflow over several key columns
    return code[: len(news[0])], code[len(news[0]) :]


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Row by row: the two columns (aligned, same length) hold the same value: both missing, numbers within 1e-9,
    or else the same text (compared only where neither of the first two tells)."""
    both_missing = (a.isna() & b.isna()).to_numpy(dtype=bool)
    num_a, num_b = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
    numeric = (num_a.notna() & num_b.notna()).to_numpy(dtype=bool)
    equal = (num_a - num_b).abs().le(1e-9).to_numpy(dtype=bool, na_value=False) & numeric
    same: np.ndarray = both_missing | equal
    rest = np.flatnonzero(~numeric & ~both_missing)
    if rest.size:
        same[rest] = a.iloc[rest].astype(str).to_numpy() == b.iloc[rest].astype(str).to_numpy()
    return same


def changed_rows(session: Session, table: str, frame: pd.DataFrame) -> tuple[int, list[dict[str, Any]],
                                                                             list[dict[str, Any]]]:
    """The stored rows of ``table`` an upsert of ``frame`` changes: (how many, their values before, after), the
    values in ``frame``'s columns, at most :data:`AUDIT_ROWS` of each, in the order of ``frame``; rows only inserted
    are not listed."""
    keys = list(m.NATURAL_KEYS[table])
    model = m.INPUT_TABLES[table]
    cols = [c for c in frame.columns if c in repo.table_of(model).columns and c != "id"]
    if frame.empty or not set(keys) <= set(cols):
        return 0, [], []
    stored = repo.read_frame(session, model, columns=cols)
    values = [c for c in cols if c not in keys]
    if stored.empty or not values:
        return 0, [], []
    new_codes, old_codes = _key_codes([frame[k] for k in keys], [stored[k] for k in keys])
    at = pd.Index(old_codes).get_indexer(new_codes)  # the stored row of each row of the file, -1 for a new one
    matched = np.flatnonzero(at >= 0)
    if not matched.size:
        return 0, [], []
    new = frame[cols].iloc[matched].reset_index(drop=True)
    old = stored[cols].iloc[at[matched]].reset_index(drop=True)
    differ = np.zeros(len(new), dtype=bool)
    for c in values:
        differ |= ~_same(new[c], old[c])
    rows = np.flatnonzero(differ)
    listed = rows[:AUDIT_ROWS]
    before = old.iloc[listed][keys + values].to_dict("records")
    after = new.iloc[listed][keys + values].to_dict("records")
    return len(rows), before, after


def upsert_counted(
    session: Session, table: str, frame: pd.DataFrame, progress: Progress | None = None
) -> tuple[int, int]:
    """Upsert the rows of an input table in chunks (:func:`sop_core.db.bulk_repo.bulk_upsert`; ``progress`` hears
    the share of the load done and its step); returns (rows written, of which updated: rows whose natural key was
    already stored)."""
    return bulk_repo.bulk_upsert(session, table, frame, progress=progress)


def record_import(session: Session, username: str, tables: str, detail: dict[str, Any], *,
                  before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    """Add the ``audit_log`` row of an import (action ``import``): who loaded which tables (comma-separated,
    at most 64 characters), ``detail``, what each file wrote, and ``before`` / ``after``: per table, the rows
    the import changed with their values before and after (:func:`changed_rows`)."""
    audit_repo.audit(session, username, "import", tables[:64], "", detail, before=before, after=after)
