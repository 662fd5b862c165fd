"""Queries of the demand review's own inputs: the event calendar (promotions and other uplifts) and the stamp
of everything the review shows. Functions take a session and never commit.

Column vocabulary (the same in every ``*_repo`` module, the schema's own names): ``quantity`` [units] a
quantity of a SKU in a period (sales, forecast demand, open orders), ``on_hand`` [units] the stock of a
SKU at a date, ``period`` the month start (``datetime64``), ``as_of`` the date of a stock count.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sop_core.db import models as m


def events(session: Session) -> pd.DataFrame:
    """``name, start, end, scope, uplift_pct`` of every event (uplift in percent), sorted by start."""
    result = session.execute(
        select(m.Event.name, m.Event.start, m.Event.end, m.Event.scope, m.Event.uplift_pct).order_by(m.Event.start)
    )
    frame = pd.DataFrame(result.all(), columns=["name", "start", "end", "scope", "uplift_pct"])
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    return frame


def review_stamp(session: Session, cycle_id: int) -> tuple[Any, ...]:
    """Aggregates that change whenever what the demand review shows does: the cycle's forecast runs,
    its overrides (added, edited — the version grows — or removed), the sales history and the events."""
    runs = session.execute(
        select(func.count(m.ForecastRun.id), func.max(m.ForecastRun.id)).where(m.ForecastRun.cycle_id == cycle_id)
    ).one()
    o = m.ForecastOverride
    overrides = session.execute(
        select(func.count(o.id), func.max(o.id), func.sum(o.version)).where(o.cycle_id == cycle_id)
    ).one()
    sales = session.execute(
        select(func.count(m.SalesHistory.id), func.max(m.SalesHistory.id), func.sum(m.SalesHistory.quantity))
    ).one()
    events = session.execute(select(func.count(m.Event.id), func.max(m.Event.id))).one()
    return (*runs, *overrides, *sales, *events)

