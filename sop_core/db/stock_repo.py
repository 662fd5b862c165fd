"""Queries of stock and flows: inventory snapshots, open orders, supplier receipts and the sales history.

Functions take a session and never commit; they return DataFrames (dates as ``datetime64``) or plain values.

Column vocabulary (the same in every ``*_repo`` module, the schema's own names): ``quantity`` [units] a
quantity of a SKU in a period (sales, forecast demand, open orders), ``on_hand`` [units] the stock of a
SKU at a date, ``period`` the month start (``datetime64``), ``as_of`` the date of a stock count.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sop_core.db import master_repo, repo
from sop_core.db import models as m


def inventory_snapshots(session: Session, first: dt.date, last: dt.date) -> pd.DataFrame:
    """``sku, as_of, on_hand`` of every inventory snapshot dated in ``[first, last]``, by sku and date."""
    return repo.read_frame(session, m.Inventory, m.Inventory.as_of >= first, m.Inventory.as_of <= last)


def latest_inventory_date(session: Session, at_most: dt.date | None = None) -> dt.date | None:
    """The date of the newest inventory snapshot (on or before ``at_most`` when given)."""
    stmt = select(func.max(m.Inventory.as_of))
    if at_most is not None:
        stmt = stmt.where(m.Inventory.as_of <= at_most)
    return session.scalar(stmt)


def on_hand(session: Session, at_most: dt.date | None = None) -> pd.DataFrame:
    """``sku, as_of, on_hand`` [units]: each SKU's newest snapshot on or before ``at_most`` (all dates when
    None), sorted by sku."""
    where = [] if at_most is None else [m.Inventory.as_of <= at_most]
    latest = select(m.Inventory.sku, func.max(m.Inventory.as_of).label("as_of")).where(*where).group_by(m.Inventory.sku)
    sub = latest.subquery()
    stmt = (
        select(m.Inventory.sku, m.Inventory.as_of, m.Inventory.on_hand)
        .join(sub, (m.Inventory.sku == sub.c.sku) & (m.Inventory.as_of == sub.c.as_of))
        .order_by(m.Inventory.sku)
    )
    frame = pd.DataFrame(session.execute(stmt).all(), columns=["sku", "as_of", "on_hand"])
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    frame["on_hand"] = frame["on_hand"].astype(float)
    return frame


def open_orders(session: Session) -> pd.DataFrame:
    """``sku, period, quantity`` [units], ``source``: every open purchase and production order by due month
    (one row per order, by id)."""
    stmt = select(m.OpenOrder.sku, m.OpenOrder.due_period, m.OpenOrder.quantity, m.OpenOrder.source).order_by(
        m.OpenOrder.id
    )
    frame = pd.DataFrame(session.execute(stmt).all(), columns=["sku", "period", "quantity", "source"])
    frame["period"] = pd.to_datetime(frame["period"])
    frame["quantity"] = frame["quantity"].astype(float)
    return frame


def receipts(
    session: Session, received_from: dt.date | None = None, received_to: dt.date | None = None
) -> pd.DataFrame:
    """Supplier deliveries (every column of ``receipt`` but its id, by id); with dates, the closed ones
    received in that range plus every open one (received_date NULL)."""
    where = []
    if received_from is not None:
        where.append((m.Receipt.received_date >= received_from) | m.Receipt.received_date.is_(None))
    if received_to is not None:
        where.append((m.Receipt.received_date <= received_to) | m.Receipt.received_date.is_(None))
    frame = repo.read_frame(session, m.Receipt, *where)
    return frame.drop(columns="id")


def sales(
    session: Session, first: dt.date | None = None, last: dt.date | None = None, sku: str | None = None
) -> pd.DataFrame:
    """``sku, period, quantity`` [units] of the sales history with a period in ``[first, last]`` (open ends
    when None; of one SKU when given), sorted by sku and period."""
    h = m.SalesHistory
    where = [*([h.period >= first] if first is not None else []), *([h.period <= last] if last is not None else [])]
    if sku is not None:
        where.append(h.sku == sku)
    result = session.execute(select(h.sku, h.period, h.quantity).where(*where).order_by(h.sku, h.period))
    frame = pd.DataFrame(result.all(), columns=["sku", "period", "quantity"])
    frame["period"] = pd.to_datetime(frame["period"])
    frame["quantity"] = frame["quantity"].astype(float)
    return frame


def last_sales_period(session: Session) -> dt.date | None:
    """The newest month of the sales history (None when it is empty)."""
    return session.scalar(select(func.max(m.SalesHistory.period)))


def price_history(session: Session, first: dt.date | None = None, last: dt.date | None = None) -> pd.DataFrame:
    """``sku, family, period, quantity, net_price, promo`` of the sales history with a period in ``[first,
    last]`` (open ends when None), sorted by sku and period (net_price NaN where not given)."""
    h = m.SalesHistory
    where = [*([h.period >= first] if first is not None else []), *([h.period <= last] if last is not None else [])]
    result = session.execute(
        select(h.sku, m.Product.family, h.period, h.quantity, h.net_price, h.promo)
        .join(m.Product, m.Product.sku == h.sku)
        .where(*where)
        .order_by(h.sku, h.period)
    )
    frame = pd.DataFrame(result.all(), columns=["sku", "family", "period", "quantity", "net_price", "promo"])
    frame["period"] = pd.to_datetime(frame["period"])
    frame["quantity"] = frame["quantity"].astype(float)
    frame["net_price"] = pd.to_numeric(frame["net_price"], errors="coerce").astype(float)
    frame["promo"] = pd.to_numeric(frame["promo"], errors="coerce").fillna(0).astype(int)
    return frame


def sales_sums(
    session: Session,
    group: str | None = None,
    item: str | None = None,
    first: dt.date | None = None,
    last: dt.date | None = None,
    *,
    forecast_run: int | None = None,
) -> pd.DataFrame:
    """The sales history summed per month and item: ``[item,] period, quantity`` [units], months with a sale
    only, sorted by item and period.

    Args:
        group: the product column the items are (``sku``, ``family``, ``category``; None: one sum of every SKU,
            without an ``item`` column).
        item: that column's value to keep (every item when None).
        first, last: the months kept (open ends when None).
        forecast_run: only the SKUs this forecast run forecasts.
    """
    h = m.SalesHistory
    key = master_repo.product_column(group, h.sku)
    stmt = select(*([key] if key is not None else []), h.period, func.sum(h.quantity))
    if group in ("family", "category"):
        stmt = stmt.join(m.Product, m.Product.sku == h.sku)
    if key is not None and item is not None:
        stmt = stmt.where(key == item)
    if first is not None:
        stmt = stmt.where(h.period >= first)
    if last is not None:
        stmt = stmt.where(h.period <= last)
    if forecast_run is not None:
        stmt = stmt.where(h.sku.in_(select(m.Forecast.sku).where(m.Forecast.run_id == forecast_run).distinct()))
    grouping = [key, h.period] if key is not None else [h.period]
    names = [*(["item"] if key is not None else []), "period", "quantity"]
    frame = pd.DataFrame(session.execute(stmt.group_by(*grouping).order_by(*grouping)).all(), columns=names)
    frame["period"] = pd.to_datetime(frame["period"])
    frame["quantity"] = frame["quantity"].astype(float)
    return frame


def first_sales_period(session: Session, group: str | None = None, item: str | None = None) -> dt.date | None:
    """The first month of the sales history of the SKUs whose product column ``group`` is ``item`` (of every
    SKU when ``group`` is None); None without history."""
    h = m.SalesHistory
    key = master_repo.product_column(group, h.sku)
    stmt = select(func.min(h.period))
    if group in ("family", "category"):
        stmt = stmt.join(m.Product, m.Product.sku == h.sku)
    if key is not None and item is not None:
        stmt = stmt.where(key == item)
    return session.scalar(stmt)
