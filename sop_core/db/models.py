"""SQLAlchemy 2.x models: the declarative base and the core tables of S&OP Studio.

The cycle workflow's tables are in :mod:`.models_cycle`, the KPI monitor's in :mod:`.models_monitor`;
:mod:`sop_core.db.schema` gathers all three (the whole schema, as the migrations see it).

Column names of the input tables are the import templates' headers (see ``sop_core.io.import_templates``).
Units: quantities in units, money in the company currency, hours in hours, dates are
period starts (``YYYY-MM-01``) unless the column says otherwise.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Qty = Annotated[float, mapped_column(Float)]
Money = Annotated[float, mapped_column(Float)]
PeriodStart = Annotated[dt.date, mapped_column(Date)]
Code = Annotated[str, mapped_column(String(64))]
Timestamp = Annotated[dt.datetime, mapped_column(DateTime(timezone=False), server_default=func.now())]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}

    def __repr__(self) -> str:
        cols = ", ".join(f"{c.key}={getattr(self, c.key)!r}" for c in self.__table__.columns[:4])
        return f"{type(self).__name__}({cols})"


# --------------------------------------------------------------------------- master data
class Product(Base):
    __tablename__ = "product"
    sku: Mapped[Code] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    family: Mapped[Code]
    category: Mapped[Code]
    unit_price: Mapped[Money]
    unit_cost: Mapped[Money]
    holding_rate: Mapped[float] = mapped_column(Float, default=0.25)  # per year, share of unit cost
    order_cost: Mapped[Money] = mapped_column(default=0.0)  # per order
    service_target: Mapped[float] = mapped_column(Float, default=0.95)  # cycle service level 0..1


class SalesHistory(Base):
    __tablename__ = "sales_history"
    __table_args__ = (UniqueConstraint("sku", "period"), Index("ix_sales_history_period", "period"))
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    sku: Mapped[Code] = mapped_column(ForeignKey("product.sku"))  # found by the (sku, period) key
    period: Mapped[PeriodStart]
    quantity: Mapped[Qty]
    net_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    promo: Mapped[int] = mapped_column(Integer, default=0)


class Inventory(Base):
    __tablename__ = "inventory"
    __table_args__ = (Index("ix_inventory_as_of", "as_of"),)
    sku: Mapped[Code] = mapped_column(ForeignKey("product.sku"), primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    on_hand: Mapped[Qty]


class OpenOrder(Base):
    __tablename__ = "open_order"
    __table_args__ = (UniqueConstraint("sku", "due_period", "source", "supplier"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    sku: Mapped[Code] = mapped_column(ForeignKey("product.sku"), index=True)
    due_period: Mapped[PeriodStart]
    quantity: Mapped[Qty]
    source: Mapped[str] = mapped_column(String(16))  # purchase | production
    supplier: Mapped[str] = mapped_column(String(64), default="")  # '' for production


class Supplier(Base):
    __tablename__ = "supplier"
    supplier: Mapped[Code] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class SupplierItem(Base):
    __tablename__ = "supplier_item"
    supplier: Mapped[Code] = mapped_column(ForeignKey("supplier.supplier"), primary_key=True)
    sku: Mapped[Code] = mapped_column(ForeignKey("product.sku"), primary_key=True, index=True)  # a SKU's suppliers
    lead_time_days: Mapped[float] = mapped_column(Float)
    lead_time_std_days: Mapped[float] = mapped_column(Float, default=0.0)
    moq: Mapped[Qty] = mapped_column(default=0.0)
    unit_cost: Mapped[Money]
    priority: Mapped[int] = mapped_column(Integer, default=1)  # 1 = preferred, 2+ = alternates


class Receipt(Base):
    __tablename__ = "receipt"
    __table_args__ = (UniqueConstraint("supplier", "sku", "order_date"), Index("ix_receipt_received_date", "received_date"))
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    supplier: Mapped[Code] = mapped_column(ForeignKey("supplier.supplier"), index=True)
    sku: Mapped[Code] = mapped_column(ForeignKey("product.sku"), index=True)
    order_date: Mapped[dt.date] = mapped_column(Date)
    promised_date: Mapped[dt.date] = mapped_column(Date)
    received_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    qty_ordered: Mapped[Qty]
    qty_received: Mapped[Qty] = mapped_column(default=0.0)


class Resource(Base):
    __tablename__ = "resource"
    resource: Mapped[Code] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    plant: Mapped[str] = mapped_column(String(64), default="")
    capacity_hours: Mapped[float] = mapped_column(Float)  # regular hours per month
    overtime_hours: Mapped[float] = mapped_column(Float, default=0.0)  # extra hours per month
    overtime_cost_per_hour: Mapped[Money] = mapped_column(default=0.0)


class Routing(Base):
    __tablename__ = "routing"
    sku: Mapped[Code] = mapped_column(ForeignKey("product.sku"), primary_key=True)
    resource: Mapped[Code] = mapped_column(ForeignKey("resource.resource"), primary_key=True)
    hours_per_unit: Mapped[float] = mapped_column(Float)


class Event(Base):
    __tablename__ = "event"
    __table_args__ = (UniqueConstraint("name", "start"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)
    scope: Mapped[str] = mapped_column(String(64), default="*")  # a sku, a family, or * for all
    uplift_pct: Mapped[float] = mapped_column(Float, default=0.0)


class Budget(Base):
    __tablename__ = "budget"
    family: Mapped[Code] = mapped_column(primary_key=True)
    period: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    volume: Mapped[Qty]
    revenue: Mapped[Money]
    #: budgeted gross margin: revenue − cost of goods sold (NULL: no margin budget for this family-month)
    margin: Mapped[float | None] = mapped_column(Float, nullable=True)


# --------------------------------------------------------------------------- the S&OP cycle
class AppUser(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(32))  # viewer|demand_planner|supply_planner|finance|executive|admin
    password_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)  # argon2id (or legacy PBKDF2)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # cannot sign in
    created_at: Mapped[Timestamp]
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # bumped on each write
    __mapper_args__ = {"version_id_col": version}


class PlanCycle(Base):
    __tablename__ = "plan_cycle"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    month: Mapped[dt.date] = mapped_column(Date, unique=True)
    status: Mapped[str] = mapped_column(String(32), default="draft")
    status_by: Mapped[str] = mapped_column(String(64), default="")
    status_at: Mapped[Timestamp]
    plan_version: Mapped[int] = mapped_column(Integer, default=1)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class ForecastRun(Base):
    __tablename__ = "forecast_run"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("plan_cycle.id"), nullable=True, index=True)
    created_at: Mapped[Timestamp]
    created_by: Mapped[str] = mapped_column(String(64), default="")
    engine: Mapped[str] = mapped_column(String(32))
    horizon: Mapped[int] = mapped_column(Integer)
    freq: Mapped[str] = mapped_column(String(8), default="MS")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    data_hash: Mapped[str] = mapped_column(String(64), default="")
    backtest: Mapped[dict[str, Any]] = mapped_column(default=dict)  # accuracy of the chosen models
    status: Mapped[str] = mapped_column(String(16), default="done")


class Forecast(Base):
    __tablename__ = "forecast"
    __table_args__ = (Index("ix_forecast_run_sku_period", "run_id", "sku", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("forecast_run.id", ondelete="CASCADE"))
    sku: Mapped[Code]
    period: Mapped[PeriodStart]
    yhat: Mapped[Qty]
    yhat_lo_80: Mapped[float | None] = mapped_column(Float, nullable=True)
    yhat_hi_80: Mapped[float | None] = mapped_column(Float, nullable=True)
    yhat_lo_95: Mapped[float | None] = mapped_column(Float, nullable=True)
    yhat_hi_95: Mapped[float | None] = mapped_column(Float, nullable=True)
    model: Mapped[str] = mapped_column(String(64), default="")


class ForecastOverride(Base):
    __tablename__ = "forecast_override"
    #: one override per cycle, level, item and month: two planners saving the first override of a month at once
    #: cannot both insert one (the second gets a conflict); the key also serves the queries by cycle, level, item
    __table_args__ = (
        UniqueConstraint("cycle_id", "level", "item", "period", name="uq_forecast_override_cycle_level_item_period"),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("plan_cycle.id"))
    level: Mapped[str] = mapped_column(String(16))  # sku | family | category | total
    item: Mapped[str] = mapped_column(String(64))  # the sku/family/category code, '*' for total
    period: Mapped[PeriodStart]
    value: Mapped[float | None] = mapped_column(Float, nullable=True)  # absolute quantity, or
    pct: Mapped[float | None] = mapped_column(Float, nullable=True)  # change in % of statistical
    reason: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[Timestamp]
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


#: Only one scenario of a cycle can be its proposed plan (a partial unique index, on SQLite and PostgreSQL alike).
PROPOSED_ONLY = text("status = 'proposed'")


class Scenario(Base):
    __tablename__ = "scenario"
    __table_args__ = (
        UniqueConstraint("cycle_id", "name"),
        Index("uq_scenario_proposed_per_cycle", "cycle_id", unique=True, sqlite_where=PROPOSED_ONLY,
              postgresql_where=PROPOSED_ONLY),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("plan_cycle.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    levers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    results: Mapped[dict[str, Any]] = mapped_column(default=dict)  # headline KPIs and financials
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | proposed
    author: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class PlanLine(Base):
    __tablename__ = "plan_line"
    __table_args__ = (Index("ix_plan_line_cycle_version_sku_period", "cycle_id", "plan_version", "sku", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("plan_cycle.id"))
    plan_version: Mapped[int] = mapped_column(Integer, default=1)
    scenario_id: Mapped[int | None] = mapped_column(ForeignKey("scenario.id"), nullable=True)
    sku: Mapped[Code]
    period: Mapped[PeriodStart]
    demand_qty: Mapped[Qty]
    supply_qty: Mapped[Qty]
    inventory_qty: Mapped[Qty]
    revenue: Mapped[Money]
    cost: Mapped[Money]


class Signoff(Base):
    __tablename__ = "signoff"
    __table_args__ = (UniqueConstraint("cycle_id", "plan_version", "role"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("plan_cycle.id"), index=True)
    plan_version: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(32))
    username: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text, default="")
    signed_at: Mapped[Timestamp]


class AuditLog(Base):
    """Who (``username``: the signed-in user, ``--as NAME`` or the operating-system user) did what (``action``)
    to which object (``entity``, ``entity_id``) and when (``at``); ``detail`` says what, ``before`` and ``after``
    hold the values the change replaced and wrote (None where there were none)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[Timestamp]
    username: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


#: Input tables in load order (parents first), as named in the import templates.
INPUT_TABLES: dict[str, type[Base]] = {
    "product": Product,
    "supplier": Supplier,
    "resource": Resource,
    "sales_history": SalesHistory,
    "inventory": Inventory,
    "open_order": OpenOrder,
    "supplier_item": SupplierItem,
    "receipt": Receipt,
    "routing": Routing,
    "event": Event,
    "budget": Budget,
}

#: The natural key of each input table: an import updates rows whose key exists, inserts the rest.
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "product": ("sku",),
    "supplier": ("supplier",),
    "resource": ("resource",),
    "sales_history": ("sku", "period"),
    "inventory": ("sku", "as_of"),
    "open_order": ("sku", "due_period", "source", "supplier"),
    "supplier_item": ("supplier", "sku"),
    "receipt": ("supplier", "sku", "order_date"),
    "routing": ("sku", "resource"),
    "event": ("name", "start"),
    "budget": ("family", "period"),
}

#: The core tables (inputs, users, the cycle and its plan), parents first; the whole schema is
#: :data:`sop_core.db.schema.ALL_MODELS`.
CORE_MODELS: tuple[type[Base], ...] = (
    *INPUT_TABLES.values(),
    AppUser,
    PlanCycle,
    ForecastRun,
    Forecast,
    ForecastOverride,
    Scenario,
    PlanLine,
    Signoff,
    AuditLog,
)
