"""The queries of an import: the stored master data its files refer to, the load of one file's rows (with how
many of them were already stored), and the audit row that records it. Functions take the caller's session and
never commit."""

from __future__ import annotations

from typing import Any

import pandas as pd
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


def _key_text(column: pd.Series) -> pd.Series:
    """A key column as text that matches between a checked file and the stored table (dates as YYYY-MM-DD)."""
    if pd.api.types.is_datetime64_any_dtype(column) or column.map(lambda v: hasattr(v, "isoformat")).any():
        return pd.to_datetime(column).dt.strftime("%Y-%m-%d")
    return column.astype(str)


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    """Row by row: the two columns hold the same value (both missing counts as the same)."""
    both_missing = a.isna() & b.isna()
    num_a, num_b = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
    numeric = num_a.notna() & num_b.notna()
    equal = (num_a - num_b).abs().le(1e-9) & numeric
    text = ~numeric & (a.astype(str) == b.astype(str))
    return both_missing | equal | text


def changed_rows(session: Session, table: str, frame: pd.DataFrame) -> tuple[int, list[dict[str, Any]],
                                                                             list[dict[str, Any]]]:
    """The stored rows of ``table`` an upsert of ``frame`` changes: (how many, their values before, after), the
    values in ``frame``'s columns, at most :data:`AUDIT_ROWS` of each; rows only inserted are not listed."""
    keys = list(m.NATURAL_KEYS[table])
    stored = repo.read_table(session, table)
    cols = [c for c in frame.columns if c in stored.columns]
    if stored.empty or frame.empty or not set(keys) <= set(cols):
        return 0, [], []
    new, old = frame[cols].copy(), stored[cols].copy()
    for k in keys:
        new[f"_{k}"], old[f"_{k}"] = _key_text(new[k]), _key_text(old[k])
    merged = new.merge(old, on=[f"_{k}" for k in keys], suffixes=("", "__before"))
    values = [c for c in cols if c not in keys]
    if merged.empty or not values:
        return 0, [], []
    differ = pd.Series(False, index=merged.index)
    for c in values:
        differ |= ~_same(merged[c], merged[f"{c}__before"])
    rows = merged[differ]
    before = rows[[f"{k}__before" for k in keys] + [f"{c}__before" for c in values]]
    before.columns = keys + values
    after = rows[keys + values]
    return len(rows), before.head(AUDIT_ROWS).to_dict("records"), after.head(AUDIT_ROWS).to_dict("records")


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
