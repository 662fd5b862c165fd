"""Queries of the forecast overrides (``forecast_override``): the planners' changes to a cycle's statistical
forecast. Functions take a session and never commit.

Column vocabulary (the same in every ``*_repo`` module, the schema's own names): ``quantity`` [units] a
quantity of a SKU in a period (sales, forecast demand, open orders), ``on_hand`` [units] the stock of a
SKU at a date, ``period`` the month start (``datetime64``), ``as_of`` the date of a stock count. An
override's ``value`` is an absolute quantity [units], its ``pct`` a change in percent of the statistical one.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from sop_core.db import models as m

OVERRIDE_FIELDS = ("id", "cycle_id", "level", "item", "period", "value", "pct", "reason", "comment", "author",
                   "created_at", "version")


def overrides(session: Session, cycle_id: int, level: str | None = None, item: str | None = None) -> pd.DataFrame:
    """``id, cycle_id, level, item, period, value, pct, reason, comment, author, created_at, version`` of
    the overrides of a cycle (optionally of one level / item), sorted by level, item, period, id."""
    stmt = select(*(getattr(m.ForecastOverride, c) for c in OVERRIDE_FIELDS)).where(
        m.ForecastOverride.cycle_id == cycle_id
    )
    if level is not None:
        stmt = stmt.where(m.ForecastOverride.level == level)
    if item is not None:
        items = ["*", "Total"] if level == "total" else [item]
        stmt = stmt.where(m.ForecastOverride.item.in_(items))
    stmt = stmt.order_by(m.ForecastOverride.level, m.ForecastOverride.item, m.ForecastOverride.period,
                         m.ForecastOverride.id)
    frame = pd.DataFrame(session.execute(stmt).all(), columns=list(OVERRIDE_FIELDS))
    frame["period"] = pd.to_datetime(frame["period"])
    for c in ("value", "pct"):
        frame[c] = frame[c].astype(float)
    return frame


def override_rows(session: Session, cycle_id: int, level: str, items: list[str]) -> list[m.ForecastOverride]:
    """The ORM rows of one cycle, level and item (item aliases given by the caller)."""
    return list(session.scalars(
        select(m.ForecastOverride).where(
            m.ForecastOverride.cycle_id == cycle_id,
            m.ForecastOverride.level == level,
            m.ForecastOverride.item.in_(items),
        )
    ))


def add_override(session: Session, **fields: Any) -> None:
    """Add a ``forecast_override`` row (written at the next flush)."""
    session.add(m.ForecastOverride(**fields))


def delete_override(session: Session, row: m.ForecastOverride) -> None:
    """Delete an override row read by :func:`override_rows` (at the next flush)."""
    session.delete(row)

