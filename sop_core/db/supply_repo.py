"""Queries for the supply review and the KPIs. Functions take a session and never commit.

Every function returns a DataFrame (dates as ``datetime64``) or a plain value, never ORM objects.

Column vocabulary (the same in every ``*_repo`` module, the schema's own names): ``quantity`` [units] a
quantity of a SKU in a period (sales, forecast demand, open orders), ``on_hand`` [units] the stock of a
SKU at a date, ``period`` the month start (``datetime64``), ``as_of`` the date of a stock count.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sop_core.db import models as m
from sop_core.db import repo


def cycle_month(session: Session, cycle_id: int) -> dt.date | None:
    """The month (first day) of a plan cycle, or None when the cycle does not exist."""
    return session.scalar(select(m.PlanCycle.month).where(m.PlanCycle.id == cycle_id))


def latest_run_id(session: Session, cycle_id: int) -> int | None:
    """The newest finished forecast run of a cycle."""
    return session.scalar(
        select(m.ForecastRun.id)
        .where(m.ForecastRun.cycle_id == cycle_id, m.ForecastRun.status == "done")
        .order_by(m.ForecastRun.id.desc())
        .limit(1)
    )


def latest_cycle_with_forecast(session: Session, month_at_most: dt.date) -> tuple[int, int] | None:
    """``(cycle_id, run_id)`` of the newest cycle up to ``month_at_most`` that has a finished forecast run."""
    row = session.execute(
        select(m.PlanCycle.id, func.max(m.ForecastRun.id))
        .join(m.ForecastRun, m.ForecastRun.cycle_id == m.PlanCycle.id)
        .where(m.PlanCycle.month <= month_at_most, m.ForecastRun.status == "done")
        .group_by(m.PlanCycle.id, m.PlanCycle.month)
        .order_by(m.PlanCycle.month.desc())
        .limit(1)
    ).first()
    return None if row is None else (int(row[0]), int(row[1]))


def forecast(session: Session, run_id: int, first_period: dt.date | None = None) -> pd.DataFrame:
    """``sku, period, quantity`` (= yhat, clipped at 0) of a forecast run, from ``first_period`` on."""
    stmt = select(m.Forecast.sku, m.Forecast.period, m.Forecast.yhat).where(m.Forecast.run_id == run_id)
    if first_period is not None:
        stmt = stmt.where(m.Forecast.period >= first_period)
    frame = pd.DataFrame(session.execute(stmt).all(), columns=["sku", "period", "quantity"])
    frame["period"] = pd.to_datetime(frame["period"])
    frame["quantity"] = frame["quantity"].astype(float).clip(lower=0.0)
    return frame


def sales(session: Session, first_period: dt.date, last_period: dt.date) -> pd.DataFrame:
    """``sku, period, quantity`` of the sales history for periods in ``[first_period, last_period]``."""
    stmt = select(m.SalesHistory.sku, m.SalesHistory.period, m.SalesHistory.quantity).where(
        m.SalesHistory.period >= first_period, m.SalesHistory.period <= last_period
    )
    frame = pd.DataFrame(session.execute(stmt).all(), columns=["sku", "period", "quantity"])
    frame["period"] = pd.to_datetime(frame["period"])
    frame["quantity"] = frame["quantity"].astype(float)
    return frame


def products(session: Session) -> pd.DataFrame:
    """``sku, name, family, category, unit_price, unit_cost, service_target``."""
    frame = repo.read_frame(session, m.Product)
    return frame[["sku", "name", "family", "category", "unit_price", "unit_cost", "service_target"]]


def inventory_snapshots(session: Session, first: dt.date, last: dt.date) -> pd.DataFrame:
    """``sku, as_of, on_hand`` of every inventory snapshot dated in ``[first, last]``."""
    return repo.read_frame(session, m.Inventory, m.Inventory.as_of >= first, m.Inventory.as_of <= last)


def latest_inventory_date(session: Session, at_most: dt.date | None = None) -> dt.date | None:
    """The date of the newest inventory snapshot (on or before ``at_most`` when given)."""
    stmt = select(func.max(m.Inventory.as_of))
    if at_most is not None:
        stmt = stmt.where(m.Inventory.as_of <= at_most)
    return session.scalar(stmt)


def on_hand(session: Session, at_most: dt.date | None = None) -> pd.DataFrame:
    """``sku, as_of, on_hand``: each SKU's newest snapshot on or before ``at_most`` (all dates when None)."""
    where = [] if at_most is None else [m.Inventory.as_of <= at_most]
    latest = select(m.Inventory.sku, func.max(m.Inventory.as_of).label("as_of")).where(*where).group_by(m.Inventory.sku)
    sub = latest.subquery()
    stmt = select(m.Inventory.sku, m.Inventory.as_of, m.Inventory.on_hand).join(
        sub, (m.Inventory.sku == sub.c.sku) & (m.Inventory.as_of == sub.c.as_of)
    )
    frame = pd.DataFrame(session.execute(stmt).all(), columns=["sku", "as_of", "on_hand"])
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    frame["on_hand"] = frame["on_hand"].astype(float)
    return frame


def open_orders(session: Session) -> pd.DataFrame:
    """``sku, period, quantity, source``: open purchase and production orders by due month."""
    stmt = select(m.OpenOrder.sku, m.OpenOrder.due_period, m.OpenOrder.quantity, m.OpenOrder.source)
    frame = pd.DataFrame(session.execute(stmt).all(), columns=["sku", "period", "quantity", "source"])
    frame["period"] = pd.to_datetime(frame["period"])
    frame["quantity"] = frame["quantity"].astype(float)
    return frame


def routing(session: Session) -> pd.DataFrame:
    """``sku, resource, hours_per_unit``."""
    return repo.read_frame(session, m.Routing)


def resources(session: Session) -> pd.DataFrame:
    """``resource, name, plant, capacity_hours, overtime_hours, overtime_cost_per_hour``."""
    return repo.read_frame(session, m.Resource)


def receipts(
    session: Session, received_from: dt.date | None = None, received_to: dt.date | None = None
) -> pd.DataFrame:
    """Supplier deliveries (the ``receipt`` table); with dates, the closed ones received in that range
    plus every open one (received_date NULL)."""
    where = []
    if received_from is not None:
        where.append((m.Receipt.received_date >= received_from) | m.Receipt.received_date.is_(None))
    if received_to is not None:
        where.append((m.Receipt.received_date <= received_to) | m.Receipt.received_date.is_(None))
    frame = repo.read_frame(session, m.Receipt, *where)
    return frame.drop(columns="id")


def suppliers(session: Session) -> pd.DataFrame:
    """``supplier, name``."""
    return repo.read_frame(session, m.Supplier)


def supplier_items(session: Session) -> pd.DataFrame:
    """``supplier, sku, lead_time_days, lead_time_std_days, moq, unit_cost, priority``."""
    return repo.read_frame(session, m.SupplierItem)


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


def product_policy_inputs(session: Session) -> pd.DataFrame:
    """``sku, name, family, unit_cost, holding_rate, order_cost, service_target`` of every product."""
    frame = repo.read_frame(session, m.Product)
    return frame[["sku", "name", "family", "unit_cost", "holding_rate", "order_cost", "service_target"]]
