"""Start-up and page-render figures of the app on the demo company.

Prints: the first start on an empty database (schema + demo company + baseline forecast) on SQLite and,
when reachable, PostgreSQL, split into its parts; then the server-side render time of every page
(Streamlit AppTest, warm caches) and the ratio of each page to the lightest page.

    .venv/bin/python bench/startup.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from sop_core.db.engine import make_engine  # noqa: E402
from sop_core.db.migrate import upgrade  # noqa: E402
from sop_core.io import demo  # noqa: E402
from sop_core.services import forecasting  # noqa: E402
from sop_core.services.bootstrap import ensure_ready  # noqa: E402

PAGES = [
    "views/data.py",
    "views/demand.py",
    "views/supply.py",
    "views/reconciliation.py",
    "views/executive.py",
    "views/kpis.py",
]


def first_start(url: str) -> dict[str, float]:
    engine = make_engine(url)
    t0 = time.perf_counter()
    upgrade(engine)
    t_schema = time.perf_counter() - t0
    t0 = time.perf_counter()
    demo.generate()
    t_generate = time.perf_counter() - t0
    engine.dispose()
    # the whole first start again on a fresh database, as the app does it
    return {"schema_s": t_schema, "generate_s": t_generate}


def full_seed(url: str) -> float:
    engine = make_engine(url)
    t0 = time.perf_counter()
    ensure_ready(engine)
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return elapsed


def forecast_only(url: str) -> float:
    engine = make_engine(url)
    t0 = time.perf_counter()
    forecasting.run_forecast(engine)
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return elapsed


def page_times(url: str, repeats: int = 3) -> dict[str, float]:
    from streamlit.testing.v1 import AppTest

    os.environ["SOP_DATABASE_URL"] = url
    os.environ["SOP_AUTH"] = "off"
    out: dict[str, float] = {}
    for page in PAGES:
        best = float("inf")
        for _ in range(repeats):
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
            at.run()
            t0 = time.perf_counter()
            at.switch_page(page).run()
            best = min(best, time.perf_counter() - t0)
            if at.exception:
                raise RuntimeError(f"{page}: {at.exception[0].message}")
        out[page] = best
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/sop.db"
        parts = first_start(f"sqlite:///{tmp}/parts.db")
        seed = full_seed(url)
        fc = forecast_only(url)
        print("First start on an empty database (schema + demo company + baseline forecast)")
        print(f"  SQLite      : {seed:6.2f} s  (schema {parts['schema_s']:.2f} s, generate {parts['generate_s']:.2f} s,"
              f" one forecast run {fc:.2f} s)")
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        try:
            admin = make_engine(args.pg)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            pg_url = f"{args.pg}?options=-csearch_path%3D{schema}"
            pg_seed = full_seed(pg_url)
            print(f"  PostgreSQL  : {pg_seed:6.2f} s  (ratio to SQLite {pg_seed / seed:.2f})")
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        except Exception as exc:  # noqa: BLE001 - report and go on
            print(f"  PostgreSQL  : not measured ({type(exc).__name__}: {str(exc).splitlines()[0]})")
        times = page_times(url)
        lightest = min(times.values())
        print("Server-side page render, warm caches (best of 3, AppTest)")
        for page, sec in times.items():
            print(f"  {page:28s} {sec * 1000:7.0f} ms   x{sec / lightest:4.1f} of the lightest page")


if __name__ == "__main__":
    main()
