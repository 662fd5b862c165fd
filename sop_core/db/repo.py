"""Repository functions: read tables as DataFrames, write DataFrames in the caller's transaction.

Query functions take a session and never commit; :func:`sop_core.db.engine.session_scope` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, Date, Float, Integer, String, Table, Text, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sop_core.db import models as m
from sop_core.db.schema import ALL_MODELS

_DATE_TYPES = ("DATE",)


def model_for(table: str) -> type[m.Base]:
    for model in ALL_MODELS:
        if model.__tablename__ == table:
            return model
    raise KeyError(f"unknown table {table!r}")


def input_columns(table: str) -> list[str]:
    """The columns of an input table as they appear in its import template (no surrogate id)."""
    model = m.INPUT_TABLES[table]
    cols = [c.name for c in model.__table__.columns]
    return [c for c in cols if c != "id"]


def table_of(model: type[m.Base]) -> Table:
    """The table a model maps."""
    return cast(Table, model.__table__)


def date_columns(model: type[m.Base]) -> list[str]:
    """The names of the DATE columns of ``model``."""
    return [c.name for c in table_of(model).columns if str(c.type) in _DATE_TYPES]


#: Column types whose values the database driver gives as SQLAlchemy would (DATE columns aside, which come as text
#: from SQLite and are made ``datetime64`` by :func:`read_frame` either way).
_PLAIN_TYPES = (Integer, BigInteger, Float, String, Text, Date)


def read_frame(
    session: Session,
    model: type[m.Base],
    *where: Any,
    order_by: Iterable[Any] = (),
    columns: Iterable[str] | None = None,
) -> pd.DataFrame:
    """All rows of ``model`` matching ``where`` as a DataFrame (dates as ``datetime64``; ``columns``: only these).
    A table of plain columns (numbers, text, dates) is read straight from the driver's cursor, without a conversion
    per value."""
    table = table_of(model)
    chosen = [table.c[name] for name in columns] if columns is not None else list(table.columns)
    stmt = select(*chosen).where(*where)
    order = list(order_by) or list(table.primary_key.columns)
    stmt = stmt.order_by(*order)
    if all(type(c.type) in _PLAIN_TYPES for c in chosen):
        if session.autoflush:
            session.flush()
        raw = session.connection().execute(stmt)
        frame = pd.DataFrame(raw.cursor.fetchall(), columns=list(raw.keys()))
        raw.close()
    else:
        result = session.execute(stmt)
        frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    for col in date_columns(model):
        if col in frame.columns:
            frame[col] = pd.to_datetime(frame[col])
    return frame


def read_table(session: Session, table: str) -> pd.DataFrame:
    """An input or cycle table by name, without its surrogate id for input tables."""
    model = model_for(table)
    frame = read_frame(session, model)
    if table in m.INPUT_TABLES and "id" in frame.columns:
        frame = frame.drop(columns="id")
    return frame


def count_rows(session: Session, model: type[m.Base]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def table_counts(session: Session) -> dict[str, int]:
    return {model.__tablename__: count_rows(session, model) for model in ALL_MODELS}


def _python_values(series: pd.Series, is_date: bool) -> list[Any]:
    """A column as the Python values a statement binds: None for missing, ``datetime.date`` for a DATE column,
    Python numbers for numeric columns, the objects themselves otherwise."""
    if is_date:
        series = pd.to_datetime(series).dt.date
    elif isinstance(series.dtype, np.dtype) and series.dtype.kind in "biuf":
        values: list[Any] = series.to_numpy().tolist()
        if series.dtype.kind == "f" and series.isna().any():
            values = [None if v != v else v for v in values]  # NaN → None
        return values
    objects = series.astype(object).where(series.notna(), None)
    return [v.item() if isinstance(v, np.generic) else v for v in objects]  # numpy scalars as Python ones


def _records(frame: pd.DataFrame, model: type[m.Base]) -> list[dict[str, Any]]:
    cols = [c for c in frame.columns if c in table_of(model).columns and c != "id"]
    dates = set(date_columns(model))
    columns = [_python_values(frame[c], c in dates) for c in cols]
    return [dict(zip(cols, row, strict=True)) for row in zip(*columns, strict=True)]


def upsert_frame(session: Session, table: str, frame: pd.DataFrame, chunk: int = 2000) -> int:
    """Insert rows of an input table; rows whose natural key exists are updated. Returns rows written.

    The natural keys are :data:`sop_core.db.models.NATURAL_KEYS`. Nothing is deleted.
    """
    model = m.INPUT_TABLES[table]
    keys = list(m.NATURAL_KEYS[table])
    records = _records(frame, model)
    if not records:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    value_cols = [c for c in records[0] if c not in keys]
    for start in range(0, len(records), chunk):
        stmt = insert(table_of(model))
        if value_cols:
            stmt = stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in value_cols})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=keys)
        session.execute(stmt, records[start : start + chunk])
    return len(records)


#: Rows per statement of :func:`insert_frame` (the rows of one statement are held as Python objects).
INSERT_CHUNK_ROWS = 50_000


def insert_frame(session: Session, model: type[m.Base], frame: pd.DataFrame, **constant: Any) -> int:
    """Plain insert of all rows (for generated results such as forecasts and plan lines), in statements of
    :data:`INSERT_CHUNK_ROWS` rows; ``constant``: columns with the same value in every row."""
    for start in range(0, len(frame), INSERT_CHUNK_ROWS):
        part = frame.iloc[start : start + INSERT_CHUNK_ROWS]
        session.execute(table_of(model).insert(), _records(part.assign(**constant) if constant else part, model))
    return len(frame)


def clear_tables(session: Session, models: Iterable[type[m.Base]]) -> None:
    """Delete all rows of ``models`` (children first: pass them in reverse load order)."""
    for model in models:
        session.execute(delete(model))
