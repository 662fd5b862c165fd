"""Queries of the master data: products, suppliers and what they supply, resources and routings.

Functions take a session and never commit; they return DataFrames with every column of their table, in the
schema's own names, sorted by the table's key.

Column vocabulary (the same in every ``*_repo`` module, the schema's own names): ``quantity`` [units] a
quantity of a SKU in a period (sales, forecast demand, open orders), ``on_hand`` [units] the stock of a
SKU at a date, ``period`` the month start (``datetime64``), ``as_of`` the date of a stock count.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from sop_core.db import models as m
from sop_core.db import repo


def products(session: Session) -> pd.DataFrame:
    """``sku, name, family, category, unit_price, unit_cost`` [currency per unit], ``holding_rate`` [share of
    unit cost per year], ``order_cost`` [currency per order], ``service_target`` [0..1] of every product,
    sorted by sku."""
    return repo.read_frame(session, m.Product)


def products_without_source(session: Session) -> pd.DataFrame:
    """``sku, name, family, unit_price`` of the products with neither a routing nor a supplier item (no
    resource and no supplier limits their supply), sorted by SKU."""
    has_routing = select(m.Routing.sku).where(m.Routing.sku == m.Product.sku).exists()
    has_supplier = select(m.SupplierItem.sku).where(m.SupplierItem.sku == m.Product.sku).exists()
    stmt = (
        select(m.Product.sku, m.Product.name, m.Product.family, m.Product.unit_price)
        .where(~has_routing, ~has_supplier)
        .order_by(m.Product.sku)
    )
    frame = pd.DataFrame(session.execute(stmt).all(), columns=["sku", "name", "family", "unit_price"])
    frame["unit_price"] = frame["unit_price"].astype(float)
    return frame


def routing(session: Session) -> pd.DataFrame:
    """``sku, resource, hours_per_unit`` (hours of a resource per unit made), sorted by sku and resource."""
    return repo.read_frame(session, m.Routing)


def resources(session: Session) -> pd.DataFrame:
    """``resource, name, plant, capacity_hours, overtime_hours`` [hours per month], ``overtime_cost_per_hour``
    [currency], sorted by resource."""
    return repo.read_frame(session, m.Resource)


def suppliers(session: Session) -> pd.DataFrame:
    """``supplier, name``, sorted by supplier."""
    return repo.read_frame(session, m.Supplier)


def supplier_items(session: Session) -> pd.DataFrame:
    """``supplier, sku, lead_time_days, lead_time_std_days`` [days], ``moq`` [units], ``unit_cost`` [currency
    per unit], ``priority`` (1 = preferred), sorted by supplier and sku."""
    return repo.read_frame(session, m.SupplierItem)


def product_column(group: str | None, sku: InstrumentedAttribute[str]) -> ColumnElement[Any] | None:
    """The column the rows of a table with the SKU column ``sku`` are grouped by at a level: ``sku`` itself, or
    the product's ``family`` or ``category`` (the query then joins ``product`` on ``sku``); None (every SKU
    together) for None."""
    if group is None:
        return None
    if group == "sku":
        return sku.expression
    if group not in ("family", "category"):
        raise ValueError(f"unknown product column {group!r}; expected sku, family or category")
    column: ColumnElement[Any] = getattr(m.Product, group)
    return column
