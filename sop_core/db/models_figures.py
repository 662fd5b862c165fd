"""The stored figures: results the services compute from many rows (an inventory policy, a policy replay, forecast
accuracy on the actuals, a consensus per SKU), kept with the stamp of the data they were computed from so that a
later request on the same data reads them instead of computing them again (:mod:`sop_core.services.figures`).

* ``stored_figure``: one row per part (a table) of a figure, keyed by the figure's name and arguments; ``stamp``
  says which data and code it was computed from; ``payload`` holds the table as Parquet.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from sop_core.db.models import Base


class StoredFigure(Base):
    __tablename__ = "stored_figure"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # the figure, e.g. "inventory_policy"
    args: Mapped[str] = mapped_column(String(400), primary_key=True)  # its arguments as text
    part: Mapped[str] = mapped_column(String(64), primary_key=True)  # one table of it
    stamp: Mapped[str] = mapped_column(String(64))  # the data and code version it was computed from
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False), server_default=func.now())
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # the table as Parquet


FIGURE_MODELS: tuple[type[Base], ...] = (StoredFigure,)
