"""The queries of an import: the stored master data its files refer to, the load of one file's rows (with how
many of them were already stored), and the audit row that records it. Functions take the caller's session and
never commit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from sop_core.db import audit_repo, repo
from sop_core.db import models as m


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


def upsert_counted(session: Session, table: str, frame: pd.DataFrame) -> tuple[int, int]:
    """Upsert the rows of an input table (:func:`sop_core.db.repo.upsert_frame`); returns (rows written, of which
    updated: rows whose natural key was already stored)."""
    updated = _count_stored(table, frame, repo.read_table(session, table))
    return repo.upsert_frame(session, table, frame), updated


def record_import(session: Session, username: str, tables: str, detail: dict[str, Any]) -> None:
    """Add the ``audit_log`` row of an import (action ``import``): who loaded which tables (comma-separated,
    at most 64 characters) and ``detail``, what each file wrote."""
    audit_repo.audit(session, username, "import", tables[:64], "", detail)


def _count_stored(table: str, frame: pd.DataFrame, stored: pd.DataFrame) -> int:
    """How many rows of ``frame`` have a natural key that ``stored`` already holds."""
    if stored.empty:
        return 0
    keys = list(m.NATURAL_KEYS[table])
    known = {tuple(_key_value(v) for v in k) for k in stored[keys].itertuples(index=False, name=None)}
    return sum(tuple(_key_value(v) for v in k) in known for k in frame[keys].itertuples(index=False, name=None))


def _key_value(value: Any) -> Any:
    """A key part as comparable across a file and the database: dates and timestamps as ``datetime.date``."""
    if isinstance(value, dt.date | pd.Timestamp | np.datetime64):
        return pd.Timestamp(value).date()
    return value
