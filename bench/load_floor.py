"""How fast the databases themselves take 1 M sales rows, with no check, key or upsert: the floor under any import.

Writes the files of ``bench/bulk_import.py`` (10,000 products, 1,000,000 sales rows) into a temporary folder and
times, best of ``--repeat``, against pandas' pyarrow parse of both files (the import's peer):

* PostgreSQL binary ``COPY`` of the sales rows into a bare unlogged table (the bytes built before the clock starts);
* PostgreSQL ``COPY … (FORMAT csv)`` of the file's bytes into a bare unlogged table;
* binary ``COPY`` into a temporary staging table, then one ``INSERT … ON CONFLICT DO UPDATE`` into a table with
  only its natural key (sku, period);
* the ``sqlite3`` command-line shell's ``.import`` of the CSV (C code, untyped columns, no index), when installed;
* Python's ``sqlite3`` ``executemany`` into a bare table, the rows already Python tuples.

    PYTHONPATH=. .venv/bin/python bench/load_floor.py [--pg URL] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pcsv

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bulk_import import write_files  # noqa: E402

from sop_core.db.copy_binary import binary_copy  # noqa: E402

COLUMNS = "sku text, period date, quantity float8, net_price float8, promo int4"


def best(step: Callable[[], object], repeat: int) -> float:
    """The shortest wall time of ``repeat`` runs of ``step`` [s]."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test", help="PostgreSQL (libpq URL)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (the best counts)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sop-floor-") as tmp:
        products, sales = write_files(Path(tmp), 10_000, 100)
        parse = best(lambda: [pd.read_csv(f, engine="pyarrow") for f in (products, sales)], args.repeat)
        rows = list(pd.read_csv(sales, engine="pyarrow").itertuples(index=False, name=None))
        arrow = pcsv.read_csv(sales, convert_options=pcsv.ConvertOptions(
            column_types={"period": pa.date32(), "promo": pa.int32()}))
        payload = binary_copy(arrow, ["text", "date", "float8", "float8", "int4"])

        def pg(statements: list[str], copy: str, data: bytes | Path) -> None:
            with psycopg.connect(args.pg) as conn:
                conn.execute("DROP TABLE IF EXISTS floor_keyed")
                conn.execute("DROP TABLE IF EXISTS floor_bare")
                conn.execute(f"CREATE UNLOGGED TABLE floor_bare ({COLUMNS})")
                conn.execute(f"CREATE TEMP TABLE floor_stage ({COLUMNS}) ON COMMIT DROP")
                conn.execute(f"CREATE TABLE floor_keyed ({COLUMNS}, PRIMARY KEY (sku, period))")
                with conn.cursor().copy(copy) as out:
                    out.write(data if isinstance(data, bytes) else data.read_bytes())
                for statement in statements:
                    conn.execute(statement)
                conn.execute("DROP TABLE floor_bare")
                conn.execute("DROP TABLE floor_keyed")

        def sqlite_rows() -> None:
            with tempfile.TemporaryDirectory() as folder:
                conn = sqlite3.connect(f"{folder}/floor.db")
                conn.execute("CREATE TABLE s (sku TEXT, period TEXT, quantity REAL, net_price REAL, promo INTEGER)")
                conn.executemany("INSERT INTO s VALUES (?, ?, ?, ?, ?)", rows)
                conn.commit()
                conn.close()

        def sqlite_shell() -> None:
            with tempfile.TemporaryDirectory() as folder:
                subprocess.run(["sqlite3", f"{folder}/floor.db"], input=f".mode csv\n.import {sales} s\n",
                               text=True, check=True)

        steps: list[tuple[str, Callable[[], object]]] = [
            ("PostgreSQL binary COPY into a bare unlogged table",
             lambda: pg([], "COPY floor_bare FROM STDIN (FORMAT binary)", payload)),
            ("PostgreSQL CSV COPY of the file into a bare unlogged table",
             lambda: pg([], "COPY floor_bare FROM STDIN (FORMAT csv, HEADER true)", sales)),
            ("binary COPY into staging + one upsert into a keyed table",
             lambda: pg(["INSERT INTO floor_keyed SELECT * FROM floor_stage ON CONFLICT (sku, period) "
                         "DO UPDATE SET quantity = excluded.quantity"],
                        "COPY floor_stage FROM STDIN (FORMAT binary)", payload)),
            ("Python sqlite3 executemany into a bare table", sqlite_rows),
        ]
        if shutil.which("sqlite3"):
            steps.insert(3, ("sqlite3 shell .import of the CSV", sqlite_shell))
        print(f"{'load of 1,000,000 sales rows':60s} {'wall [s]':>9s} {'× parse':>8s}")
        print(f"{'pandas read_csv (pyarrow) of both files: the peer':60s} {parse:9.3f} {1:8.1f}")
        for name, step in steps:
            seconds = best(step, args.repeat)
            print(f"{name:60s} {seconds:9.3f} {seconds / parse:8.1f}")


if __name__ == "__main__":
    main()
