"""Figures computed once per data version: the services' heavy per-SKU results (consensus, inventory policy, the
policy replay, forecast accuracy on the actuals, the reviews the pages open with), keyed by the database, the
figure's name and arguments and the stamp of the tables it reads (:mod:`sop_core.db.stamp_repo`).

A figure is kept in this process (at most :data:`MAX_FIGURES`, the least recently used leaving first, one per
name and arguments). The figures the pages open with are also stored ahead in the database (:func:`storing`,
used by :mod:`sop_core.services.page_figures`; ``stored_figure``, :mod:`sop_core.db.figure_repo`) with the stamp
of their data and of the code that computed them: a page, another user or a restarted server asking for such a
figure of the same data reads it instead of computing it (a figure whose service gives a :class:`Tables` codec).
Any change to a table a figure reads changes its stamp, so the next request computes it from the new data; a
change of the code does too. Every caller gets its own copy (a caller may change what it is given).
"""

from __future__ import annotations

import copy
import hashlib
import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from sop_core.db import data_version, figure_repo, stamp_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Figures kept in this process at most (each one name, arguments and database).
MAX_FIGURES = 48

_lock = threading.Lock()
_kept: OrderedDict[tuple[Hashable, ...], tuple[str, Any]] = OrderedDict()
_computing: dict[tuple[Hashable, ...], threading.Lock] = {}


@dataclass(frozen=True)
class Tables(Generic[T]):
    """How a figure is stored: as named tables (``to_tables``) and back (``from_tables``)."""

    to_tables: Callable[[T], dict[str, pd.DataFrame]]
    from_tables: Callable[[dict[str, pd.DataFrame]], T]


#: The codec of a figure that is one table.
ONE_TABLE: Tables[pd.DataFrame] = Tables(lambda frame: {"table": frame}, lambda tables: tables["table"])


def _plain(value: Any) -> Any:  # noqa: ANN401 - any value of a stored row
    return value.item() if isinstance(value, np.generic) else value


#: The codec of a figure that is a dict of plain values (numbers, texts, dates, None): one row.
ONE_ROW: Tables[dict[str, Any]] = Tables(
    lambda values: {"row": pd.DataFrame({k: [v] for k, v in values.items()})},
    lambda tables: {k: _plain(v) for k, v in tables["row"].iloc[0].items()},
)


_held = threading.local()


@contextmanager
def held_stamps() -> Iterator[None]:
    """Within this block (in this thread) each table's stamp is read once: the figures asked for in it see one
    version of the data (a page's run, or the figures stored ahead), and stamping a table that many figures read
    costs one scan. A write within the block that a figure should show needs a new block (a page reruns)."""
    outer = getattr(_held, "stamps", None)
    if outer is None:
        _held.stamps = {}
    try:
        yield
    finally:
        if outer is None:
            _held.stamps = None


@contextmanager
def storing() -> Iterator[None]:
    """Within this block (in this thread) the figures computed are stored in the database too: the figures the
    pages open with, stored ahead (:mod:`sop_core.services.page_figures`). Elsewhere figures are read from the
    database when stored there but never written: looking at a page writes nothing."""
    outer = getattr(_held, "storing", False)
    _held.storing = True
    try:
        yield
    finally:
        _held.storing = outer


def _stamp_read(model: type[m.Base], column: str | None, value: Any) -> tuple[Hashable, Callable[[Any], tuple[Any, ...]]]:  # noqa: ANN401
    """The key under which a table's stamp (or that of its rows whose ``column`` is ``value``) is remembered, and
    its read (:func:`sop_core.db.stamp_repo.table_stamp`)."""
    if column is None:
        return ("table", model.__tablename__), partial(stamp_repo.table_stamp, model=model)
    where = getattr(model, column) == value
    return ("table", model.__tablename__, column, value), lambda session: stamp_repo.table_stamp(session, model, where)


def table_stamp(engine: Engine, model: type[m.Base], column: str | None = None, value: Any = None) -> tuple[Any, ...]:  # noqa: ANN401
    """The stamp of ``model``'s table (:func:`sop_core.db.stamp_repo.table_stamp`), or of its rows whose ``column``
    is ``value``: read once per data version and shared by every figure, page and user that keys on it."""
    return data_version.remembered(engine, *_stamp_read(model, column, value))


def _table_stamps(engine: Engine, wanted: list[tuple[type[m.Base], str | None, Any]]) -> list[tuple[Any, ...]]:
    """:func:`table_stamp` of each (model, column, value) of ``wanted``, on one reading of the data version."""
    reads = [_stamp_read(*w) for w in wanted]
    got = data_version.remembered_all(engine, dict(reads))
    return [got[key] for key, _read in reads]


def cycle_stamp(engine: Engine, tables: tuple[tuple[type[m.Base], str | None], ...], cycle_id: int) -> str:
    """One short text that changes whenever any of ``tables`` does (model, the column holding the cycle or None for
    every row; e.g. :data:`sop_core.db.plan_repo.INPUT_TABLES`) for the cycle ``cycle_id``: each table's stamp
    (:func:`table_stamp`, all on one reading of the data version), combined."""
    stamps = _table_stamps(engine, [(model, column, None if column is None else cycle_id) for model, column in tables])
    return stamp_repo.combined([(model.__tablename__, stamp) for (model, _column), stamp in zip(tables, stamps, strict=True)])


def data_stamp(engine: Engine, *models: type[m.Base]) -> str:
    """The stamp of the tables of ``models`` (:func:`sop_core.db.stamp_repo.table_stamp` of each, combined); within
    :func:`held_stamps` a table's stamp is read once."""
    held: dict[tuple[str, str], tuple[Any, ...]] | None = getattr(_held, "stamps", None)
    url = engine.url.render_as_string(hide_password=True)
    stamps: dict[str, tuple[Any, ...]] = {}
    missing = [model for model in models if held is None or (url, model.__tablename__) not in held]
    if missing:
        read = _table_stamps(engine, [(model, None, None) for model in missing])
        stamps = {model.__tablename__: stamp for model, stamp in zip(missing, read, strict=True)}
        if held is not None:
            held.update({(url, name): value for name, value in stamps.items()})
    if held is not None:
        stamps |= {model.__tablename__: held[(url, model.__tablename__)] for model in models if model not in missing}
    return stamp_repo.combined([(model.__tablename__, stamps[model.__tablename__]) for model in models])


@cache
def code_version() -> str:
    """A short hash of the source of ``sop_core``: stored figures of other code are not read."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


#: The suffix of the column that marks the whole numbers of a column of mixed numbers in a stored table.
_WHOLE = "\x00whole"


def _numbers(column: pd.Series) -> bool:
    """A column of Python numbers of mixed kinds (whole numbers and floats), which Parquet would make floats."""
    return column.dtype == object and len(column) > 0 and all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) for v in column)


def _to_bytes(frame: pd.DataFrame) -> bytes:
    """A table as Parquet; a column mixing whole numbers and floats keeps which were whole."""
    mixed = [c for c in frame.columns if _numbers(frame[c])]
    if mixed:
        frame = frame.assign(**{c: frame[c].astype(float) for c in mixed},
                             **{f"{c}{_WHOLE}": frame[c].map(lambda v: isinstance(v, int | np.integer)) for c in mixed})
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def _from_bytes(payload: bytes) -> pd.DataFrame:
    frame = pd.read_parquet(io.BytesIO(payload))
    marks = [c for c in frame.columns if isinstance(c, str) and c.endswith(_WHOLE)]
    for mark in marks:
        c = mark[: -len(_WHOLE)]
        frame[c] = pd.Series([int(v) if whole else v for v, whole in zip(frame[c], frame[mark], strict=True)],
                             index=frame.index, dtype=object)
    return frame.drop(columns=marks)


def _read_stored(engine: Engine, name: str, args: str, stamp: str, tables: Tables[T]) -> T | None:
    try:
        with session_scope(engine) as s:
            parts = figure_repo.stored(s, name, args, stamp)
    except SQLAlchemyError as err:  # a database without the table yet, or one that refuses: compute
        log.info("stored figure %s%s not read: %s", name, args, str(err).splitlines()[0])
        return None
    if parts is None:
        return None
    return tables.from_tables({part: _from_bytes(payload) for part, payload in parts.items()})


def _is_stored(engine: Engine, name: str, args: str, stamp: str) -> bool:
    try:
        with session_scope(engine) as s:
            return figure_repo.is_stored(s, name, args, stamp)
    except SQLAlchemyError as err:
        log.info("stored figure %s%s not looked up: %s", name, args, str(err).splitlines()[0])
        return False


def _store(engine: Engine, name: str, args: str, stamp: str, value: T, tables: Tables[T]) -> None:
    parts = {part: _to_bytes(frame) for part, frame in tables.to_tables(value).items()}
    try:
        with session_scope(engine) as s:
            figure_repo.store(s, name, args, stamp, parts)
    except SQLAlchemyError as err:  # busy or read-only: the figure is computed again next time
        log.warning("figure %s%s not stored: %s", name, args, str(err).splitlines()[0])


def once(
    engine: Engine,
    name: str,
    args: tuple[Hashable, ...],
    stamp: str,
    compute: Callable[[], T],
    *,
    tables: Tables[T] | None = None,
) -> T:
    """``compute()`` for the figure ``name`` of ``args`` on the data stamped ``stamp``: kept from an earlier
    request of that stamp in this process, else read from the database when stored there (``tables`` given),
    else computed (one thread computes, others asking meanwhile wait for it) and kept — and stored within
    :func:`storing`. Returns a copy."""
    key = (engine.url.render_as_string(hide_password=True), name, *args)
    with _lock:
        gate = _computing.setdefault(key, threading.Lock())
    with gate:
        found, value = _recall(key, stamp)
        if tables is not None:
            stored_stamp = f"{stamp}-{code_version()}"
            if getattr(_held, "storing", False) and not _is_stored(engine, name, repr(args), stored_stamp):
                if not found:
                    found, value = True, compute()
                _store(engine, name, repr(args), stored_stamp, value, tables)
            elif not found:
                value = _read_stored(engine, name, repr(args), stored_stamp, tables)
                found = value is not None
        if not found:
            value = compute()
        _keep(key, stamp, value)
        result: T = copy.deepcopy(value)
        return result


def _recall(key: tuple[Hashable, ...], stamp: str) -> tuple[bool, Any]:
    """(True, the figure) when it is kept for ``stamp``, else (False, None)."""
    with _lock:
        kept = _kept.get(key)
        if kept is None or kept[0] != stamp:
            return False, None
        _kept.move_to_end(key)
        return True, kept[1]


def _keep(key: tuple[Hashable, ...], stamp: str, value: Any) -> None:  # noqa: ANN401 - any figure
    with _lock:
        _kept[key] = (stamp, value)
        _kept.move_to_end(key)
        while len(_kept) > MAX_FIGURES:
            _kept.popitem(last=False)


def forget() -> None:
    """Drop every figure kept in this process (the next requests read or compute them again)."""
    with _lock:
        _kept.clear()
