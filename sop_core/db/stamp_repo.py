"""Stamps of the stored data: short aggregates that change whenever a table's rows do, read in one query per
table. Services key the figures they compute once per data version on them (see
:mod:`sop_core.services.figures`). Functions take a session and never commit.

A table's stamp is its row count, its newest surrogate id, the sum of every numeric column and the first and
last value of every date column; the product table, small and holding the hierarchy (family, category) as
text, is stamped by its full content. Adding, removing or changing a row changes the stamp unless the change
keeps every sum, count and date bound, which an import or an edit does not do in practice.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Date, Float, Integer, func, select
from sqlalchemy.orm import Session

from sop_core.db import models as m
from sop_core.db.repo import table_of


def table_stamp(session: Session, model: type[m.Base], *where: Any) -> tuple[Any, ...]:  # noqa: ANN401
    """The stamp of one table (see the module docstring), or of its rows that the ``where`` clauses keep (a
    cycle's rows, say)."""
    table = table_of(model)
    if model is m.Product and not where:
        digest = hashlib.sha256()
        rows = session.execute(select(table).order_by(*table.primary_key.columns)).tuples().all()
        for row in rows:
            digest.update("\x1f".join(map(str, row)).encode())
            digest.update(b"\x1e")
        return (len(rows), digest.hexdigest()[:16])
    parts: list[Any] = [func.count()]
    for column in table.columns:
        if column.primary_key and column.name == "id":
            parts.append(func.max(column))
        elif isinstance(column.type, Float | Integer):
            parts.append(func.sum(column))
        elif isinstance(column.type, Date):
            parts.extend((func.min(column), func.max(column)))
    row = session.execute(select(*parts).select_from(table).where(*where)).one()
    # sums to 12 significant digits: the same table gives the same text whatever order the database adds in
    return tuple(f"{v:.12g}" if isinstance(v, float) else v for v in row)


def combined(stamps: list[tuple[str, tuple[Any, ...]]]) -> str:
    """One short text for the stamps of several tables (``(table name, table_stamp)`` pairs): it changes whenever
    any of them does."""
    return hashlib.sha256(repr(stamps).encode()).hexdigest()[:20]


def stamp(session: Session, *models: type[m.Base]) -> str:
    """One short text that changes whenever any of ``models``' tables does: the hash of their stamps."""
    return combined([(model.__tablename__, table_stamp(session, model)) for model in models])
