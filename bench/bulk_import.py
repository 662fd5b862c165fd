"""Bulk import speed: 1,000,000 sales rows and their 10,000 products, against pandas' pyarrow CSV parser.

Writes (deterministically, into a temporary folder) ``product.csv`` (10,000 products) and ``sales_history.csv``
(100 months × 10,000 SKUs = 1,000,000 rows), both valid against the import contract, then times in this process:

* the peer: ``pandas.read_csv(engine="pyarrow")`` of both files (parsing only);
* the full import (:func:`sop_core.io.ingest.import_files`: read, validate, load in one transaction) into a fresh
  SQLite file and into a fresh PostgreSQL schema (dropped afterwards).

For each: wall time [s], the ratio import / parse, the CPU time [s] of this process (all its threads) and, for
PostgreSQL, of the server processes serving the import's connections (read from /proc when the server runs on this
machine; parallel index-build workers are not counted), and the peak resident memory of the process during the
step [MB] (VmHWM, reset before each step). On a machine shared with other work, the CPU times are the steadier
figures: wall time there grows with the other processes' load.

With ``--again`` each database imports the same files a second time, into the rows the first import stored: every
row is then an update, and the audit row lists the rows changed with their values before and after.

    PYTHONPATH=. .venv/bin/python bench/bulk_import.py [--skus 10000] [--months 100] [--pg URL] [--no-pg] [--again]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, event, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sop_core.db import user_repo  # noqa: E402
from sop_core.db.engine import make_engine, session_scope  # noqa: E402
from sop_core.db.migrate import upgrade  # noqa: E402
from sop_core.io.ingest import import_files  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def write_files(folder: Path, skus: int, months: int) -> list[Path]:
    """``product.csv`` and ``sales_history.csv`` in ``folder`` (seeded: the same bytes on every run)."""
    rng = np.random.default_rng(7)
    codes = np.array([f"SKU-{i:06d}" for i in range(skus)])
    price = np.round(rng.uniform(2.0, 200.0, skus), 2)
    pd.DataFrame({
        "sku": codes,
        "name": [f"Product {i}" for i in range(skus)],
        "family": [f"FAM-{i % 50:02d}" for i in range(skus)],
        "category": [f"CAT-{i % 7}" for i in range(skus)],
        "unit_price": price,
        "unit_cost": np.round(price * rng.uniform(0.3, 0.8, skus), 2),
        "holding_rate": 0.25,
        "order_cost": 50.0,
        "service_target": 0.95,
    }).to_csv(folder / "product.csv", index=False)
    periods = pd.date_range("2017-01-01", periods=months, freq="MS").strftime("%Y-%m-%d").to_numpy()
    n = skus * months
    sales = pd.DataFrame({
        "sku": np.repeat(codes, months),
        "period": np.tile(periods, skus),
        "quantity": rng.poisson(40, n).astype(float),
        "net_price": np.round(np.repeat(price, months) * rng.uniform(0.85, 1.0, n), 2),
        "promo": (rng.random(n) < 0.1).astype(int),
    })
    sales.to_csv(folder / "sales_history.csv", index=False)
    return [folder / "product.csv", folder / "sales_history.csv"]


def reset_peak() -> None:
    """Start a new peak: Linux resets the process's high-water mark of resident memory (VmHWM) on ``5``."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_mb() -> float:
    """The peak resident set size of this process since the last :func:`reset_peak` [MB] (VmHWM; where there is
    no /proc, the peak of the whole run from ``resource.getrusage``)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process of this machine has used; 0 where /proc does not tell."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse(files: list[Path]) -> tuple[float, float]:
    """Seconds pandas' pyarrow engine takes to parse ``files``: wall time and CPU time of this process."""
    start, cpu = time.perf_counter(), time.process_time()
    for f in files:
        pd.read_csv(f, engine="pyarrow")
    return time.perf_counter() - start, time.process_time() - cpu


def _server_cpu(engine: Engine) -> dict[int, float]:
    """Filled as the engine connects: PostgreSQL backend pid -> its CPU seconds at connection."""
    servers: dict[int, float] = {}

    def connected(dbapi_conn: object, _record: object) -> None:
        with dbapi_conn.cursor() as cur:  # type: ignore[attr-defined]
            cur.execute("SELECT pg_backend_pid()")
            pid = int(cur.fetchone()[0])
        servers[pid] = process_cpu(pid)

    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", connected)
    return servers


def timed_import(url: str, files: list[Path], runs: int = 1) -> list[tuple[float, float, float, float, str]]:
    """Full imports of ``files`` into the (migrated) database at ``url``, ``runs`` in a row (the second and later
    find every row stored: updates): for each, wall seconds, CPU seconds of this process and of the database
    server's processes for its connections, the peak memory of this process [MB], and the import's report."""
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as s:  # who imports: a planner (every import checks its user's role)
        user_repo.add_missing_users(s, [("bench", "Benchmark", "demand_planner")])
    engine.dispose()
    servers = _server_cpu(engine)
    out = []
    for _ in range(runs):
        engine.dispose()  # each run on new connections, whose server processes are counted
        servers.clear()
        reset_peak()
        start, cpu = time.perf_counter(), time.process_time()
        report = import_files(engine, files, user="bench")
        seconds, client = time.perf_counter() - start, time.process_time() - cpu
        server = sum(process_cpu(pid) - at_start for pid, at_start in servers.items())
        out.append((seconds, client, server, peak_mb(), str(report)))
    engine.dispose()
    return out


def line(label: str, seconds: float, peer: float, client: float, server: float | None, peak: float) -> str:
    """One line of the table: wall time and ratio, CPU of this process (and of the server), peak memory."""
    cpu = f"cpu {client:5.2f} s" + (f" + server {server:5.2f} s" if server is not None else "")
    return f"{label:28s} {seconds:7.2f} s {seconds / peer:5.1f}×   {cpu:32s} peak RSS {peak:6.0f} MB"


def imports(label: str, url: str, files: list[Path], peer: float, runs: int, server: bool) -> None:
    """Print the line and the report of each of ``runs`` imports of ``files`` into the database at ``url``."""
    for n, (seconds, client, server_cpu, peak, report) in enumerate(timed_import(url, files, runs)):
        what = f"import into {label}" if n == 0 else "  again (rows stored)"
        print(line(what, seconds, peer, client, server_cpu if server else None, peak))
        print(f"  {report}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=100)
    parser.add_argument("--pg", default=PG_URL, help="PostgreSQL URL (a throw-away schema is made in it)")
    parser.add_argument("--no-pg", action="store_true", help="leave PostgreSQL out")
    parser.add_argument("--no-sqlite", action="store_true", help="leave SQLite out")
    parser.add_argument("--again", action="store_true",
                        help="import the same files a second time (every row stored: updates, audited before/after)")
    args = parser.parse_args()
    runs = 2 if args.again else 1
    with tempfile.TemporaryDirectory(prefix="sop-bulk-") as tmp:
        folder = Path(tmp)
        files = write_files(folder, args.skus, args.months)
        size = sum(f.stat().st_size for f in files) / 1e6
        print(f"files: {args.skus} products, {args.skus * args.months} sales rows, {size:.1f} MB")
        reset_peak()
        parse(files)  # warm the page cache and pyarrow's imports
        peer, peer_cpu = min(parse(files) for _ in range(3))
        print(line("pandas read_csv (pyarrow)", peer, peer, peer_cpu, None, peak_mb()))
        if not args.no_sqlite:
            imports("SQLite", f"sqlite:///{folder / 'bench.db'}", files, peer, runs, server=False)
        if not args.no_pg:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = make_engine(args.pg)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                sep = "&" if "?" in args.pg else "?"
                url = f"{args.pg}{sep}options=-csearch_path%3D{schema}"
                imports("PostgreSQL", url, files, peer, runs, server=True)
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


if __name__ == "__main__":
    main()
