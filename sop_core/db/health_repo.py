"""Queries of the input data's health: how many rows each input table holds, over which dates, for how many SKUs,
and what is missing — each an aggregate the database computes, so that no table is read whole. Functions take a
session and never commit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import distinct, exists, func, select, union
from sqlalchemy.orm import Session

from sop_core.db import models as m
from sop_core.db.repo import table_of


def table_facts(session: Session, model: type[m.Base], date_column: str | None) -> dict[str, Any]:
    """``rows``, the ``first`` and ``last`` value of ``date_column`` (None without it or without rows) and
    ``skus`` (distinct SKUs; None for a table without a ``sku`` column) of one table."""
    table = table_of(model)
    parts: list[Any] = [func.count()]
    if date_column is not None:
        parts += [func.min(table.c[date_column]), func.max(table.c[date_column])]
    if "sku" in table.c:
        parts.append(func.count(distinct(table.c.sku)))
    row = list(session.execute(select(*parts).select_from(table)).one())
    return {
        "rows": int(row.pop(0)),
        "first": row.pop(0) if date_column is not None else None,
        "last": row.pop(0) if date_column is not None else None,
        "skus": int(row.pop(0)) if "sku" in table.c else None,
    }


def sales_months(session: Session) -> tuple[int, dt.date | None, dt.date | None]:
    """The distinct months of the sales history, its first and its last period (periods are month starts: the
    import refuses any other day)."""
    h = m.SalesHistory
    months, first, last = session.execute(
        select(func.count(distinct(h.period)), func.min(h.period), func.max(h.period))
    ).one()
    return int(months or 0), first, last


def skus_with_month_gaps(session: Session) -> int:
    """SKUs with at least one month without a row between their first and last month of sales history: more
    months from the first to the last than rows (one row per SKU and month, a month start: the import's key and
    rule)."""
    h = m.SalesHistory
    rows = session.execute(select(func.min(h.period), func.max(h.period), func.count()).group_by(h.sku)).all()
    first = pd.to_datetime(pd.Series([r[0] for r in rows], dtype=object))
    last = pd.to_datetime(pd.Series([r[1] for r in rows], dtype=object))
    span = (last.dt.year - first.dt.year) * 12 + (last.dt.month - first.dt.month) + 1
    return int((span.to_numpy() > np.array([r[2] for r in rows])).sum())


def products_without(session: Session, model: type[m.Base]) -> int:
    """Products without a row in ``model``'s table (a table with a ``sku`` column)."""
    table = table_of(model)
    return int(session.scalar(
        select(func.count()).select_from(m.Product).where(~exists().where(table.c.sku == m.Product.sku))
    ) or 0)


def products_without_source(session: Session) -> int:
    """Products with neither a routing nor a supplier item."""
    sourced = union(select(m.Routing.sku), select(m.SupplierItem.sku)).subquery()
    return int(session.scalar(
        select(func.count()).select_from(m.Product).where(m.Product.sku.not_in(select(sourced.c.sku)))
    ) or 0)


def suppliers_without_items(session: Session) -> int:
    """Suppliers without a supplier item."""
    return int(session.scalar(
        select(func.count()).select_from(m.Supplier)
        .where(~exists().where(m.SupplierItem.supplier == m.Supplier.supplier))
    ) or 0)


def resources_without_routing(session: Session) -> int:
    """Resources without a routing."""
    routed = select(m.Routing.resource).distinct()
    return int(session.scalar(
        select(func.count()).select_from(m.Resource).where(m.Resource.resource.not_in(routed))
    ) or 0)
