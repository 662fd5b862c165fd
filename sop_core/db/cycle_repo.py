"""Queries for plan cycles, their state history and the sales they are compared with. Functions take a
session and never commit."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sop_core.db import models as m
from sop_core.db import repo


def cycle_by_month(session: Session, month: dt.date) -> m.PlanCycle | None:
    """The cycle of a month (its first day), None when there is none."""
    return session.scalar(select(m.PlanCycle).where(m.PlanCycle.month == month))


def cycle_months(session: Session) -> list[dt.date]:
    """The months of every cycle, oldest first."""
    return list(session.scalars(select(m.PlanCycle.month).order_by(m.PlanCycle.month)))


def cycles_newest_first(session: Session) -> list[m.PlanCycle]:
    """Every cycle, newest month first."""
    return list(session.scalars(select(m.PlanCycle).order_by(m.PlanCycle.month.desc())))


def cycles_before(session: Session, month: dt.date) -> list[m.PlanCycle]:
    """The cycles of months before ``month``, newest first."""
    return list(
        session.scalars(select(m.PlanCycle).where(m.PlanCycle.month < month).order_by(m.PlanCycle.month.desc()))
    )


def previous_cycle(session: Session, month: dt.date) -> m.PlanCycle | None:
    """The newest cycle of a month before ``month`` (None when there is none)."""
    return session.scalar(
        select(m.PlanCycle).where(m.PlanCycle.month < month).order_by(m.PlanCycle.month.desc()).limit(1)
    )


def add_cycle(session: Session, month: dt.date, user: str, at: dt.datetime) -> m.PlanCycle:
    """A new cycle of ``month`` in ``draft`` (flushed: its id is set)."""
    row = m.PlanCycle(month=month, status="draft", status_by=user, status_at=at)
    session.add(row)
    session.flush()
    return row


def state_changes(session: Session, cycle_id: int) -> list[m.AuditLog]:
    """The audited state changes of a cycle, oldest first."""
    return list(
        session.scalars(
            select(m.AuditLog)
            .where(m.AuditLog.entity == "plan_cycle", m.AuditLog.entity_id == str(cycle_id),
                   m.AuditLog.action == "cycle_state")
            .order_by(m.AuditLog.at, m.AuditLog.id)
        )
    )


def scenario(session: Session, scenario_id: int) -> m.Scenario | None:
    return session.get(m.Scenario, scenario_id)


def plan_line_versions(session: Session, cycle_id: int) -> set[int]:
    """The plan versions of a cycle that have plan lines."""
    return set(session.scalars(select(m.PlanLine.plan_version).where(m.PlanLine.cycle_id == cycle_id).distinct()))


def overrides(session: Session, cycle_id: int) -> pd.DataFrame:
    """The forecast overrides of a cycle (every column of ``forecast_override``)."""
    return repo.read_frame(session, m.ForecastOverride, m.ForecastOverride.cycle_id == cycle_id)


def forecast_rows(session: Session, run_id: int) -> pd.DataFrame:
    """The stored rows of one forecast run (every column of ``forecast``)."""
    return repo.read_frame(session, m.Forecast, m.Forecast.run_id == run_id)


def last_sales_period(session: Session) -> dt.date | None:
    """The newest month of the sales history (None when it is empty)."""
    return session.scalar(select(func.max(m.SalesHistory.period)))


def sales_between(session: Session, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Sales history rows with a period in ``[first, last]`` (every column of ``sales_history``)."""
    return repo.read_frame(session, m.SalesHistory, m.SalesHistory.period >= first, m.SalesHistory.period <= last)


def sales_until(session: Session, cutoff: dt.date | None) -> pd.DataFrame:
    """``sku, period, quantity`` of the sales history up to ``cutoff`` (all of it for None), by SKU and month."""
    where = [m.SalesHistory.period <= cutoff] if cutoff is not None else []
    frame = repo.read_frame(session, m.SalesHistory, *where, order_by=[m.SalesHistory.sku, m.SalesHistory.period])
    return frame[["sku", "period", "quantity"]]


def unit_prices(session: Session) -> pd.DataFrame:
    """``sku, unit_price`` of every product."""
    return repo.read_frame(session, m.Product)[["sku", "unit_price"]]
