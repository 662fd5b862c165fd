"""Reliability bench: bad and hostile import files, sign-in throttling, recovery after a PostgreSQL restart, and
concurrent writers.

Prints five tables:

* **generated bad files** — ``--files`` small CSVs (seeded: the same files on every run) of the sales history,
  product and event tables with hostile cells (formulas, NUL and control characters, bytes that are not UTF-8,
  huge numbers, far-off dates, quotes, short and long rows), imported into a throw-away SQLite database: how many
  loaded, how many were refused, refused imports that wrote anything (partial writes), exceptions other than the
  import's refusal (tracebacks), and refusals with an issue that names no file or reason;
* **hostile shapes** — one line of 20 MB, 5 million and one lines, workbooks that unzip to hundreds of MB or hold
  a million rows (with and without their dimension), and the implausible values (1e308, a sale of 2100-01, a
  period of 1700, an uplift of −1000 %, a receipt before its order, NUL, a lone surrogate, a 10,001-character
  name): outcome, wall time, extra peak memory of this process (VmHWM, reset before each), first message; then
  the worst time and memory over them;
* **sign-in throttle** — the time of a wrong password for a known and for an unknown user (the real argon2
  parameters), the wait before each further attempt on one user name as failures grow, the lock, and the time
  of a refused (throttled) attempt;
* **PostgreSQL restart** — a throw-away cluster (initdb in a temporary folder, a free port; never the shared
  server): how long a query takes to fail while it is down, and from the restart command until the app's engine
  (the same one, with its pooled connections) answers again;
* **writers** — ``bench/reliability_writers.py`` (``run(url, writers=20) -> list[dict]``: conflicts and lost
  updates per object), when that module is there; else "not available".

    PYTHONPATH=. .venv/bin/python bench/reliability.py [--files 500] [--writers 20] [--no-pg]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # pg_cluster, hostile_files: the tests' throw-away cluster and files
sys.path.insert(0, str(ROOT / "bench"))

import hostile_files  # noqa: E402
from bulk_import import peak_mb, reset_peak  # noqa: E402
from pg_cluster import ThrowawayPostgres  # noqa: E402
from reliability_writers import run as writers_run  # noqa: E402

from sop_core.db import models as m  # noqa: E402
from sop_core.db import user_repo  # noqa: E402
from sop_core.db.engine import make_engine, session_scope  # noqa: E402
from sop_core.db.migrate import upgrade  # noqa: E402
from sop_core.db.schema import ALL_MODELS  # noqa: E402
from sop_core.io import ingest  # noqa: E402
from sop_core.io.import_issues import ImportFailed  # noqa: E402
from sop_core.services import sign_in, users  # noqa: E402
from sop_core.services.bootstrap import DEMO_USERS  # noqa: E402

BASE = {
    "product.csv": "sku,name,family,category,unit_price,unit_cost\nA-100,Frame S,FRAMES,COMP,120,70\n"
                   "A-200,Frame L,FRAMES,COMP,130,76\n",
    "supplier.csv": "supplier,name\nS1,Rimworks\n",
    "sales_history.csv": "sku,period,quantity\nA-100,2026-09-01,40\n",
}
HOSTILE_TEXT = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "a\x00b", "bell\x07", "\t", "é", "€",
                "![img](http://x/y.png)", "<script>", '"', "a,b", "a;b", "n" * 300, " ", ""]
NUMBERS = ["4", "0", "-4", "1e308", "1e9", "1e10", "inf", "nan", "1,5", "12.5", "0x10", "--1", "9" * 40]
DATES = ["2026-10-01", "2026-10-15", "2100-01-01", "1700-01-01", "0001-01-01", "9999-12-01", "2026-13-01",
         "2026-02-30", "01/10/2026", "20261001"]
COLUMNS = {
    "sales_history": {"sku": ["A-100", "A-200", "Z-9"], "period": DATES, "quantity": NUMBERS,
                      "net_price": NUMBERS, "promo": ["0", "1", "2"]},
    "product": {"sku": ["B-1", "B-2", "A-100"], "name": ["Frame"], "family": ["F"], "category": ["C"],
                "unit_price": NUMBERS, "unit_cost": NUMBERS, "service_target": ["0.95", "1", "0"]},
    "event": {"name": ["Promo"], "start": DATES, "end": DATES, "scope": ["FRAMES", "*", "X"],
              "uplift_pct": ["20", "-1000", "1001", "-100"]},
}


def counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        return {mdl.__tablename__: int(s.scalar(select(func.count()).select_from(mdl)) or 0) for mdl in ALL_MODELS}


def with_company(engine: Engine) -> None:
    """The demo users (``demo``, an admin, imports every file of this bench) and the small company of :data:`BASE`
    in the migrated database of ``engine``."""
    with session_scope(engine) as s:
        user_repo.add_missing_users(s, DEMO_USERS)
    ingest.import_files(engine, [(n, t.encode()) for n, t in BASE.items()])


def fresh_sqlite(folder: Path, name: str) -> Engine:
    """A migrated SQLite database in ``folder`` holding the demo users, the small company of :data:`BASE` and the
    cycle 2026-11."""
    engine = make_engine(f"sqlite:///{folder / name}")
    upgrade(engine)
    with_company(engine)
    with session_scope(engine) as s:
        s.add(m.PlanCycle(month=dt.date(2026, 11, 1), status="demand_review", status_at=dt.datetime(2026, 11, 2)))
    return engine


def generated_file(rng: random.Random) -> tuple[str, bytes]:
    """One small CSV with hostile cells (see the module docstring)."""
    table = rng.choice(sorted(COLUMNS))
    names = list(COLUMNS[table])
    header = names if rng.random() < 0.9 else [rng.choice([*names, "colour", ""]) for _ in range(rng.randint(1, 6))]
    sep = rng.choice([",", ";", "\t"])
    rows = []
    for _ in range(rng.randint(0, 6)):
        width = len(header) + (rng.choice([-1, 1]) if rng.random() < 0.05 else 0)
        cells = []
        for i in range(max(width, 0)):
            column = header[i] if i < len(header) and header[i] in names else names[0]
            roll = rng.random()  # mostly a valid value (each pool's first), else any of the column's, else hostile
            pool = COLUMNS[table][column][:1] if roll < 0.85 else COLUMNS[table][column] if roll < 0.95 else HOSTILE_TEXT
            cells.append(rng.choice(pool))
        rows.append(cells)
    quote = rng.random() < 0.2
    lines = [sep.join(f'"{c}"' if quote else c for c in r) for r in [header, *rows]]
    data = ("\n".join(lines) + rng.choice(["\n", "", "\r\n"])).encode()
    if rng.random() < 0.05:
        data = data.replace(b"e", b"\xe9")
    return f"{table}_bench.csv", data


def bad_files(folder: Path, n: int) -> None:
    engine = fresh_sqlite(folder, "fuzz.db")
    rng = random.Random(7)
    loaded = refused = partial = tracebacks = unnamed = 0
    worst = 0.0
    for _ in range(n):
        name, data = generated_file(rng)
        before = counts(engine)
        start = time.perf_counter()
        try:
            ingest.import_files(engine, [(name, data)])
            loaded += 1
        except ImportFailed as err:
            refused += 1
            partial += counts(engine) != before
            unnamed += any(i.file != name or not i.reason for i in err.issues)
        except Exception as err:  # noqa: BLE001 - counted: any other exception is a defect
            tracebacks += 1
            print(f"  traceback: {type(err).__name__}: {err}"[:200])
        worst = max(worst, time.perf_counter() - start)
    engine.dispose()
    print(f"\nGenerated bad files ({n}, seed 7), into SQLite")
    print(f"{'loaded':>8} {'refused':>8} {'partial writes':>15} {'tracebacks':>11} {'unnamed issues':>15} {'slowest':>9}")
    print(f"{loaded:8d} {refused:8d} {partial:15d} {tracebacks:11d} {unnamed:15d} {worst:8.3f}s")




SHAPES: list[tuple[str, str, Callable[[], bytes]]] = [
    ("one line of 20 MB", "sales_history.csv", lambda: b"sku,period,quantity," + b"x" * 20_000_000),
    ("5,000,001 lines", "sales_history.csv", lambda: b"sku,period,quantity\n" + b"A-100,2026-10-01,4\n" * 5_000_000),
    ("xlsx unzipping to 345 MB", "sales_history.xlsx", lambda: hostile_files.workbook(3_000_000, dimension=False)),
    ("xlsx of 1 M rows", "sales_history.xlsx", lambda: hostile_files.workbook(1_000_000, dimension=True)),
    ("xlsx of 1 M rows, no dimension", "sales_history.xlsx", lambda: hostile_files.workbook(1_000_000, dimension=False)),
    ("quantity 1e308", "sales_history.csv", lambda: b"sku,period,quantity\nA-100,2026-11-01,1e308\n"),
    ("sale of 2100-01", "sales_history.csv", lambda: b"sku,period,quantity\nA-100,2100-01-01,4\n"),
    ("period of 1700", "sales_history.csv", lambda: b"sku,period,quantity\nA-100,1700-01-01,4\n"),
    ("uplift -1000 %", "event.csv",
     lambda: b"name,start,end,scope,uplift_pct\nCrash,2027-03-01,2027-03-31,FRAMES,-1000\n"),
    ("receipt before its order", "receipt.csv",
     lambda: b"supplier,sku,order_date,promised_date,received_date,qty_ordered,qty_received\n"
             b"S1,A-100,2026-09-10,2026-09-30,2026-09-01,20,20\n"),
    ("NUL in a name", "product.csv", lambda: b"sku,name,family,category,unit_price,unit_cost\nB-1,a\x00b,F,C,1,1\n"),
    ("lone surrogate", "product.csv",
     lambda: b"sku,name,family,category,unit_price,unit_cost\nB-1,a\xed\xa0\x80b,F,C,1,1\n"),
    ("name of 10,001 chars", "product.csv",
     lambda: b"sku,name,family,category,unit_price,unit_cost\nB-1," + b"n" * 10_001 + b",F,C,1,1\n"),
]


def hostile_shapes(folder: Path) -> None:
    engine = fresh_sqlite(folder, "hostile.db")
    print("\nHostile shapes, into SQLite (extra peak memory of this process while importing)")
    print(f"{'shape':32s} {'size':>9} {'outcome':>9} {'time':>8} {'memory':>9}  first message")
    worst_time, worst_memory = 0.0, 0.0
    for label, name, build in SHAPES:
        data = build()
        before = counts(engine)
        reset_peak()
        base = peak_mb()
        start = time.perf_counter()
        try:
            ingest.import_files(engine, [(name, data)])
            outcome, message = "loaded", ""
        except ImportFailed as err:
            outcome, message = "refused", str(err.issues[0])
        except Exception as err:  # noqa: BLE001 - reported: any other exception is a defect
            outcome, message = "TRACEBACK", f"{type(err).__name__}: {err}"
        seconds, extra = time.perf_counter() - start, peak_mb() - base
        if counts(engine) != before and outcome != "loaded":
            outcome = "PARTIAL"
        worst_time, worst_memory = max(worst_time, seconds), max(worst_memory, extra)
        size = f"{len(data) / 1e6:.2f} MB" if len(data) > 10_000 else f"{len(data)} B"
        print(f"{label:32s} {size:>9} {outcome:>9} {seconds:7.2f}s {extra:6.0f} MB  {message[:110]}")
        del data
    engine.dispose()
    print(f"{'worst':32s} {'':>9} {'':>9} {worst_time:7.2f}s {worst_memory:6.0f} MB")


def _timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    try:
        call()
    except sign_in.SignInRefused:
        pass
    return time.perf_counter() - start


def throttle(folder: Path) -> None:
    engine = make_engine(f"sqlite:///{folder / 'accounts.db'}")
    upgrade(engine)
    users.add_user(engine, "bench", "alice", "admin", password="a long enough pass phrase 7")
    base = dt.datetime(2026, 12, 1, 8, 0)
    _timed(lambda: sign_in.sign_in(engine, "warm", "wrong", "10.0.0.1", base))  # the stand-in hash, once
    known, unknown = [], []
    for i in range(1, 10):  # alternating, each attempt hours after the last: no throttle, the same machine load
        at = base + dt.timedelta(hours=2 * i)
        known.append(_timed(lambda at=at, i=i: sign_in.sign_in(engine, "alice", "wrong", f"10.0.1.{i}", at)))
        unknown.append(_timed(lambda at=at, i=i: sign_in.sign_in(engine, f"nobody{i}", "wrong", f"10.0.2.{i}", at)))
    print("\nSign-in throttle (SQLite, real argon2 parameters)")
    for label, times in (("known user:  ", known), ("unknown user:", unknown)):
        print(f"wrong password, {label} median {statistics.median(times) * 1000:5.0f} ms, min "
              f"{min(times) * 1000:5.0f} ms, max {max(times) * 1000:5.0f} ms ({len(times)} attempts)")
    at = dt.datetime(2026, 12, 2, 8, 0)
    waits = []
    for n in range(1, 12):
        wait = sign_in.throttle_wait(engine, "bob", f"10.0.3.{n}", at)
        waits.append((n, wait))
        at += wait
        _timed(lambda at=at, n=n: sign_in.sign_in(engine, "bob", "wrong", f"10.0.3.{n}", at))
    print("wait before attempt n on one user name (each from another address):")
    print("  " + "  ".join(f"{n}: {int(w.total_seconds())} s" for n, w in waits))
    refused = _timed(lambda: sign_in.sign_in(engine, "bob", "wrong", "10.0.3.99", at))
    print(f"locked after {sign_in.PER_USER.lock_after} failures for {int(sign_in.LOCK.total_seconds() // 60)} min; "
          f"a throttled attempt is refused in {refused * 1000:.0f} ms (no password checked)")
    engine.dispose()


def pg_restart(writers: int) -> None:
    print("\nPostgreSQL restart (a throw-away cluster)")
    try:
        cluster = ThrowawayPostgres()
    except BaseException as err:  # noqa: BLE001 - pytest's skip when there are no server binaries
        print(f"not available: {err}")
        return
    try:
        cluster.start()
        engine = make_engine(cluster.url)
        upgrade(engine)
        with_company(engine)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        cluster.stop()
        start = time.perf_counter()
        try:
            with engine.connect() as conn:
                conn.execute(text("select 1"))
        except Exception:  # noqa: BLE001 - expected: the server is down
            pass
        failed = time.perf_counter() - start
        start = time.perf_counter()
        cluster.start()
        started = time.perf_counter() - start
        while True:
            try:
                with engine.connect() as conn:
                    conn.execute(text("select count(*) from product")).scalar()
                break
            except Exception:  # noqa: BLE001 - not yet: try again
                time.sleep(0.05)
        answered = time.perf_counter() - start
        print(f"a query while it is down fails in {failed * 1000:.0f} ms; the server restarts in {started:.2f} s; "
              f"the app's engine answers {answered:.2f} s after the restart command")
        writers_table(cluster.url, writers)
        engine.dispose()
    finally:
        cluster.remove()


def writers_table(url: str, writers: int) -> None:
    print(f"\nWriters ({writers}), conflicts and lost updates per object")
    rows = writers_run(url, writers=writers)
    if not rows:
        print("no rows")
        return
    columns = list(rows[0])
    print("  ".join(f"{c:>14}" for c in columns))
    for row in rows:
        print("  ".join(f"{row.get(c, '')!s:>14}" for c in columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=500, help="generated bad files")
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--no-pg", action="store_true", help="leave the PostgreSQL restart and the writers out")
    args = parser.parse_args()
    logging.getLogger("sop_core").setLevel(logging.ERROR)  # the refused sign-ins' warnings: counted, not logged
    folder = Path(tempfile.mkdtemp(prefix="sop-reliability-"))
    try:
        bad_files(folder, args.files)
        hostile_shapes(folder)
        throttle(folder)
        if not args.no_pg:
            pg_restart(args.writers)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
