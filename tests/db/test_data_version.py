"""The data version (SQLite and PostgreSQL): it stands still while the database is only read and moves with every
committed write, by this process or another; a remembered stamp is computed again exactly when it moves.

PostgreSQL's data version is the server's snapshot, which any database of the server moves: these tests run on a
cluster of their own (the shared server has other tests writing meanwhile).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import pandas as pd
import pytest
from pg_cluster import ThrowawayPostgres
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from sop_core.db import data_version, plan_repo, repo, stamp_repo
from sop_core.db import models as m
from sop_core.db.engine import make_engine, session_scope
from sop_core.db.migrate import upgrade
from sop_core.services import figures


@pytest.fixture(scope="module")
def private_pg() -> Iterator[str]:
    """The URL of a PostgreSQL cluster of this module's own, removed afterwards."""
    cluster = ThrowawayPostgres()
    try:
        cluster.start()
        yield cluster.url
    finally:
        cluster.remove()


@pytest.fixture(params=[pytest.param("sqlite", marks=pytest.mark.sqlite),
                        pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An empty database at head: a SQLite file, or the private PostgreSQL cluster emptied afterwards."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_engine")
        return
    eng = make_engine(request.getfixturevalue("private_pg"))
    upgrade(eng)
    yield eng
    with eng.begin() as conn:
        conn.execute(text("TRUNCATE product, sales_history CASCADE"))
    eng.dispose()


def _counted() -> tuple[list[int], Callable[[Session], int]]:
    calls: list[int] = []

    def compute(s: Session) -> int:
        calls.append(1)
        return int(s.execute(text("SELECT count(*) FROM product")).scalar_one())

    return calls, compute


def test_reads_keep_the_version_and_writes_move_it(engine: Engine) -> None:
    calls, compute = _counted()
    assert data_version.remembered(engine, "count", compute) == 0
    with session_scope(engine) as s:  # reading, in this process, moves nothing
        repo.read_frame(s, m.Product)
    assert data_version.remembered(engine, "count", compute) == 0
    assert len(calls) == 1
    with session_scope(engine) as s:
        repo.upsert_frame(s, "product", pd.DataFrame({"sku": ["A"], "name": ["Alpha"], "family": ["F"],
                                                      "category": ["K"], "unit_price": [10.0], "unit_cost": [6.0]}))
    assert data_version.remembered(engine, "count", compute) == 1
    assert data_version.remembered(engine, "count", compute) == 1
    assert len(calls) == 2
    # a write that is rolled back is no change
    try:
        with session_scope(engine) as s:
            s.execute(text("DELETE FROM product"))
            raise RuntimeError("undo")
    except RuntimeError:
        pass
    assert data_version.remembered(engine, "count", compute) == 1



def test_a_stamp_of_many_tables_reads_the_data_version_once(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page's stamp of 20 tables asks the data version once when they are remembered (on PostgreSQL each asking
    is a query), and twice when they are read: before the reads, and after them to know they may be kept. Before,
    each table asked it on its own: 20 queries per rerun."""
    asked: list[int] = []
    real = data_version.data_version

    def counting(eng: Engine) -> str | None:
        asked.append(1)
        return real(eng)

    monkeypatch.setattr(data_version, "data_version", counting)
    tables = plan_repo.REVIEW_TABLES
    assert len(tables) >= 15
    first = figures.cycle_stamp(engine, tables, 1)
    assert len(asked) == 2
    asked.clear()
    assert figures.cycle_stamp(engine, tables, 1) == first
    assert len(asked) == 1
    asked.clear()
    figures.data_stamp(engine, m.Product, m.SalesHistory)  # both remembered
    assert len(asked) == 1
    figures.data_stamp(engine, m.Product, m.SalesHistory, m.Supplier)  # one more, read
    assert len(asked) == 3

def test_a_write_by_another_process_moves_it(engine: Engine) -> None:
    calls, compute = _counted()
    assert data_version.remembered(engine, "count", compute) == 0
    url = engine.url.render_as_string(hide_password=False)
    script = (
        "import sys; from sqlalchemy import create_engine, text\n"
        "e = create_engine(sys.argv[1])\n"
        "with e.begin() as c: c.execute(text(\"INSERT INTO product (sku, name, family, category, unit_price, "
        "unit_cost, holding_rate, order_cost, service_target) VALUES ('B', 'Beta', 'F', 'K', 1, 1, 0.2, 50, 0.95)\"))\n"
    )
    subprocess.run([sys.executable, "-c", script, url], check=True)
    assert data_version.remembered(engine, "count", compute) == 1
    assert len(calls) == 2


def test_a_table_stamp_is_read_once_while_nothing_is_written(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    table_stamp = stamp_repo.table_stamp

    def counting(session: Session, model: type[m.Base], *where: object) -> tuple[object, ...]:
        read.append(model.__tablename__)
        return table_stamp(session, model, *where)

    monkeypatch.setattr(stamp_repo, "table_stamp", counting)
    first = figures.data_stamp(engine, m.Product, m.SalesHistory)
    assert figures.data_stamp(engine, m.Product, m.SalesHistory) == first
    assert sorted(read) == ["product", "sales_history"]
    with session_scope(engine) as s:
        repo.upsert_frame(s, "product", pd.DataFrame({"sku": ["A"], "name": ["Alpha"], "family": ["F"],
                                                      "category": ["K"], "unit_price": [10.0], "unit_cost": [6.0]}))
    second = figures.data_stamp(engine, m.Product, m.SalesHistory)
    assert second != first
    assert figures.data_stamp(engine, m.Product, m.SalesHistory) == second
    assert sorted(read) == ["product", "product", "sales_history", "sales_history"]
