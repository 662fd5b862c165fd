"""The bulk load of an input table: many rows upserted set-based, in chunks, in the caller's transaction.

PostgreSQL: each chunk is streamed with ``COPY … FROM STDIN`` (CSV written by pyarrow) into a temporary staging
table, then one ``INSERT … SELECT … ON CONFLICT (natural key) DO UPDATE`` moves it into the table. SQLite: each
chunk is one ``executemany`` of ``INSERT … ON CONFLICT (natural key) DO UPDATE`` on the driver's cursor, with a
larger page cache for the duration of the load (durability is the transaction's, unchanged). Either way the
rows go through the session's own connection, so they commit or roll back with the rest of the transaction.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from sop_core.db import models as m
from sop_core.db import repo

#: Rows per chunk of a bulk load.
CHUNK_ROWS = 200_000

#: SQLite page cache during a bulk load [KiB] (a negative ``cache_size`` is in KiB): 256 MiB.
_SQLITE_BULK_CACHE_KIB = 256 * 1024


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


def _chunks(frame: pd.DataFrame, rows: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), rows):
        yield frame.iloc[start : start + rows]


def _upsert_sql(table: str, target: str, cols: list[str], values: list[str], source: str) -> str:
    """``INSERT INTO target (cols) <source> ON CONFLICT (keys) DO UPDATE SET value = excluded.value …``."""
    names = ", ".join(f'"{c}"' for c in cols)
    keys = ", ".join(f'"{k}"' for k in m.NATURAL_KEYS[table])
    if values:
        action = "DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in values)
    else:
        action = "DO NOTHING"
    return f"INSERT INTO {target} ({names}) {source} ON CONFLICT ({keys}) {action}"


def _python_column(series: pd.Series, is_date: bool) -> list[Any]:
    """A column as Python values for the SQLite driver: None for missing, dates as ``YYYY-MM-DD`` text (as the
    Date type stores them), numbers and text as they are."""
    if is_date:
        codes, uniques = pd.factorize(pd.to_datetime(series))
        text = np.array([d.strftime("%Y-%m-%d") for d in uniques] + [None], dtype=object)
        return list(text[codes])  # code -1 (missing) picks the trailing None
    values = series.astype(object)
    return list(values.where(series.notna(), None))


def _sqlite_load(session: Session, table: str, frame: pd.DataFrame, rows: int, done: Callable[[int], None]) -> None:
    frame, cols, values = _with_defaults(table, frame)
    dates = set(repo.date_columns(m.INPUT_TABLES[table]))
    sql = _upsert_sql(table, f'"{table}"', cols, values, "VALUES (" + ", ".join("?" for _ in cols) + ")")
    dbapi = session.connection().connection.driver_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        cache = cursor.execute("PRAGMA cache_size").fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{_SQLITE_BULK_CACHE_KIB}")
        for chunk in _chunks(frame, rows):
            cursor.executemany(sql, zip(*(_python_column(chunk[c], c in dates) for c in cols), strict=True))
            done(len(chunk))
        cursor.execute(f"PRAGMA cache_size = {int(cache)}")
    finally:
        cursor.close()


def _arrow_chunk(chunk: pd.DataFrame, cols: list[str], dates: set[str]) -> pa.Table:
    arrays = {}
    for c in cols:
        s = chunk[c]
        if c in dates:
            arrays[c] = pa.array(pd.to_datetime(s).dt.date, type=pa.date32(), from_pandas=True)
        else:
            arrays[c] = pa.array(s.astype(object).where(s.notna(), None) if s.dtype == object else s, from_pandas=True)
    return pa.table(arrays)


def _postgres_load(session: Session, table: str, frame: pd.DataFrame, rows: int, done: Callable[[int], None]) -> int:
    """Returns how many rows had a natural key that was already stored."""
    frame, cols, values = _with_defaults(table, frame)
    dates = set(repo.date_columns(m.INPUT_TABLES[table]))
    names = ", ".join(f'"{c}"' for c in cols)
    keys = m.NATURAL_KEYS[table]
    on = " AND ".join(f's."{k}" = t."{k}"' for k in keys)
    dbapi = session.connection().connection.driver_connection
    assert dbapi is not None
    stored = 0
    options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    with dbapi.cursor() as cur:
        cur.execute(f'CREATE TEMP TABLE "bulk_{table}" ON COMMIT DROP AS SELECT {names} FROM "{table}" WITH NO DATA')
        for chunk in _chunks(frame, rows):
            cur.execute(f'TRUNCATE "bulk_{table}"')
            sink = io.BytesIO()
            pacsv.write_csv(_arrow_chunk(chunk, cols, dates), sink, options)
            with cur.copy(f'COPY "bulk_{table}" ({names}) FROM STDIN (FORMAT csv)') as copy:
                copy.write(sink.getbuffer())
            cur.execute(f'SELECT count(*) FROM "bulk_{table}" s JOIN "{table}" t ON {on}')
            found = cur.fetchone()
            stored += int(found[0]) if found else 0
            cur.execute(_upsert_sql(table, f'"{table}"', cols, values, f'SELECT {names} FROM "bulk_{table}"'))
            done(len(chunk))
        cur.execute(f'DROP TABLE "bulk_{table}"')
    return stored


def bulk_upsert(
    session: Session,
    table: str,
    frame: pd.DataFrame,
    rows: int | None = None,
    done: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Upsert the rows of an input table in chunks of ``rows`` (default :data:`CHUNK_ROWS`; ``done`` is called with each chunk's row count
    once it is written): a row whose natural key
    (:data:`sop_core.db.models.NATURAL_KEYS`) is stored is updated in the frame's columns (others keep their
    values), other rows are inserted, nothing is deleted. The keys within ``frame`` must be distinct.

    Returns:
        (rows written, of which updated: rows whose natural key was already stored).
    """
    if frame.empty:
        return 0, 0
    step = done or (lambda _rows: None)
    rows = rows or CHUNK_ROWS
    if session.get_bind().dialect.name == "postgresql":
        return len(frame), _postgres_load(session, table, frame, rows, step)
    count = select(func.count()).select_from(repo.table_of(m.INPUT_TABLES[table]))
    before = int(session.scalar(count) or 0)
    _sqlite_load(session, table, frame, rows, step)
    inserted = int(session.scalar(count) or 0) - before
    return len(frame), len(frame) - inserted
