"""Engine and sessions.

Every session of the application comes from :data:`SESSIONS` (through :func:`session_scope`). The
frozen-plan guard of :mod:`sop_core.db.guards` is registered here, on that session factory only: a
signed plan version cannot change through any session of the application, whether by ORM flush or by a
Core statement. No engine is built at import time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from sop_core import config
from sop_core.db import guards

log = logging.getLogger(__name__)


#: The session factory of the application (unbound: :func:`session_scope` binds each session to its engine).
SESSIONS: sessionmaker[Session] = sessionmaker(expire_on_commit=False)
event.listen(SESSIONS, "before_flush", guards.refuse_frozen_flush)
event.listen(SESSIONS, "do_orm_execute", guards.refuse_frozen_statement)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (default: :func:`sop_core.config.database_url`).

    A SQLite file's folder is created when missing; SQLite connections enforce foreign keys
    and use write-ahead logging so that the app's readers do not block a writer.
    """
    url = url or config.database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One short transaction on a guarded session of :data:`SESSIONS`: commits on success, rolls back on
    any error (a :class:`sop_core.db.guards.FrozenPlanError` included)."""
    with SESSIONS(bind=engine) as session, session.begin():
        yield session


def unreachable(exc: BaseException | None) -> bool:
    """True when ``exc`` (or an exception it was raised from) is the database not answering: a connection refused,
    dropped or reset (a server restarting, a network down), not a refusal of the statement itself."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DBAPIError) and (exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
