"""Tables of the cycle workflow: plan versions (frozen snapshots), their input lines, decisions.

A plan version of a cycle is *frozen* once every sign-off role has signed it (or its
``plan_version`` row says ``frozen``). The session events at the end of this module refuse, for a
frozen version, every insert, update and delete of its plan lines, sign-offs, version rows, the
cycle's forecast overrides and the scenario the plan came from — through the ORM (flush) and through
Core statements run by ``Session.execute`` (the repository functions) alike — by raising
:class:`FrozenPlanError`. A change makes a new plan version instead.

Units: quantities in units, money in the company currency, periods are month starts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    event,
    func,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from sop_core.db.models import Base, ForecastOverride, PlanCycle, PlanLine, Scenario, Signoff
from sop_core.errors import SopError

#: Roles whose sign-off together freeze a plan version (same as ``sop_core.services.plan.SIGNOFF_ROLES``).
FREEZE_ROLES: tuple[str, ...] = ("demand_planner", "supply_planner", "finance", "executive")


#: ``Session.info`` flag of a full database reset (every table emptied): the guard lets it delete.
RESET_ALL = "reset_all_tables"


class FrozenPlanError(SopError):
    """A change to a signed (frozen) plan version was attempted; the message says which."""


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
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("plan_cycle.id"), index=True)
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


CYCLE_MODELS: tuple[type[Base], ...] = (PlanVersion, PlanVersionLine, Decision)


# --------------------------------------------------------------------------- frozen-version guard
def snapshot_stored(conn: Connection, cycle_id: int, version: int) -> bool:
    """True when the frozen ``plan_version`` row of the version exists (its snapshot is complete)."""
    pv = PlanVersion.__table__
    return bool(
        conn.execute(
            select(func.count())
            .select_from(pv)
            .where(pv.c.cycle_id == cycle_id, pv.c.version == version, pv.c.status == "frozen")
        ).scalar()
    )


def version_frozen(conn: Connection, cycle_id: int, version: int) -> bool:
    """True when plan ``version`` of ``cycle_id`` is frozen (a frozen version row, or every role signed)."""
    if snapshot_stored(conn, cycle_id, version):
        return True
    so = Signoff.__table__
    roles = conn.execute(
        select(func.count(func.distinct(so.c.role))).where(
            so.c.cycle_id == cycle_id, so.c.plan_version == version, so.c.role.in_(FREEZE_ROLES)
        )
    ).scalar()
    return int(roles or 0) >= len(FREEZE_ROLES)


def cycle_frozen(conn: Connection, cycle_id: int) -> bool:
    """True when the cycle's current plan version is frozen, or the cycle is closed."""
    pc = PlanCycle.__table__
    row = conn.execute(select(pc.c.plan_version, pc.c.status).where(pc.c.id == cycle_id)).first()
    if row is None:
        return False
    return row.status == "closed" or version_frozen(conn, cycle_id, int(row.plan_version))


def scenario_frozen(conn: Connection, scenario_id: int) -> bool:
    """True when the scenario is the source of a frozen plan version."""
    pv, pl = PlanVersion.__table__, PlanLine.__table__
    if conn.execute(
        select(func.count()).select_from(pv).where(pv.c.scenario_id == scenario_id, pv.c.status == "frozen")
    ).scalar():
        return True
    pairs = conn.execute(
        select(pl.c.cycle_id, pl.c.plan_version).where(pl.c.scenario_id == scenario_id).distinct()
    ).all()
    return any(version_frozen(conn, c, v) for c, v in pairs)


class _Checker:
    """Frozen checks with a cache for one flush or statement."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._versions: dict[tuple[int, int], bool] = {}
        self._cycles: dict[int, bool] = {}
        self._scenarios: dict[int, bool] = {}

    def version(self, cycle_id: Any, version: Any) -> None:
        if cycle_id is None or version is None:
            return
        key = (int(cycle_id), int(version))
        if key not in self._versions:
            self._versions[key] = version_frozen(self.conn, *key)
        if self._versions[key]:
            raise FrozenPlanError(
                f"plan version {key[1]} of cycle {_label(self.conn, key[0])} is signed off and frozen: "
                "a change needs a new plan version"
            )

    def snapshot(self, cycle_id: Any, version: Any) -> None:
        if cycle_id is None or version is None:
            return
        if snapshot_stored(self.conn, int(cycle_id), int(version)):
            raise FrozenPlanError(f"the snapshot of plan version {version} is stored and frozen")

    def cycle(self, cycle_id: Any, what: str) -> None:
        if cycle_id is None:
            return
        key = int(cycle_id)
        if key not in self._cycles:
            self._cycles[key] = cycle_frozen(self.conn, key)
        if self._cycles[key]:
            raise FrozenPlanError(
                f"the {what} of cycle {_label(self.conn, key)} belong to a signed-off plan and are frozen: "
                "start a new plan version first"
            )

    def scenario(self, scenario_id: Any) -> None:
        if scenario_id is None:
            return
        key = int(scenario_id)
        if key not in self._scenarios:
            self._scenarios[key] = scenario_frozen(self.conn, key)
        if self._scenarios[key]:
            raise FrozenPlanError(f"scenario {key} is the source of a signed-off plan version and is frozen")


def _label(conn: Connection, cycle_id: int) -> str:
    pc = PlanCycle.__table__
    month = conn.execute(select(pc.c.month).where(pc.c.id == cycle_id)).scalar()
    if isinstance(month, str):
        return month[:7]
    return month.strftime("%Y-%m") if month is not None else str(cycle_id)


def _old(obj: Any, attr: str) -> Any:
    """The committed value of ``attr`` (before this flush's change), else the current value."""
    from sqlalchemy import inspect as sa_inspect

    hist = sa_inspect(obj).attrs[attr].history
    if hist.deleted:
        return hist.deleted[0]
    return getattr(obj, attr)


_SCENARIO_FROZEN_FIELDS = ("levers", "name", "cycle_id")


@event.listens_for(Session, "before_flush")
def _guard_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    """Refuse ORM changes to frozen plan versions (raises :class:`FrozenPlanError`)."""
    touched = [(o, "new") for o in session.new]
    touched += [(o, "dirty") for o in session.dirty if session.is_modified(o)]
    touched += [(o, "deleted") for o in session.deleted]
    relevant = [
        (o, k)
        for o, k in touched
        if isinstance(o, (PlanLine, Signoff, PlanVersion, PlanVersionLine, ForecastOverride, Scenario, PlanCycle))
    ]
    if not relevant:
        return
    check = _Checker(session.connection())
    for obj, kind in relevant:
        if isinstance(obj, PlanVersionLine):
            check.snapshot(obj.cycle_id, obj.plan_version)
        elif isinstance(obj, (PlanLine, Signoff)):
            check.version(obj.cycle_id, obj.plan_version)
            if kind == "dirty":
                check.version(_old(obj, "cycle_id"), _old(obj, "plan_version"))
        elif isinstance(obj, PlanVersion):
            if kind != "new" and _old(obj, "status") == "frozen":
                raise FrozenPlanError(f"plan version {obj.version} is frozen: its snapshot cannot change")
        elif isinstance(obj, ForecastOverride):
            check.cycle(obj.cycle_id, "forecast overrides")
            if kind == "dirty":
                check.cycle(_old(obj, "cycle_id"), "forecast overrides")
        elif isinstance(obj, Scenario) and kind != "new":
            if kind == "deleted" or any(_changed(obj, f) for f in _SCENARIO_FROZEN_FIELDS):
                check.scenario(obj.id)
        elif isinstance(obj, PlanCycle) and kind == "dirty":
            _cycle_changed(obj)


def _changed(obj: Any, attr: str) -> bool:
    from sqlalchemy import inspect as sa_inspect

    return bool(sa_inspect(obj).attrs[attr].history.has_changes())


def _cycle_changed(obj: PlanCycle) -> None:
    """A closed cycle takes no new plan version; a new version of a signed cycle reopens it."""
    if not _changed(obj, "plan_version"):
        return
    if _old(obj, "status") == "closed":
        raise FrozenPlanError(f"cycle {obj.month:%Y-%m} is closed: its plan cannot change")
    if obj.status == "signed" and not _changed(obj, "status"):
        obj.status = "reconciliation"
        obj.status_at = dt.datetime.now().replace(microsecond=0)


def _params(state: ORMExecuteState) -> list[dict[str, Any]]:
    params = state.parameters
    if params is None:
        params = []
    elif isinstance(params, dict):
        params = [params]
    out = [dict(p) for p in params]
    stmt_values = getattr(state.statement, "_values", None)
    if stmt_values:
        out.append({getattr(k, "key", str(k)): getattr(v, "value", v) for k, v in stmt_values.items()})
    multi = getattr(state.statement, "_multi_values", None)
    if multi:
        for group in multi:
            for row in group:
                if isinstance(row, dict):
                    out.append({getattr(k, "key", str(k)): getattr(v, "value", v) for k, v in row.items()})
    return out


_GUARDED = {
    PlanLine.__tablename__: "version",
    Signoff.__tablename__: "version",
    PlanVersionLine.__tablename__: "lines",
    PlanVersion.__tablename__: "snapshot",
    ForecastOverride.__tablename__: "cycle",
    Scenario.__tablename__: "scenario",
}


def _affected(conn: Connection, table: Any, where: Any, cols: Iterable[str]) -> list[Any]:
    stmt = select(*[table.c[c] for c in cols])
    if where is not None:
        stmt = stmt.where(where)
    return list(conn.execute(stmt.distinct()).all())


@event.listens_for(Session, "do_orm_execute")
def _guard_statement(state: ORMExecuteState) -> None:
    """Refuse Core/bulk INSERT, UPDATE and DELETE statements that touch a frozen plan version."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    if state.is_delete and state.session.info.get(RESET_ALL) and getattr(state.statement, "whereclause", None) is None:
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    kind = _GUARDED.get(name)
    if kind is None:
        return
    check = _Checker(state.session.connection())
    where = getattr(state.statement, "whereclause", None)
    if state.is_insert:
        for row in _params(state):
            if kind == "version":
                check.version(row.get("cycle_id"), row.get("plan_version"))
            elif kind == "lines":
                check.snapshot(row.get("cycle_id"), row.get("plan_version"))
            elif kind == "cycle":
                check.cycle(row.get("cycle_id"), "forecast overrides")
        return
    if kind == "version":
        for c, v in _affected(check.conn, table, where, ("cycle_id", "plan_version")):
            check.version(c, v)
        for row in _params(state):  # an UPDATE moving rows into a frozen version
            check.version(row.get("cycle_id"), row.get("plan_version"))
    elif kind == "lines":
        for c, v in _affected(check.conn, table, where, ("cycle_id", "plan_version")):
            check.snapshot(c, v)
    elif kind == "snapshot":
        frozen = and_(table.c.status == "frozen", where) if where is not None else table.c.status == "frozen"
        if _affected(check.conn, table, frozen, ("id",)):
            raise FrozenPlanError("a frozen plan version's snapshot cannot change")
    elif kind == "cycle":
        for (c,) in _affected(check.conn, table, where, ("cycle_id",)):
            check.cycle(c, "forecast overrides")
    elif kind == "scenario":
        if state.is_update:
            changed = {k for row in _params(state) for k in row}
            if not changed & set(_SCENARIO_FROZEN_FIELDS):
                return
        for (sid,) in _affected(check.conn, table, where, ("id",)):
            check.scenario(sid)
