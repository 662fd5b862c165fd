"""The frozen-plan rule, in one place: a signed plan version never changes.

A plan version of a cycle is *frozen* once every sign-off role (:data:`SIGNOFF_ROLES`) has signed it, or
once its ``plan_version`` row says ``frozen`` (the snapshot is stored). For a frozen version the guard
refuses, by raising :class:`FrozenPlanError`:

* inserts, updates and deletes of its plan lines and sign-offs (and updates moving rows into it);
* any change to a stored snapshot (a frozen ``plan_version`` row and its ``plan_version_line`` rows);
* changes to the forecast overrides of a cycle whose current version is frozen, or of a closed cycle;
* changes to the levers, name or cycle of the scenario a frozen version came from, or its deletion;
* a new plan version of a closed cycle.

Where it applies: :func:`sop_core.db.engine.session_scope` makes every session of the application from
one session factory, and ``sop_core.db.engine`` registers :func:`refuse_frozen_flush` (ORM changes, at
flush) and :func:`refuse_frozen_statement` (Core INSERT/UPDATE/DELETE statements run through
``Session.execute``, i.e. the repository functions) on that factory only. A full reset of the database
sets ``session.info[RESET_ALL]`` to empty every table, signed plans included.

The guard only refuses; it never changes a row. Starting a new version of a signed cycle (which sends the
cycle back to reconciliation) is :func:`sop_core.db.plan_repo.bump_plan_version`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, and_, func, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from sop_core.db.models import ForecastOverride, PlanCycle, PlanLine, Scenario, Signoff
from sop_core.db.models_cycle import PlanVersion, PlanVersionLine
from sop_core.errors import SopError
from sop_core.units import SIGNOFF_ROLES

#: ``Session.info`` flag of a full database reset (every table emptied): the guard lets it delete.
RESET_ALL = "reset_all_tables"

#: Scenario fields that a frozen plan version depends on.
SCENARIO_FROZEN_FIELDS = ("levers", "name", "cycle_id")


class FrozenPlanError(SopError):
    """A change to a signed (frozen) plan version was attempted; the message says which."""


# --------------------------------------------------------------------------- the rule
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
            so.c.cycle_id == cycle_id, so.c.plan_version == version, so.c.role.in_(SIGNOFF_ROLES)
        )
    ).scalar()
    return int(roles or 0) >= len(SIGNOFF_ROLES)


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


def cycle_label(conn: Connection, cycle_id: int) -> str:
    """``YYYY-MM`` of a cycle's month (its id as text when there is no such cycle)."""
    pc = PlanCycle.__table__
    month = conn.execute(select(pc.c.month).where(pc.c.id == cycle_id)).scalar()
    if isinstance(month, str):
        return month[:7]
    return month.strftime("%Y-%m") if month is not None else str(cycle_id)


class _Checker:
    """The frozen checks of one flush or statement, each answer cached; every check raises or returns None."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._versions: dict[tuple[int, int], bool] = {}
        self._cycles: dict[int, bool] = {}
        self._scenarios: dict[int, bool] = {}
        self._snapshots: dict[tuple[int, int], bool] = {}

    def version(self, cycle_id: Any, version: Any) -> None:
        if cycle_id is None or version is None:
            return
        key = (int(cycle_id), int(version))
        if key not in self._versions:
            self._versions[key] = version_frozen(self.conn, *key)
        if self._versions[key]:
            raise FrozenPlanError(
                f"plan version {key[1]} of cycle {cycle_label(self.conn, key[0])} is signed off and frozen: "
                "a change needs a new plan version"
            )

    def snapshot(self, cycle_id: Any, version: Any) -> None:
        if cycle_id is None or version is None:
            return
        key = (int(cycle_id), int(version))
        if key not in self._snapshots:
            self._snapshots[key] = snapshot_stored(self.conn, *key)
        if self._snapshots[key]:
            raise FrozenPlanError(f"the snapshot of plan version {version} is stored and frozen")

    def cycle(self, cycle_id: Any, what: str) -> None:
        if cycle_id is None:
            return
        key = int(cycle_id)
        if key not in self._cycles:
            self._cycles[key] = cycle_frozen(self.conn, key)
        if self._cycles[key]:
            raise FrozenPlanError(
                f"the {what} of cycle {cycle_label(self.conn, key)} belong to a signed-off plan and are frozen: "
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


# --------------------------------------------------------------------------- ORM changes (flush)
def _old(obj: Any, attr: str) -> Any:
    """The committed value of ``attr`` (before this flush's change), else the current value."""
    hist = inspect(obj).attrs[attr].history
    if hist.deleted:
        return hist.deleted[0]
    return getattr(obj, attr)


def _changed(obj: Any, attr: str) -> bool:
    return bool(inspect(obj).attrs[attr].history.has_changes())


_FLUSH_GUARDED = (PlanLine, Signoff, PlanVersion, PlanVersionLine, ForecastOverride, Scenario, PlanCycle)


def refuse_frozen_flush(session: Session, _ctx: UOWTransaction, _instances: Any) -> None:
    """``before_flush`` listener: raises :class:`FrozenPlanError` when the flush would change a frozen version."""
    touched = [(o, "new") for o in session.new]
    touched += [(o, "dirty") for o in session.dirty if session.is_modified(o)]
    touched += [(o, "deleted") for o in session.deleted]
    relevant = [(o, k) for o, k in touched if isinstance(o, _FLUSH_GUARDED)]
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
            if kind == "deleted" or any(_changed(obj, f) for f in SCENARIO_FROZEN_FIELDS):
                check.scenario(obj.id)
        elif isinstance(obj, PlanCycle) and kind == "dirty" and _changed(obj, "plan_version"):
            if _old(obj, "status") == "closed":
                raise FrozenPlanError(f"cycle {obj.month:%Y-%m} is closed: its plan cannot change")


# --------------------------------------------------------------------------- Core statements
def _values(state: ORMExecuteState) -> list[dict[str, Any]]:
    """The column values an INSERT or UPDATE writes: its execute parameters (one dict per row) and the
    values given in the statement itself (its compiled bind parameters, named by column key)."""
    params = state.parameters
    rows: list[Any] = [params] if isinstance(params, dict) else list(params or [])
    stmt: Any = state.statement
    compiled = stmt.compile(dialect=state.session.get_bind().dialect)
    return [*(dict(p) for p in rows), dict(compiled.params)]


def _affected(conn: Connection, table: Table, where: ColumnElement[bool] | None, *cols: str) -> list[Any]:
    """The distinct ``cols`` of the rows of ``table`` that ``where`` selects (all rows when None)."""
    stmt = select(*[table.c[c] for c in cols])
    if where is not None:
        stmt = stmt.where(where)
    return list(conn.execute(stmt.distinct()).all())


_STATEMENT_GUARDED = {
    PlanLine.__tablename__: "version",
    Signoff.__tablename__: "version",
    PlanVersionLine.__tablename__: "lines",
    PlanVersion.__tablename__: "snapshot",
    ForecastOverride.__tablename__: "cycle",
    Scenario.__tablename__: "scenario",
}


def refuse_frozen_statement(state: ORMExecuteState) -> None:
    """``do_orm_execute`` listener: raises :class:`FrozenPlanError` when an INSERT, UPDATE or DELETE
    statement would touch a frozen version."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    stmt: Any = state.statement
    table: Table = stmt.table
    kind = _STATEMENT_GUARDED.get(table.name)
    if kind is None:
        return
    where = None if state.is_insert else stmt.whereclause
    if state.is_delete and where is None and state.session.info.get(RESET_ALL):
        return
    check = _Checker(state.session.connection())
    if state.is_insert:
        for row in _values(state):
            if kind == "version":
                check.version(row.get("cycle_id"), row.get("plan_version"))
            elif kind == "lines":
                check.snapshot(row.get("cycle_id"), row.get("plan_version"))
            elif kind == "cycle":
                check.cycle(row.get("cycle_id"), "forecast overrides")
        return
    if kind == "version":
        for c, v in _affected(check.conn, table, where, "cycle_id", "plan_version"):
            check.version(c, v)
        if state.is_update:  # an UPDATE moving rows into a frozen version
            for row in _values(state):
                check.version(row.get("cycle_id"), row.get("plan_version"))
    elif kind == "lines":
        for c, v in _affected(check.conn, table, where, "cycle_id", "plan_version"):
            check.snapshot(c, v)
    elif kind == "snapshot":
        frozen = table.c.status == "frozen"
        if _affected(check.conn, table, frozen if where is None else and_(frozen, where), "id"):
            raise FrozenPlanError("a frozen plan version's snapshot cannot change")
    elif kind == "cycle":
        for (c,) in _affected(check.conn, table, where, "cycle_id"):
            check.cycle(c, "forecast overrides")
    elif kind == "scenario":
        if state.is_update and not {k for row in _values(state) for k in row} & set(SCENARIO_FROZEN_FIELDS):
            return
        for (sid,) in _affected(check.conn, table, where, "id"):
            check.scenario(sid)
