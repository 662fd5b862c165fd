"""Queries of the demand review's own inputs: the event calendar (promotions and other uplifts) and the tables
the review's stamp is made of. Functions take a session and never commit.

Column vocabulary (the same in every ``*_repo`` module, the schema's own names): ``quantity`` [units] a
quantity of a SKU in a period (sales, forecast demand, open orders), ``on_hand`` [units] the stock of a
SKU at a date, ``period`` the month start (``datetime64``), ``as_of`` the date of a stock count.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
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


#: What the demand review shows is read from, each with the column holding the cycle where only the cycle's rows
#: count: the cycle's forecast runs and overrides (added, edited, removed), the sales history and the events.
#: Stamped table by table (:func:`sop_core.services.figures.cycle_stamp`).
REVIEW_TABLES: tuple[tuple[type[m.Base], str | None], ...] = (
    (m.ForecastRun, "cycle_id"), (m.ForecastOverride, "cycle_id"), (m.SalesHistory, None), (m.Event, None),
)

