"""The bulk load of an import: PostgreSQL (binary COPY, one UPDATE and one INSERT) and SQLite give the same tables
and counts, chunk by chunk; a problem anywhere in a file of many chunks writes nothing; a large load leaves the
table's keys, indexes and foreign keys as they were; the binary COPY format round-trips every column kind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from sop_core.db import bulk_repo, copy_binary, repo, user_repo
from sop_core.db.engine import make_engine, session_scope
from sop_core.db.migrate import upgrade
from sop_core.db.models import AppUser
from sop_core.io import ingest
from sop_core.io.import_issues import ImportFailed
from sop_core.services.bootstrap import DEMO_USERS

#: Every service write checks its user: the demo users exist in the test's databases.
pytestmark = pytest.mark.usefixtures("demo_users")

SKUS = 60
MONTHS = 50  # 3,000 sales rows: six chunks of 500


@pytest.fixture
def engines(sqlite_engine: Engine, pg_schema_url: str) -> Iterator[dict[str, Engine]]:
    """An empty SQLite database and an empty PostgreSQL schema, both at head; the PostgreSQL tables are emptied
    afterwards."""
    pg = make_engine(pg_schema_url)
    upgrade(pg)
    with session_scope(pg) as s:
        user_repo.add_missing_users(s, DEMO_USERS)  # who imports (the SQLite database has them: demo_users)
    yield {"sqlite": sqlite_engine, "postgres": pg}
    with session_scope(pg) as s:
        repo.clear_tables(s, [repo.model_for("sales_history"), repo.model_for("product"), repo.model_for("audit_log"),
                              AppUser])
    pg.dispose()


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_repo, "CHUNK_ROWS", 500)


def _files(folder: Path, bad_row: int | None = None, first_month: int = 0) -> list[Path]:
    """product.csv (SKUS products, one of them without the optional columns' values) and sales_history.csv
    (SKUS × MONTHS rows from ``first_month``; ``bad_row``, a file row number, gets a negative quantity)."""
    folder.mkdir(exist_ok=True)
    products = pd.DataFrame({
        "sku": [f"P-{i:03d}" for i in range(SKUS)],
        "name": [f"Product {i}" for i in range(SKUS)],
        "family": [f"F{i % 4}" for i in range(SKUS)],
        "category": "C",
        "unit_price": [10.0 + i / 3 for i in range(SKUS)],
        "unit_cost": [4.0 + i / 7 for i in range(SKUS)],
    })
    products.to_csv(folder / "product.csv", index=False)
    periods = pd.date_range("2020-01-01", periods=first_month + MONTHS, freq="MS")[first_month:].strftime("%Y-%m-%d")
    sales = pd.DataFrame({
        "sku": [f"P-{i:03d}" for i in range(SKUS) for _ in range(MONTHS)],
        "period": list(periods) * SKUS,
        "quantity": [str((i * 7919) % 101 + first_month) for i in range(SKUS * MONTHS)],
        "net_price": ["" if i % 9 == 0 else f"{9.5 + (i % 13) / 10:.2f}" for i in range(SKUS * MONTHS)],
        "promo": [str(int(i % 5 == 0)) for i in range(SKUS * MONTHS)],
    })
    if bad_row is not None:
        sales.loc[bad_row - 2, "quantity"] = "-3"
    sales.to_csv(folder / "sales_history.csv", index=False)
    return [folder / "product.csv", folder / "sales_history.csv"]


def _tables(engine: Engine) -> dict[str, pd.DataFrame]:
    with session_scope(engine) as s:
        out = {t: repo.read_table(s, t) for t in ("product", "sales_history")}
    out["sales_history"] = out["sales_history"].sort_values(["sku", "period"], ignore_index=True)
    return out


def test_postgres_and_sqlite_load_the_same_rows_and_counts(engines: dict[str, Engine], tmp_path: Path) -> None:
    reports = {}
    for name, engine in engines.items():
        ingest.import_files(engine, _files(tmp_path / "first"))
        reports[name] = ingest.import_files(engine, _files(tmp_path / "again", first_month=20))  # 30 of 50 months stored
    for report in reports.values():
        assert report.inserted == {"product": 0, "sales_history": SKUS * 20}
        assert report.updated == {"product": SKUS, "sales_history": SKUS * 30}
    lite, pg = _tables(engines["sqlite"]), _tables(engines["postgres"])
    assert len(lite["sales_history"]) == SKUS * 70
    assert lite["product"]["holding_rate"].eq(0.25).all()  # the default of a column the file leaves out
    for table in lite:
        pd.testing.assert_frame_equal(lite[table], pg[table], check_dtype=False)


@pytest.mark.parametrize("where", ["first chunk", "last chunk"])
def test_a_bad_row_in_any_chunk_writes_nothing(engines: dict[str, Engine], tmp_path: Path, where: str) -> None:
    bad_row = 3 if where == "first chunk" else SKUS * MONTHS  # the file's last data row
    for engine in engines.values():
        ingest.import_files(engine, _files(tmp_path / "first"))
        before = _tables(engine)
        with pytest.raises(ImportFailed) as refused:
            ingest.import_files(engine, _files(tmp_path / "bad", bad_row=bad_row, first_month=10))
        assert [(i.file, i.row, i.column) for i in refused.value.issues] == [("sales_history.csv", bad_row, "quantity")]
        for table, frame in _tables(engine).items():
            pd.testing.assert_frame_equal(frame, before[table])


def test_a_failure_after_chunks_were_written_rolls_every_chunk_back(
    engines: dict[str, Engine], tmp_path: Path
) -> None:
    def fail_after_two_chunks(_share: float, message: str) -> None:
        if "1,000 of 3,000 rows" in message:  # the products and two chunks of sales rows are in
            raise RuntimeError("connection lost")

    for engine in engines.values():
        with pytest.raises(RuntimeError, match="connection lost"):
            ingest.import_files(engine, _files(tmp_path / "first"), progress=fail_after_two_chunks)
        assert all(frame.empty for frame in _tables(engine).values())


def _structure(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """The primary key, indexes, unique constraints and foreign keys of sales_history, as the database reports
    them."""
    found = inspect(engine)
    primary = found.get_pk_constraint("sales_history")
    return {
        "primary": [(primary["name"] or "", tuple(primary["constrained_columns"]))],
        "indexes": sorted(
            (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in found.get_indexes("sales_history")
        ),
        "unique": sorted((u["name"], tuple(u["column_names"])) for u in found.get_unique_constraints("sales_history")),
        "foreign_keys": sorted(
            (f["name"], tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
            for f in found.get_foreign_keys("sales_history")
        ),
    }


def test_a_large_load_rebuilds_the_indexes_and_foreign_keys_it_set_aside(
    engines: dict[str, Engine], tmp_path: Path
) -> None:
    def fail_in_the_merge(_share: float, message: str) -> None:
        if "3,000 of 3,000 rows" in message:  # every chunk is in; the indexes are not built yet
            raise RuntimeError("connection lost")

    for name, engine in engines.items():
        before = _structure(engine)
        assert ("ix_sales_history_period", ("period",), False) in before["indexes"], name
        assert before["primary"][0][1] == ("id",) and before["unique"], name
        assert [f[1:] for f in before["foreign_keys"]] == [(("sku",), "product", ("sku",))], name
        ingest.import_files(engine, _files(tmp_path / "first"))  # into an empty table: the indexes are rebuilt
        assert _structure(engine) == before, name
        with pytest.raises(RuntimeError, match="connection lost"):
            ingest.import_files(engine, _files(tmp_path / "again", first_month=20), progress=fail_in_the_merge)
        assert _structure(engine) == before, name
        assert len(_tables(engine)["sales_history"]) == SKUS * MONTHS, name  # the failed import wrote nothing
        unknown = "INSERT INTO sales_history (sku, period, quantity, promo) VALUES ('NOPE', '2020-01-01', 1, 0)"
        with pytest.raises(IntegrityError), session_scope(engine) as s:  # the foreign key holds again
            s.execute(text(unknown))


def test_a_small_load_into_a_larger_table_upserts_row_by_key(engines: dict[str, Engine], tmp_path: Path) -> None:
    """40 rows (4 SKUs × 10 months, months 45–54 of which 45–49 are stored) into 3,000: no rebuild, 20 updated."""
    folder = tmp_path / "small"
    folder.mkdir()
    periods = pd.date_range("2020-01-01", periods=55, freq="MS")[45:].strftime("%Y-%m-%d")
    small = pd.DataFrame({
        "sku": [f"P-{i:03d}" for i in range(4) for _ in range(10)],
        "period": list(periods) * 4,
        "quantity": [1000 + n for n in range(40)],
    })
    small.to_csv(folder / "sales_history.csv", index=False)
    for name, engine in engines.items():
        ingest.import_files(engine, _files(tmp_path / "first"))
        before = _tables(engine)["sales_history"].set_index(["sku", "period"])
        report = ingest.import_files(engine, [folder / "sales_history.csv"])
        assert (report.inserted, report.updated) == ({"sales_history": 20}, {"sales_history": 20}), name
        after = _tables(engine)["sales_history"].set_index(["sku", "period"])
        assert len(after) == SKUS * MONTHS + 20, name
        row = after.loc[("P-001", pd.Timestamp("2023-10-01"))]  # month 45 of P-001: stored, so updated; promo kept
        assert (row["quantity"], row["promo"]) == (1010.0, before.loc[("P-001", pd.Timestamp("2023-10-01")), "promo"]), name
        new = after.loc[("P-003", pd.Timestamp("2024-07-01"))]  # month 54 of P-003: new, with the default promo 0
        assert (new["quantity"], new["promo"], pd.isna(new["net_price"])) == (1039.0, 0, True), name
        assert _structure(engine)["indexes"], name


def test_ids_follow_the_rows_of_the_files_on_both_databases(engines: dict[str, Engine], tmp_path: Path) -> None:
    """A first load into the empty table numbers the rows 1 to 3,000 in file order (on PostgreSQL the ids are taken
    from the sequence at once, from where it stands); the sequence goes on from there: the second load's 1,200 new
    rows get 3,001 on."""
    ids = {}
    for name, engine in engines.items():
        ingest.import_files(engine, _files(tmp_path / "first"))
        ingest.import_files(engine, _files(tmp_path / "again", first_month=20))
        with engine.connect() as conn:
            ids[name] = pd.read_sql(text("SELECT id, sku, period FROM sales_history ORDER BY id"), conn)
    lite, pg = ids["sqlite"], ids["postgres"]
    assert lite["id"].tolist() == list(range(1, SKUS * 70 + 1))
    # the PostgreSQL schema is shared by the session's tests: its sequence starts where an earlier test left it
    assert (pg["id"] - pg["id"].iloc[0] + 1).tolist() == lite["id"].tolist()
    assert (pg["sku"].tolist(), pg["period"].astype(str).tolist()) == (lite["sku"].tolist(), lite["period"].astype(str).tolist())
    assert (lite.loc[0, "sku"], str(lite.loc[0, "period"])) == ("P-000", "2020-01-01")
    assert (lite.loc[SKUS * MONTHS, "sku"], str(lite.loc[SKUS * MONTHS, "period"])) == ("P-000", "2024-03-01")


def _row_versions(engine: Engine) -> pd.Series:
    """PostgreSQL: the transaction that last wrote each sales row (``xmin``), by SKU and period."""
    with engine.connect() as conn:
        found = pd.read_sql(text("SELECT sku, period::text AS period, xmin::text AS version FROM sales_history"), conn)
    return found.set_index(["sku", "period"])["version"]


def test_a_stored_row_whose_values_are_the_same_is_counted_updated_but_not_rewritten(
    engines: dict[str, Engine], tmp_path: Path
) -> None:
    """The same 3,000 rows again, but P-002 in 2020-03 with quantity 500 and P-004 in 2020-01 with a net price of
    -0: both rows rewritten (-0 is stored apart from 0 on PostgreSQL), the other 2,998 left as they are; the report
    counts all 3,000 as updated."""
    first = _files(tmp_path / "first")
    sales = pd.read_csv(first[1], dtype=str, keep_default_na=False)
    at = (sales["sku"] == "P-002") & (sales["period"] == "2020-03-01")
    sales.loc[at, "quantity"] = "500"
    zero = (sales["sku"] == "P-004") & (sales["period"] == "2020-01-01")
    sales.loc[zero, "net_price"] = "-0"
    (tmp_path / "again").mkdir()
    sales.to_csv(tmp_path / "again" / "sales_history.csv", index=False)
    for name, engine in engines.items():
        ingest.import_files(engine, first)
        with session_scope(engine) as s:  # P-004 in 2020-01 stored with a net price of 0
            s.execute(text("UPDATE sales_history SET net_price = 0 WHERE sku = 'P-004' AND period = '2020-01-01'"))
        versions = _row_versions(engine) if name == "postgres" else None
        report = ingest.import_files(engine, [tmp_path / "again" / "sales_history.csv"])
        assert (report.inserted, report.updated) == ({"sales_history": 0}, {"sales_history": SKUS * MONTHS}), name
        stored = _tables(engine)["sales_history"].set_index(["sku", "period"])
        assert stored.loc[("P-002", pd.Timestamp("2020-03-01")), "quantity"] == 500.0, name
        if versions is not None:
            rewritten = _row_versions(engine).ne(versions)
            assert sorted(rewritten[rewritten].index) == [("P-002", "2020-03-01"), ("P-004", "2020-01-01")]
            with engine.connect() as conn:
                sign = conn.execute(text(
                    "SELECT net_price::text FROM sales_history WHERE sku = 'P-004' AND period = '2020-01-01'"
                )).scalar()
            assert sign == "-0"


def test_binary_copy_round_trips_every_kind_through_postgres(pg_schema_url: str) -> None:
    rows = pa.table({
        "t": pa.array(["dropped", "SKU-1", "", None, "Bäckerei ✓ 東京"], pa.string()),
        "d": pa.array([dt.date(2026, 1, 1), dt.date(1999, 12, 31), None, dt.date(2000, 1, 1), dt.date(1970, 1, 1)]),
        "f": pa.array([1.0, -0.5, None, 1e-300, 123456789.123456789]),
        "i": pa.array([1, -(2**31), None, 2**31 - 1, 0]),
    }).slice(1)  # a slice: its arrays start at an offset
    engine = make_engine(pg_schema_url)
    try:
        with engine.begin() as conn:
            dbapi = conn.connection.driver_connection
            assert dbapi is not None
            with dbapi.cursor() as cur:
                cur.execute("CREATE TEMP TABLE round_trip (t varchar(80), d date, f double precision, i integer)")
                with cur.copy("COPY round_trip FROM STDIN (FORMAT binary)") as copy:
                    copy.write(copy_binary.binary_copy(rows, ["text", "date", "float8", "int4"]))
                cur.execute("SELECT t, d, f, i FROM round_trip")
                stored = cur.fetchall()
    finally:
        engine.dispose()
    assert stored == [
        ("SKU-1", dt.date(1999, 12, 31), -0.5, -(2**31)),
        ("", None, None, None),
        (None, dt.date(2000, 1, 1), 1e-300, 2**31 - 1),
        ("Bäckerei ✓ 東京", dt.date(1970, 1, 1), 123456789.123456789, 0),
    ]


def test_binary_copy_refuses_an_integer_beyond_32_bits() -> None:
    with pytest.raises(OverflowError, match="out of range for an integer column"):
        copy_binary.binary_copy(pa.table({"i": [2**31]}), ["int4"])
