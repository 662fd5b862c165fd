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
* :func:`insert_once`: the insert race (two users adding the first row of a natural key): the insert runs in a
  savepoint, and the unique key's ``IntegrityError`` rolls back the savepoint only and returns False, so that the
  caller can read the other person's row in the same transaction and report it.

Functions take a session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.exc import StaleDataError


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


def insert_once(session: Session, row: Any) -> bool:
    """Insert ``row`` in a savepoint; False (the savepoint rolled back, the transaction usable) when a unique key
    already holds another row with the same key (someone else inserted it first)."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


@contextmanager
def stale_or_duplicate() -> Iterator[list[bool]]:
    """Within the block, a version counter that no longer matches (``StaleDataError``) or a duplicate natural key
    (``IntegrityError``) sets the yielded flag ``[True]`` instead of raising; the caller's transaction is then
    unusable and must be left (the caller raises its :class:`~sop_core.errors.EditConflict` after it)."""
    hit = [False]
    try:
        yield hit
    except (StaleDataError, IntegrityError):
        hit[0] = True
