"""Outages: a PostgreSQL server restarted under the running app (a throw-away cluster of the test's own) — while it
is down the page says so in one friendly sentence, and the next action after it is back succeeds; an import whose
process is killed (SIGKILL) while it writes leaves every table as it was (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from pg_cluster import ThrowawayPostgres
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

from sop_core.db import user_repo
from sop_core.db.engine import make_engine, session_scope
from sop_core.db.migrate import upgrade
from sop_core.db.schema import ALL_MODELS
from sop_core.io import ingest
from sop_core.services import bootstrap

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
COMPANY = [("product.csv", b"sku,name,family,category,unit_price,unit_cost\nA-100,Frame S,FRAMES,COMP,120,70\n")]
UPLOAD = ("sales_history_oct.csv", b"sku,period,quantity\nA-100,2026-10-01,12\n", "text/csv")


def counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        return {mdl.__tablename__: int(s.scalar(select(func.count()).select_from(mdl)) or 0) for mdl in ALL_MODELS}


@pytest.mark.postgres
def test_a_restarted_postgresql_shows_a_friendly_message_then_the_next_action_succeeds(
    throwaway_pg: ThrowawayPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(throwaway_pg.url)
    upgrade(engine)
    with session_scope(engine) as s:
        user_repo.add_missing_users(s, bootstrap.DEMO_USERS)  # who imports: ``demo``, an admin
    ingest.import_files(engine, COMPANY)  # a product: the app does not seed the demo company
    engine.dispose()
    monkeypatch.setenv("SOP_DATABASE_URL", throwaway_pg.url)
    monkeypatch.setenv("SOP_AUTH", "off")
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("views/data.py").run()
    assert not at.exception, [e.message for e in at.exception]
    at.file_uploader(key="data_uploads").set_value(UPLOAD).run()

    throwaway_pg.stop()
    at.button(key="data_validate").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert [w.value for w in at.warning] == [bootstrap.UNREACHABLE]

    throwaway_pg.start()
    at.run()  # the next run: the page is back
    assert not at.exception, [e.message for e in at.exception]
    assert at.warning.len == 0 and at.title[0].value == "Data"
    at.button(key="data_validate").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.warning.len == 0
    assert [s.value for s in at.success] == ["1 file valid: ready to commit."]


_KILLED_IMPORT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from sop_core.db.engine import make_engine
    from sop_core.io import ingest

    marker = Path(sys.argv[2])
    def progress(share, message):
        if message.startswith("Writing") or share > 0.5:
            marker.touch()
    ingest.import_files(make_engine(sys.argv[1]), [sys.argv[3]], progress=progress)
    print("finished")
""")


def _sales_file(folder: Path, rows: int) -> Path:
    path = folder / "sales_history.csv"
    months = [f"{2010 + m // 12}-{m % 12 + 1:02d}-01" for m in range(180)]
    skus = rows // len(months) + 1
    lines = ["sku,period,quantity"] + [f"A-{i:05d},{p},{i % 97}" for i in range(skus) for p in months][:rows]
    path.write_text("\n".join(lines) + "\n")
    products = folder / "product.csv"
    products.write_text("sku,name,family,category,unit_price,unit_cost\n"
                        + "".join(f"A-{i:05d},P {i},F,C,10,5\n" for i in range(skus)))
    return path


@pytest.mark.usefixtures("demo_users")  # who imports: ``demo``, an admin
def test_an_import_killed_while_it_writes_leaves_the_tables_as_they_were(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    sales = _sales_file(tmp_path, 300_000)
    ingest.import_files(engine, [tmp_path / "product.csv"])
    before = counts(engine)
    marker = tmp_path / "writing"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_IMPORT, db_url, str(marker), str(sales)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, f"the import ended before it was killed: {proc.communicate()}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    engine.dispose()  # connections opened before the kill are not reused
    deadline = time.monotonic() + 30
    while True:  # PostgreSQL rolls the dead client's transaction back as soon as it sees the socket closed
        try:
            after = counts(engine)
            break
        except Exception:  # noqa: BLE001 - a SQLite file still locked by the dead process's journal: retry
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert after == before
    assert after["sales_history"] == 0
    ingest.import_files(engine, [sales])  # the database takes the same import afterwards
    assert counts(engine)["sales_history"] == 300_000
