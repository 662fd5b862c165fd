"""The queries of an import: the stored master data its files refer to, the load of one file's rows (with how
many of them were already stored), and the audit row that records it. Functions take the caller's session and
never commit."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from sop_core.db import audit_repo, bulk_repo, repo
from sop_core.units import Progress


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


def upsert_counted(
    session: Session, table: str, frame: pd.DataFrame, progress: Progress | None = None
) -> tuple[int, int]:
    """Upsert the rows of an input table in chunks (:func:`sop_core.db.bulk_repo.bulk_upsert`; ``progress`` hears
    the share of the load done and its step); returns (rows written, of which updated: rows whose natural key was
    already stored)."""
    return bulk_repo.bulk_upsert(session, table, frame, progress=progress)


def record_import(session: Session, username: str, tables: str, detail: dict[str, Any]) -> None:
    """Add the ``audit_log`` row of an import (action ``import``): who loaded which tables (comma-separated,
    at most 64 characters) and ``detail``, what each file wrote."""
    audit_repo.audit(session, username, "import", tables[:64], "", detail)
