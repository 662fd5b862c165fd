"""A link straight to a page, as the first request a fresh server gets, still goes through the app frame.

Streamlit serves the files of a folder named ``pages/`` next to the main script on their own until
``st.navigation`` has run once in the server: a first request to ``/kpis`` would then render the KPIs
without the frame and, in team mode, without the sign-in. The page files live in ``views/`` for that
reason; this test starts a server in team mode and opens ``/kpis`` before anything else.

The server starts on a database file that does not exist yet (in a folder that does not exist either), as
``make run`` does on a fresh machine: the first request creates it and seeds the demo company.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from browser_app import CHROMIUM, CHROMIUM_ARGS, ROOT, _free_port, _wait_for_app, _wait_healthy
from sqlalchemy import text

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_first_request_to_a_page_seeds_the_database_and_asks_to_sign_in(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from sop_core.db.engine import make_engine
    from sop_core.io import demo

    database = tmp_path / "new" / "sop.db"
    port = _free_port()
    env = {**os.environ, "SOP_DATABASE_URL": f"sqlite:///{database}", "SOP_AUTH": "on"}
    with (tmp_path / "streamlit.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(url, proc)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                page.goto(f"{url}/kpis", wait_until="domcontentloaded")
                _wait_for_app(page, 180_000)
                headings = [h.strip() for h in page.locator("h1").all_inner_texts()]
                body = page.locator("[data-testid='stMain']").inner_text()
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert headings[0] == "S&OP Studio — sign in", headings
    assert "KPIs" not in headings and "Fill rate" not in body
    engine = make_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        products = conn.execute(text("select count(*) from product")).scalar_one()
        cycles = conn.execute(text("select count(*) from plan_cycle")).scalar_one()
    engine.dispose()
    assert (products, cycles) == (len(demo.generate()["product"]), 4)  # the demo company: its SKUs, its four cycles
