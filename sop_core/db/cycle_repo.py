"""Queries of plan cycles (one per month). Functions take a session and never commit; they return ORM rows
the calling service may change inside its own transaction, or plain values.

Column vocabulary (the same in every ``*_repo`` module, the schema's own names): ``quantity`` [units] a
quantity of a SKU in a period (sales, forecast demand, open orders), ``on_hand`` [units] the stock of a
SKU at a date, ``period`` the month start (``datetime64``), ``as_of`` the date of a stock count. A cycle's
``month`` is the first day of its month (``datetime.date``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from sop_core.db import models as m


def cycle(session: Session, cycle_id: int) -> m.PlanCycle | None:
    """The plan cycle row (to change in the same session), or None."""
    return session.get(m.PlanCycle, cycle_id)


def cycle_by_month(session: Session, month: dt.date) -> m.PlanCycle | None:
    """The cycle of a month (its first day), None when there is none."""
    return session.scalar(select(m.PlanCycle).where(m.PlanCycle.month == month))


def cycle_months(session: Session) -> list[dt.date]:
    """The months of every cycle, oldest first."""
    return list(session.scalars(select(m.PlanCycle.month).order_by(m.PlanCycle.month)))


def cycles_newest_first(session: Session) -> list[m.PlanCycle]:
    """Every cycle, newest month first."""
    return list(session.scalars(select(m.PlanCycle).order_by(m.PlanCycle.month.desc())))


def cycles_before(session: Session, month: dt.date | None) -> list[m.PlanCycle]:
    """The cycles of months before ``month`` (every cycle when None), newest first."""
    stmt = select(m.PlanCycle).order_by(m.PlanCycle.month.desc())
    if month is not None:
        stmt = stmt.where(m.PlanCycle.month < month)
    return list(session.scalars(stmt))


def previous_cycle(session: Session, month: dt.date) -> m.PlanCycle | None:
    """The newest cycle of a month before ``month`` (None when there is none)."""
    return session.scalar(
        select(m.PlanCycle).where(m.PlanCycle.month < month).order_by(m.PlanCycle.month.desc()).limit(1)
    )


def has_cycle_before(session: Session, month: dt.date) -> bool:
    """True when a plan cycle of a month before ``month`` exists."""
    return session.scalar(select(m.PlanCycle.id).where(m.PlanCycle.month < month).limit(1)) is not None

