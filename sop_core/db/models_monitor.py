"""Tables of the KPI monitor: KPI targets per segment and the exceptions the monitor raises.

* ``kpi_target``: one editable target per KPI and segment (``all``, ``family:<code>`` or ``abc:<A|B|C>``),
  in the KPI's display unit (percent as 0–100, days, turns per year, SKUs), with the direction that
  is better. Edits use optimistic locking: ``version`` is the SQLAlchemy version counter, so a stale
  edit fails instead of overwriting another person's change.
* ``kpi_exception``: what a monitor run found (a projected reorder-point breach, a tracking signal
  out of bounds, a supplier below its OTIF target) with the action it proposes (JSON). One open row
  per ``(kind, sku, supplier)``: a later run that finds the same problem does not store it again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sop_core.db.models import Base, Timestamp


class KpiTarget(Base):
    __tablename__ = "kpi_target"
    __table_args__ = (UniqueConstraint("kpi", "segment"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kpi: Mapped[str] = mapped_column(String(32))  # a key of sop_core.services.kpi_targets.KPI_DEFINITIONS
    segment: Mapped[str] = mapped_column(String(80), default="all")  # all | family:<code> | abc:<class>
    target: Mapped[float] = mapped_column(Float)  # in the KPI's display unit
    direction: Mapped[str] = mapped_column(String(8))  # higher | lower (which side is better)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[Timestamp]
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class KpiException(Base):
    __tablename__ = "kpi_exception"
    __table_args__ = (Index("ix_kpi_exception_kind_status", "kind", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False))
    kind: Mapped[str] = mapped_column(String(32))  # reorder_point | tracking_signal | supplier_otif
    sku: Mapped[str] = mapped_column(String(64), default="")
    supplier: Mapped[str] = mapped_column(String(64), default="")
    kpi: Mapped[str] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(String(400), default="")
    proposal: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)


#: The monitor's tables, parents first.
MONITOR_MODELS: tuple[type[Base], ...] = (KpiTarget, KpiException)
