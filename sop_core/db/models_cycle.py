"""Tables of the cycle workflow: plan versions (frozen snapshots), their input lines, decisions.

A plan version of a cycle is *frozen* once every sign-off role has signed it (or its
``plan_version`` row says ``frozen``); :mod:`sop_core.db.guards` defines that rule and refuses changes
to a frozen version.

Units: quantities in units, money in the company currency, periods are month starts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from sop_core.db.models import Base


class PlanVersion(Base):
    """One plan version of a cycle; a frozen one holds the snapshot of its inputs for reproduction."""

    __tablename__ = "plan_version"
    __table_args__ = (UniqueConstraint("cycle_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("plan_cycle.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="frozen")  # open | frozen
    scenario_id: Mapped[int | None] = mapped_column(ForeignKey("scenario.id"), nullable=True)
    forecast_run_id: Mapped[int | None] = mapped_column(ForeignKey("forecast_run.id"), nullable=True)
    history_cutoff: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # last actual month used
    data_hash: Mapped[str] = mapped_column(String(64), default="")  # sha256 of the sales history used
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the snapshot (levers, stock, orders, …)
    inputs_hash: Mapped[str] = mapped_column(String(64), default="")  # sha256 of data_hash + inputs
    results_hash: Mapped[str] = mapped_column(String(64), default="")  # sha256 of the plan lines
    package_versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    totals: Mapped[dict[str, Any]] = mapped_column(default=dict)  # headline KPIs at freeze time
    frozen_by: Mapped[str] = mapped_column(String(64), default="")
    frozen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)


class PlanVersionLine(Base):
    """Per SKU × month of a frozen version: what the plan started from (for the plan diff)."""

    __tablename__ = "plan_version_line"
    __table_args__ = (Index("ix_plan_version_line_cycle_version", "cycle_id", "plan_version"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("plan_cycle.id"))
    plan_version: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64))
    period: Mapped[dt.date] = mapped_column(Date)
    stat_qty: Mapped[float] = mapped_column(Float)  # statistical forecast [units]
    base_qty: Mapped[float] = mapped_column(Float)  # demand the plan started from (after overrides) [units]
    demand_qty: Mapped[float] = mapped_column(Float)  # after scenario levers [units]
    served_qty: Mapped[float] = mapped_column(Float)  # demand met by supply [units]
    revenue: Mapped[float] = mapped_column(Float)  # served × price [currency]


class Decision(Base):
    """A decision taken (or to take) in an executive review, with its owner and outcome."""

    __tablename__ = "decision"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("plan_cycle.id"), index=True)
    decision: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(64), default="")
    due_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    scenario_id: Mapped[int | None] = mapped_column(ForeignKey("scenario.id"), nullable=True)
    family: Mapped[str] = mapped_column(String(64), default="*")  # the family it concerns, * = all
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done | dropped
    outcome: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False), server_default=func.now())
    updated_by: Mapped[str] = mapped_column(String(64), default="", server_default="")  # the last to change it
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # bumped on each write
    __mapper_args__ = {"version_id_col": version}


CYCLE_MODELS: tuple[type[Base], ...] = (PlanVersion, PlanVersionLine, Decision)
