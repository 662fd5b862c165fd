"""Optimistic locking: no edit is lost and none is stored twice when two people save the same object.

Three tools, used by the services inside one :func:`sop_core.db.engine.session_scope` transaction:

* :func:`bump`: ``UPDATE <table> SET version = version + 1 WHERE id = :id AND version = :seen``; it matches no
  row when someone else saved since the user read ``seen`` (the caller raises
  :class:`sop_core.errors.EditConflict`). Models whose ``version`` is SQLAlchemy's version counter
  (``version_id_col``) get the same check from every ORM flush, and :func:`stale_or_duplicate` turns its
  :class:`StaleDataError` into a conflict.
* :func:`claim`: a write that changes nothing on one parent row (``UPDATE … SET c = c WHERE id = :id``), the
  first statement of a transaction that must not interleave with another on the same parent (a promotion of the
  cycle's plan): PostgreSQL holds the row's lock until commit, SQLite its one write lock, so what the transaction
  reads afterwards is what the other committed.
* :data:`LOST_RACE`: what a flush raises when another save won: ``StaleDataError`` (a version counter that no
  longer matches) or ``IntegrityError`` (the insert race: two users adding the first row of a natural key, which a
  unique key refuses to the second). The service catches them, lets its transaction roll back, and reads the other
  person's change in a new one to report it. (No savepoint: on SQLite a ``SAVEPOINT`` opens the transaction before
  its reads, and a write after another connection's commit then fails with "database is locked" at once.)

Functions take a session and never commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.exc import StaleDataError

#: The exceptions of a flush that lost a race to another save (see the module's note).
LOST_RACE = (StaleDataError, IntegrityError)


def bump(session: Session, model: Any, row_id: int, seen: int, **values: Any) -> bool:
    """Write ``values`` to the row ``row_id`` of ``model`` and add one to its ``version``, only when its version
    is still ``seen``; False (nothing written) when someone else saved it meanwhile or it is gone."""
    stmt = (update(model).where(model.id == row_id, model.version == seen)
            .values(version=model.version + 1, **values).execution_options(synchronize_session=False))
    return bool(session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]


def claim(session: Session, column: InstrumentedAttribute[Any], row_id: int) -> None:
    """Hold the row ``row_id`` of ``column``'s table until the transaction ends, by writing ``column`` unchanged:
    a second transaction claiming it waits for the first to commit (or roll back) and then reads its result."""
    model = column.class_
    session.execute(update(model).where(model.id == row_id).values({column.key: column})
                    .execution_options(synchronize_session=False))
