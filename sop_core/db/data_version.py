"""Whether anyone has written to the database: a cheap value that moves with every committed write, in this
process or another, and the stamps (:mod:`sop_core.db.stamp_repo`) remembered while it stands still.

* SQLite: ``PRAGMA data_version`` of a connection this process keeps for watching only. It changes whenever
  another connection (of any process) commits a change to the file, and never on a read; with the file's inode and
  modification time, so that a file copied over the database counts as a change too.
* PostgreSQL: the current snapshot (``pg_current_snapshot()``: the next transaction id and the transactions in
  progress). It moves when a transaction that writes starts or ends, in any database of the server (which only
  makes a remembered stamp be read again more often), and never on a read-only transaction.

A stamp scans whole tables (about a second at 17,600 SKUs); reading the data version costs a fraction of a
millisecond. :func:`remembered` gives a stamp computed while the data version has not moved since, so a page
that reruns on an unchanged database reads no table to know it is unchanged. A value is computed after the data
version is read, so it reflects that state or a later one; a later one means a write came in between, which moved
the data version, so the value is never given out again. An in-memory SQLite database has no watcher: its
stamps are always computed.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Hashable, Mapping
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from sop_core.db.engine import session_scope

T = TypeVar("T")

_lock = threading.Lock()
#: SQLite file → (process id, watching connection).
_watchers: dict[str, tuple[int, sqlite3.Connection]] = {}
#: database URL → (data version, key → value).
_remembered: dict[str, tuple[str, dict[Hashable, object]]] = {}


def data_version(engine: Engine) -> str | None:
    """The database's data version (see the module docstring); None when it cannot be watched (an in-memory
    SQLite database, another kind of database)."""
    backend = engine.url.get_backend_name()
    if backend == "sqlite":
        path = engine.url.database
        if not path or path == ":memory:" or path.startswith("file::memory:"):
            return None
        with _lock:
            held = _watchers.get(path)
            if held is None or held[0] != os.getpid():  # a forked process opens its own
                held = (os.getpid(), sqlite3.connect(path, check_same_thread=False, isolation_level=None))
                _watchers[path] = held
            version = held[1].execute("PRAGMA data_version").fetchone()[0]
        info = os.stat(path)  # a file copied over the database (a restore) is a change too
        return f"{version}:{info.st_ino}:{info.st_mtime_ns}"
    if backend == "postgresql":
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("SELECT pg_current_snapshot()::text").scalar())
    return None


def remembered(engine: Engine, key: Hashable, read: Callable[[Session], T]) -> T:
    """``read(session)`` (a stamp of the database) in a transaction of its own begun after the data version is
    read, done again only when the data version has moved since it was last done for ``key``."""
    return remembered_all(engine, {key: read})[key]


def remembered_all(engine: Engine, reads: Mapping[Hashable, Callable[[Session], T]]) -> dict[Hashable, T]:
    """:func:`remembered` of every ``key → read`` of ``reads`` on one reading of the data version: the reads not
    remembered for it are done together, in one transaction begun after it (on PostgreSQL the data version is a
    query: a page's stamp of 20 tables asks it once, not 20 times)."""

    def compute(keys: list[Hashable]) -> dict[Hashable, T]:
        with session_scope(engine) as session:
            return {key: reads[key](session) for key in keys}

    version = data_version(engine)
    if version is None:
        return {key: compute([key])[key] for key in reads}  # no watcher: each read on its own, as always
    url = engine.url.render_as_string(hide_password=True)
    with _lock:
        held = _remembered.get(url)
        found = {key: held[1][key] for key in reads if key in held[1]} if held is not None and held[0] == version else {}
    missing = [key for key in reads if key not in found]
    if not missing:
        return found  # type: ignore[return-value]
    values = compute(missing)
    if data_version(engine) == version:  # else written meanwhile: kept by nobody (other runs may hold newer stamps)
        with _lock:
            held = _remembered.get(url)
            if held is None or held[0] != version:
                held = (version, {})
                _remembered[url] = held
            held[1].update(values)
    return {key: found[key] if key in found else values[key] for key in reads}  # type: ignore[misc]
