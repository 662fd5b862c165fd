"""The bulk load of an input table: many rows upserted set-based, in chunks, in the caller's transaction.

PostgreSQL: the table is locked against other writers (``SHARE ROW EXCLUSIVE``: readers go on), so no key appears
while the load runs. The rows are streamed chunk by chunk with a binary ``COPY … FROM STDIN``
(:mod:`sop_core.db.copy_binary`) into a temporary staging table; one join counts the rows whose natural key is
stored and, of these, the rows that hold another value; then one ``UPDATE … FROM`` staging rewrites those rows and
one ``INSERT … SELECT`` adds the rows whose key is not stored (a plain insert when no key was stored, else with
``NOT EXISTS``). Into an empty table the rows are copied straight in, with their ids (the ids the table's
sequence would give them one by one, taken from it at once). SQLite: each chunk is an ``executemany`` of
``INSERT … VALUES`` (:data:`_SQLITE_ROWS_PER_INSERT` rows a statement) ``ON CONFLICT (natural key) DO UPDATE …
WHERE`` a value differs, on the driver's cursor, with a larger page cache for the load. On both, a stored row whose values are all the same is left as it is (not rewritten).

A load that writes at least :data:`REBUILD_SHARE` of the rows already stored (a first import, a year of history
into a table holding two; on PostgreSQL the rows inserted or changed, on SQLite the rows of the load) sets aside
what the database would otherwise maintain row by row, and builds it again
once the rows are in: one sort per index and one anti-join per foreign key instead of a tree descent and a
foreign-key lookup per row. On SQLite these are the secondary indexes (unique ones stay: they arbitrate the
upsert); on PostgreSQL the foreign keys, the indexes, and the primary and unique keys that no foreign key refers
to. This takes ``ACCESS EXCLUSIVE`` locks on the table and on the tables its foreign keys name until the import
commits, so on PostgreSQL readers of those tables wait for a large import to end; on SQLite readers go on reading
the last committed state.

Either way every statement runs in the session's own transaction (DDL included, transactional on both databases):
the rows, the indexes and the keys commit or roll back with the rest of the import.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Date, Float, Integer, String
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.copy_binary import Kind, binary_copy
from sop_core.units import Progress

#: Rows per chunk of a bulk load (what the client holds in a second form at once: arrow columns, CSV bytes or
#: Python values).
CHUNK_ROWS = 200_000

#: A load of at least this share of the rows already stored rebuilds the table's secondary indexes (and foreign
#: keys on PostgreSQL) once instead of maintaining them row by row. Building an index sorts every row of the table;
#: maintaining it costs a descent of the tree per row loaded, a few times the cost of a row's share of the sort.
REBUILD_SHARE = 0.5

#: Rows per ``INSERT`` statement on SQLite (a statement of many rows costs the driver one call, not one per row;
#: at most as many values as SQLite takes in one statement).
_SQLITE_ROWS_PER_INSERT = 200

#: SQLite page cache during a bulk load [KiB] (a negative ``cache_size`` is in KiB): 256 MiB.
_SQLITE_BULK_CACHE_KIB = 256 * 1024

#: PostgreSQL's sort memory for rebuilding indexes within the import's transaction (``SET LOCAL``).
_PG_INDEX_BUILD_MEMORY = "256MB"


def _with_defaults(table: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The frame's columns that the table stores (without the surrogate id) plus, as constant columns, the
    defaults of the columns it leaves out (what a new row gets); the names of all of them (the columns inserted),
    and of the frame's own non-key ones (the columns an existing row has updated)."""
    columns = repo.table_of(m.INPUT_TABLES[table]).columns
    own = [c for c in frame.columns if c in columns and c != "id"]
    defaults = {
        c.name: c.default.arg for c in columns if c.name not in own and isinstance(c.default, ScalarElementColumnDefault)
    }
    keys = m.NATURAL_KEYS[table]
    out = frame[own].assign(**defaults) if defaults else frame[own]
    return out, list(out.columns), [c for c in own if c not in keys]


def _arrow_table(table: str, frame: pd.DataFrame, cols: list[str]) -> pa.Table:
    """The columns ``cols`` of ``frame`` as an arrow table: missing values null, date columns ``date32``."""
    dates = set(repo.date_columns(m.INPUT_TABLES[table]))
    arrays = []
    for c in cols:
        if c in dates:
            days = pd.to_datetime(frame[c]).to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
            arrays.append(pa.array(days, type=pa.date32(), from_pandas=True))
        else:
            arrays.append(pa.array(frame[c], from_pandas=True))
    return pa.table(arrays, names=cols)


def _chunks(rows: pa.Table, size: int) -> Iterator[pa.Table]:
    for start in range(0, rows.num_rows, size):
        yield rows.slice(start, size)


def _quoted(names: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in names)


def _python_rows(chunk: pa.Table) -> np.ndarray:
    """A chunk as Python values for the SQLite driver, one row of the array per row of the chunk: None for null,
    dates as ``YYYY-MM-DD`` text (as the Date type stores them), numbers and text as they are. Each distinct text
    becomes one Python string, shared by the rows that hold it (a column of SKUs or periods repeats few texts)."""
    out = np.empty((chunk.num_rows, chunk.num_columns), dtype=object)
    for i, col in enumerate(chunk.columns):
        if pa.types.is_date(col.type):
            col = pc.cast(col, pa.string())
        if col.null_count == 0 and (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)):
            out[:, i] = col.to_numpy()  # numbers without nulls: numpy makes the Python numbers
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            encoded = pc.dictionary_encode(col.combine_chunks())
            texts = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
            out[:, i] = texts[pc.fill_null(encoded.indices, len(texts) - 1).to_numpy()]
        else:
            out[:, i] = np.array(col.to_pylist(), dtype=object)
    return out


# --------------------------------------------------------------------------- SQLite
def _sqlite_secondary_indexes(cursor: Any, table: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the table's indexes that are neither a key's nor unique."""
    found = cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
    ).fetchall()
    return [(name, sql) for name, sql in found if not re.match(r"\s*CREATE\s+UNIQUE\b", sql, re.IGNORECASE)]


def _sqlite_load(session: Session, table: str, frame: pd.DataFrame, rows: int, progress: Progress) -> int:
    """Returns how many rows had a natural key that was already stored."""
    frame, cols, values = _with_defaults(table, frame)
    total = len(frame)
    keys = _quoted(list(m.NATURAL_KEYS[table]))
    if values:  # a stored row is written only when a value differs (IS NOT: exact, NULL included)
        differs = " OR ".join(f'"{table}"."{c}" IS NOT excluded."{c}"' for c in values)
        action = "DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in values) + f" WHERE {differs}"
    else:
        action = "DO NOTHING"
    dbapi = session.connection().connection.driver_connection
    assert dbapi is not None
    row = "(" + ", ".join("?" for _ in cols) + ")"
    per = max(1, min(_SQLITE_ROWS_PER_INSERT, dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(cols)))
    one, many = (f'INSERT INTO "{table}" ({_quoted(cols)}) VALUES {", ".join([row] * n)} ON CONFLICT ({keys}) {action}'
                 for n in (1, per))
    cursor = dbapi.cursor()
    try:
        if not dbapi.in_transaction:  # the driver begins only before DML; the index drops belong to the import too
            cursor.execute("BEGIN")
        count = f'SELECT count(*) FROM "{table}"'
        before = int(cursor.execute(count).fetchone()[0])
        dropped = _sqlite_secondary_indexes(cursor, table) if total >= REBUILD_SHARE * before else []
        for name, _sql in dropped:
            cursor.execute(f'DROP INDEX "{name}"')
        cache = cursor.execute("PRAGMA cache_size").fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{_SQLITE_BULK_CACHE_KIB}")
        done = 0
        for chunk in _chunks(_arrow_table(table, frame, cols), rows):
            batch = _python_rows(chunk)
            whole = len(batch) // per * per  # the rows that fill statements of ``per`` rows; the rest one by one
            cursor.executemany(many, batch[:whole].reshape(-1, per * len(cols)).tolist())
            cursor.executemany(one, batch[whole:].tolist())
            done += chunk.num_rows
            progress(0.9 * done / total, f"Written {done:,} of {total:,} rows of {table}…")
        if dropped:
            progress(0.9, f"Building the indexes of {table}…")
        for _name, create in dropped:
            cursor.execute(create)
        cursor.execute(f"PRAGMA cache_size = {int(cache)}")
        inserted = int(cursor.execute(count).fetchone()[0]) - before
    finally:
        cursor.close()
    return total - inserted


# --------------------------------------------------------------------------- PostgreSQL
def _pg_stored_at_most(cur: Any, table: str, cap: int) -> int:
    """How many rows ``table`` holds, counted up to ``cap`` (a bounded scan, not a count of a large table)."""
    cur.execute(f'SELECT count(*) FROM (SELECT 1 FROM "{table}" LIMIT %s) AS stored', (cap,))
    found = cur.fetchone()
    return int(found[0]) if found else 0


def _pg_set_aside(cur: Any, table: str) -> list[str]:
    """Drop the table's foreign keys, its indexes, and its primary and unique keys that no foreign key refers to;
    returns the statements that build them again (as the catalog defines them), keys first, foreign keys last."""
    name = f'"{table}"'
    cur.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND (contype = 'f' OR (contype IN ('p', 'u') AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = pg_constraint.conindid)))",
        (name,),
    )
    constraints = cur.fetchall()
    cur.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = %s::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
        (name,),
    )
    indexes = cur.fetchall()
    keys = [(n, d) for n, kind, d in constraints if kind != "f"]
    foreign = [(n, d) for n, kind, d in constraints if kind == "f"]
    for constraint, _definition in foreign:
        cur.execute(f'ALTER TABLE {name} DROP CONSTRAINT "{constraint}"')
    for index, _definition in indexes:
        cur.execute(f'DROP INDEX "{index}"')
    for constraint, _definition in keys:
        cur.execute(f'ALTER TABLE {name} DROP CONSTRAINT "{constraint}"')
    return (
        [f'ALTER TABLE {name} ADD CONSTRAINT "{n}" {d}' for n, d in keys]
        + [definition for _n, definition in indexes]
        + [f'ALTER TABLE {name} ADD CONSTRAINT "{n}" {d}' for n, d in foreign]
    )


def _pg_kinds(table: str, cols: list[str]) -> list[Kind]:
    """How the binary COPY writes each column, from its type in the model."""
    columns = repo.table_of(m.INPUT_TABLES[table]).columns
    kinds: list[Kind] = []
    for c in cols:
        kind = columns[c].type
        if isinstance(kind, Date):
            kinds.append("date")
        elif isinstance(kind, Float):
            kinds.append("float8")
        elif isinstance(kind, Integer):
            kinds.append("int4")
        elif isinstance(kind, String):
            kinds.append("text")
        else:
            raise TypeError(f"{table}.{c}: no binary COPY writer for {kind!r}")
    return kinds


def _pg_copy(
    cur: Any, target: str, cols: list[str], rows: pa.Table, kinds: list[Kind], size: int, step: Callable[[int], None]
) -> None:
    """Stream ``rows`` into ``target`` chunk by chunk with a binary ``COPY … FROM STDIN``."""
    for chunk in _chunks(rows, size):
        with cur.copy(f"COPY {target} ({_quoted(cols)}) FROM STDIN (FORMAT binary)") as copy:
            copy.write(binary_copy(chunk, kinds))
        step(chunk.num_rows)


def _pg_with_ids(cur: Any, table: str, cols: list[str], rows: pa.Table) -> tuple[list[str], pa.Table]:
    """The columns and rows to copy into ``table``, with the ids its sequence would give the rows one by one when
    the table has one: the ids taken from the sequence at once (its next value, then set past the last id), so
    that the server evaluates no default per row. The table is locked against other writers, so no other row takes
    an id of the load."""
    if "id" not in repo.table_of(m.INPUT_TABLES[table]).columns:
        return cols, rows
    cur.execute(
        "SELECT s.seqrelid::regclass::text, s.seqincrement FROM pg_sequence AS s "
        "WHERE s.seqrelid = pg_get_serial_sequence(%s, 'id')::regclass",
        (f'"{table}"',),
    )
    sequence, step = cur.fetchone()
    cur.execute("SELECT nextval(%s)", (sequence,))
    first = int(cur.fetchone()[0])
    last = first + (rows.num_rows - 1) * int(step)
    if rows.num_rows > 1:
        cur.execute("SELECT setval(%s, %s)", (sequence, last))
    ids = pa.array(np.arange(rows.num_rows, dtype=np.int64) * int(step) + first)
    return ["id", *cols], rows.add_column(0, "id", ids)


def _pg_differs(table: str, values: list[str]) -> str:
    """SQL that is true where the staging row ``s`` holds another value than the stored row ``t`` in one of
    ``values``, exactly: NULL against a value, and -0 against 0 in a float column (equal as numbers, stored
    apart)."""
    floats = {c.name for c in repo.table_of(m.INPUT_TABLES[table]).columns if isinstance(c.type, Float)}
    tests = []
    for c in values:
        test = f's."{c}" IS DISTINCT FROM t."{c}"'
        if c in floats:
            test += f' OR (s."{c}" = 0 AND s."{c}"::text <> t."{c}"::text)'
        tests.append(test)
    return "(" + " OR ".join(tests) + ")" if tests else "FALSE"


def _pg_compare(cur: Any, table: str, staging: str, values: list[str]) -> tuple[int, int]:
    """How many rows of the staging table have a natural key that is stored, and how many of these hold another
    value in one of ``values``: one join."""
    on = " AND ".join(f's."{k}" = t."{k}"' for k in m.NATURAL_KEYS[table])
    cur.execute(f"ANALYZE {staging}")  # the planner's row count of the staging table picks the join
    cur.execute(
        f'SELECT count(*), count(*) FILTER (WHERE {_pg_differs(table, values)}) FROM {staging} AS s '
        f'JOIN "{table}" AS t ON {on}'
    )
    found = cur.fetchone()
    return (int(found[0]), int(found[1])) if found else (0, 0)


def _pg_merge(cur: Any, table: str, staging: str, names: str, values: list[str], stored: int, changed: int,
              total: int) -> None:
    """Move the staging table into ``table``: update the ``changed`` stored rows that hold another value, insert
    the rows whose key is not stored (``total`` rows, of which ``stored`` have a stored key)."""
    on = " AND ".join(f's."{k}" = t."{k}"' for k in m.NATURAL_KEYS[table])
    if changed:
        sets = ", ".join(f'"{c}" = s."{c}"' for c in values)
        cur.execute(f'UPDATE "{table}" AS t SET {sets} FROM {staging} AS s WHERE {on} AND {_pg_differs(table, values)}')
    if stored == 0:  # no key of the load is stored: every row is new
        cur.execute(f'INSERT INTO "{table}" ({names}) SELECT {names} FROM {staging}')
    elif stored < total:
        new = f'NOT EXISTS (SELECT 1 FROM "{table}" AS t WHERE {on})'
        cur.execute(f'INSERT INTO "{table}" ({names}) SELECT {names} FROM {staging} AS s WHERE {new}')


def _postgres_load(session: Session, table: str, frame: pd.DataFrame, rows: int, progress: Progress) -> int:
    """Returns how many rows had a natural key that was already stored."""
    frame, cols, values = _with_defaults(table, frame)
    total = len(frame)
    names = _quoted(cols)
    staging = f'"bulk_{table}"'
    kinds = _pg_kinds(table, cols)
    dbapi = session.connection().connection.driver_connection
    assert dbapi is not None
    done = 0

    def copied(chunk: int) -> None:
        nonlocal done
        done += chunk
        progress(0.5 * done / total, f"Copied {done:,} of {total:,} rows of {table}…")

    with dbapi.cursor() as cur:
        cur.execute(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')  # no other writer until the commit
        if _pg_stored_at_most(cur, table, 1) == 0:  # an empty table, locked: the rows go straight in
            rebuild = _pg_set_aside(cur, table)
            with_ids, arrow = _pg_with_ids(cur, table, cols, _arrow_table(table, frame, cols))
            _pg_copy(cur, f'"{table}"', with_ids, arrow, _pg_kinds(table, with_ids), rows, copied)
            stored = 0
        else:
            cur.execute(f'CREATE TEMP TABLE {staging} ON COMMIT DROP AS SELECT {names} FROM "{table}" WITH NO DATA')
            _pg_copy(cur, staging, cols, _arrow_table(table, frame, cols), kinds, rows, copied)
            progress(0.5, f"Merging {total:,} rows into {table}…")
            stored, changed = _pg_compare(cur, table, staging, values)
            writes = total - stored + changed  # rows inserted or rewritten: unchanged rows are left as they are
            cap = int(writes / REBUILD_SHARE) + 1
            rebuild = _pg_set_aside(cur, table) if writes and _pg_stored_at_most(cur, table, cap) < cap else []
            _pg_merge(cur, table, staging, names, values, stored, changed, total)
            cur.execute(f"DROP TABLE {staging}")
        if rebuild:
            progress(0.7, f"Building the keys, indexes and foreign keys of {table}…")
            cur.execute(f"SET LOCAL maintenance_work_mem = '{_PG_INDEX_BUILD_MEMORY}'")
        for statement in rebuild:
            cur.execute(statement)
    return stored


def bulk_upsert(
    session: Session,
    table: str,
    frame: pd.DataFrame,
    rows: int | None = None,
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Upsert the rows of an input table in chunks of ``rows`` (default :data:`CHUNK_ROWS`): a row whose natural
    key (:data:`sop_core.db.models.NATURAL_KEYS`) is stored is updated in the frame's columns (others keep their
    values), other rows are inserted, nothing is deleted. The keys within ``frame`` must be distinct.
    ``progress`` hears the share of this load done (0..1) and what is being done, after each chunk and step.

    Returns:
        (rows written, of which updated: rows whose natural key was already stored).
    """
    if frame.empty:
        return 0, 0
    report = progress or (lambda _share, _message: None)
    size = rows or CHUNK_ROWS
    if session.get_bind().dialect.name == "postgresql":
        return len(frame), _postgres_load(session, table, frame, size, report)
    return len(frame), _sqlite_load(session, table, frame, size, report)
