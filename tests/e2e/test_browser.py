"""The app in a real browser: Debian's chromium driven by Playwright against `streamlit run app.py`.

Starts the server on a free port against a private copy of the seeded demo database (the run's template,
seeded once by ``ensure_ready`` as on a first start; bench/startup.py times a first start itself), opens every
page in one browser, asserts that no exception is shown, and saves a screenshot per page under
test-artifacts/screenshots/. Page timings go to test-artifacts/page_times.json.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SHOTS = ARTIFACTS / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: url_path → the page title the user sees ("" is the default page, Demand review, served at the root).
PAGES = {
    "": "Demand review",
    "data": "Data",
    "supply": "Supply review",
    "reconciliation": "Reconciliation",
    "executive": "Executive review",
    "kpis": "KPIs",
}

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} not healthy after {timeout} s")


@pytest.fixture(scope="module")
def server_db(demo_db_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of the server's database: its own copy of the seeded demo company (the walk below writes to it)."""
    target = tmp_path_factory.mktemp("e2e") / "sop.db"
    shutil.copyfile(demo_db_template, target)
    return f"sqlite:///{target}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, server_db: str) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    port = _free_port()
    env = {**os.environ, "SOP_DATABASE_URL": server_db, "SOP_AUTH": "off"}
    log = (tmp_path_factory.mktemp("e2e-log") / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium for the module's tests; each test opens its own context (cookies, storage and
    Streamlit session of its own), as a fresh browser would."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@contextmanager
def _new_page(browser: Any, height: int) -> Iterator[Any]:
    """A page in a new browser context, closed afterwards."""
    context = browser.new_context(viewport={"width": 1440, "height": height})
    try:
        yield context.new_page()
    finally:
        context.close()


def _wait_for_app(page, timeout_ms: int) -> None:
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout_ms)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)


def test_every_page_renders_in_chromium(server: str, browser: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    with _new_page(browser, 1000) as page:
        for url_path, title in PAGES.items():  # the default page first: the server's first session
            t0 = time.perf_counter()
            page.goto(f"{server}/{url_path}", wait_until="domcontentloaded")
            _wait_for_app(page, 60_000 if times else 120_000)
            page.wait_for_timeout(300)  # let charts paint
            times[url_path or "demand"] = round(time.perf_counter() - t0, 2)
            exceptions = page.get_by_test_id("stException")
            assert exceptions.count() == 0, f"{title}: {exceptions.first.inner_text()[:500]}"
            heading = page.locator("h1").first
            assert heading.inner_text().strip().startswith(title), f"{url_path}: {heading.inner_text()!r}"
            assert page.get_by_text("Page not found").count() == 0, url_path
            page.screenshot(path=str(SHOTS / f"{url_path or 'demand'}.png"), full_page=True)
    (ARTIFACTS / "page_times.json").write_text(json.dumps(times, indent=2))
    print("page times (s):", times)  # recorded, not asserted: speed is measured in bench/


def test_chromium_is_debians() -> None:
    assert shutil.which("chromium") == CHROMIUM or Path(CHROMIUM).exists()


def _metric_value(page, label: str) -> str:
    metric = page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return metric.first.get_by_test_id("stMetricValue").inner_text().strip()


def test_what_if_slider_replans_in_the_browser(server: str, browser: Any) -> None:
    """Moving the demand slider re-runs only the what-if fragment and changes the revenue shown."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    with _new_page(browser, 1000) as page:
        page.goto(f"{server}/reconciliation", wait_until="domcontentloaded")
        _wait_for_app(page, 120_000)
        before = _metric_value(page, "Revenue")
        thumb = page.get_by_test_id("stSlider").filter(has_text="Demand change (all SKUs)").get_by_role("slider")
        thumb.focus()
        durations = []
        for _ in range(3):
            previous = _metric_value(page, "Revenue")
            t0 = time.perf_counter()
            thumb.press("ArrowRight")
            page.wait_for_function(
                """([label, old]) => [...document.querySelectorAll("[data-testid='stMetric']")]
                     .some(m => m.querySelector("[data-testid='stMetricLabel']")?.innerText.trim() === label
                          && m.querySelector("[data-testid='stMetricValue']")?.innerText.trim() !== old)""",
                arg=["Revenue", previous],
                timeout=30_000,
            )
            _wait_for_app(page, 30_000)
            durations.append(round(time.perf_counter() - t0, 3))
        after = _metric_value(page, "Revenue")
        assert after != before
        assert thumb.input_value() == "3"
        assert page.get_by_test_id("stException").count() == 0
        page.screenshot(path=str(SHOTS / "reconciliation_slider.png"), full_page=True)
    times = json.loads((ARTIFACTS / "page_times.json").read_text()) if (ARTIFACTS / "page_times.json").exists() else {}
    times["slider_rerender_s"] = durations
    (ARTIFACTS / "page_times.json").write_text(json.dumps(times, indent=2))
    print("slider re-render (s):", durations, "revenue", before, "->", after)


def _wait_for_metric_change(page, label: str, old: str, timeout_ms: int = 30_000) -> None:
    page.wait_for_function(
        """([label, old]) => [...document.querySelectorAll("[data-testid='stMetric']")]
             .some(m => m.querySelector("[data-testid='stMetricLabel']")?.innerText.trim() === label
                  && m.querySelector("[data-testid='stMetricValue']")?.innerText.trim() !== old)""",
        arg=[label, old],
        timeout=timeout_ms,
    )


#: Glide's cell editor, drawn over the grid while a cell is edited.
GRID_EDITOR = "[id^='gdg-overlay-']"


def _grid_column(grid, header: str) -> int:
    """The index of a data editor's column by its header (read from the grid's accessible table)."""
    cells = grid.locator("th, [role='columnheader']")
    cells.filter(has_text=header).first.wait_for(state="attached", timeout=30_000)  # drawn with the grid
    return [h.strip() for h in cells.all_inner_texts()].index(header)


def _select_grid_cell(page, grid, row: int, column: int) -> None:
    """Select a cell of a data editor: the grid is a canvas, so click the row's first cell (header and rows
    are 35 px high) and move right with the arrows, checking the selection in the grid's accessible table."""
    for _attempt in range(3):
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 30, box["y"] + 35 * (row + 1) + 17)
        try:
            for col in range(column + 1):
                if col:
                    page.keyboard.press("ArrowRight")
                selected = grid.locator(f"#glide-cell-{col}-{row}[aria-selected='true']")
                selected.wait_for(state="attached", timeout=5_000)  # the accessible table is not visible
            return
        except Exception:  # noqa: BLE001 - Playwright's timeout: the page was still settling, click again
            _wait_for_app(page, 60_000)
    raise AssertionError(f"grid cell ({row}, {column}) could not be selected")


def _edit_grid_cell(page, row: int, header: str, *, text: str | None = None, option: str | None = None) -> None:
    """Type ``text`` into, or choose ``option`` in, a cell of the first data editor on the page; Enter opens
    the cell's editor and commits it, and each commit re-runs the page."""
    grid = page.get_by_test_id("stDataFrame").first
    grid.scroll_into_view_if_needed()
    column = _grid_column(grid, header)
    _select_grid_cell(page, grid, row, column)
    page.keyboard.press("Enter")
    editor = page.locator(GRID_EDITOR)
    editor.first.wait_for(state="visible", timeout=10_000)
    if text is not None:
        editor.locator("input, textarea").first.fill(text)
        page.keyboard.press("Enter")
    else:
        editor.get_by_role("combobox").fill(option)
        page.get_by_role("option", name=option, exact=True).click()
    editor.first.wait_for(state="hidden", timeout=10_000)
    page.wait_for_timeout(300)
    _wait_for_app(page, 60_000)


def test_whole_cycle_walk_in_the_browser(server: str, server_db: str, browser: Any) -> None:
    """Review demand, save a scenario, promote it, sign off by every role, show the executive page in meeting mode."""
    import pandas as pd
    from playwright.sync_api import expect

    from sop_core.db.engine import make_engine
    from sop_core.services import demand, workflow
    from views import ui

    SHOTS.mkdir(parents=True, exist_ok=True)
    engine = make_engine(server_db)
    with _new_page(browser, 1100) as page:
        # 1. demand review: the statistical forecast and consensus of the current cycle, then a +10 % promotion
        #    override on the total of its second month, saved with its reason
        page.goto(f"{server}/", wait_until="domcontentloaded")
        _wait_for_app(page, 120_000)
        expect(page.locator("h1").first).to_have_text("Demand review")
        expect(page.get_by_test_id("stSidebar")).to_contain_text("State: demand review")
        cycle_id = workflow.cycle_by_month(engine, "2026-11").id
        run_id = demand.latest_run(engine, cycle_id=cycle_id)["id"]
        summary = demand.item_summary(engine, "total", "Total", run_id, cycle_id)
        assert _metric_value(page, "Forecast, next 12 months") == ui.fmt_qty(summary["forecast_12m"])
        consensus_before = _metric_value(page, "Consensus, next 12 months")
        assert consensus_before == ui.fmt_qty(summary["consensus_12m"])
        grid = demand.override_grid(engine, cycle_id, "total", "Total")
        december = grid.iloc[1]
        assert pd.Timestamp(december["period"]) == pd.Timestamp("2026-12-01") and pd.isna(december["pct"])
        _edit_grid_cell(page, row=1, header="Override (%)", text="10")
        _edit_grid_cell(page, row=1, header="Reason", option="promotion")
        page.get_by_role("button", name="Save overrides").click()
        _wait_for_metric_change(page, "Consensus, next 12 months", consensus_before)
        _wait_for_app(page, 60_000)
        assert page.get_by_test_id("stException").count() == 0
        stored = demand.override_grid(engine, cycle_id, "total", "Total").iloc[1]
        assert (stored["pct"], stored["reason"], stored["author"]) == (10.0, "promotion", "demo")
        assert stored["consensus"] == pytest.approx(1.1 * december["statistical"])
        summary = demand.item_summary(engine, "total", "Total", run_id, cycle_id)
        assert _metric_value(page, "Consensus, next 12 months") == ui.fmt_qty(summary["consensus_12m"])
        page.screenshot(path=str(SHOTS / "demand_override.png"), full_page=True)

        # 2. reconciliation: +5 % demand, save as a scenario, promote it
        page.goto(f"{server}/reconciliation", wait_until="domcontentloaded")
        _wait_for_app(page, 60_000)
        thumb = page.get_by_test_id("stSlider").filter(has_text="Demand change (all SKUs)").get_by_role("slider")
        thumb.focus()
        for _ in range(5):
            thumb.press("ArrowRight")
        page.wait_for_timeout(500)
        _wait_for_app(page, 60_000)
        name = page.get_by_label("Scenario name")
        name.fill("Browser walk +5 %")
        name.press("Enter")
        _wait_for_app(page, 60_000)
        page.get_by_role("button", name="Save scenario").click()
        _wait_for_app(page, 60_000)
        expect(page.get_by_text("Browser walk +5 %").first).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="Promote to proposed plan").click()
        _wait_for_app(page, 60_000)
        expect(page.get_by_text("is now the proposed plan").first).to_be_visible(timeout=30_000)

        # 3. executive review: sign off by every role → frozen
        page.goto(f"{server}/executive", wait_until="domcontentloaded")
        _wait_for_app(page, 60_000)
        for label in ("Demand planner", "Supply planner", "Finance", "Executive"):
            page.get_by_role("button", name=f"Sign off as {label}", disabled=False).first.click()
            # the rerun has stored the sign-off (a rerun briefly shows the old and the new button)
            expect(page.get_by_role("button", name=f"Sign off as {label}", disabled=True).first).to_be_visible(timeout=30_000)
            _wait_for_app(page, 60_000)
        expect(page.get_by_text("frozen").first).to_be_visible(timeout=30_000)
        assert page.get_by_test_id("stException").count() == 0
        # the plan diff compares the last signed plan with the plan just signed
        expect(page.locator(".gtitle").filter(has_text="Revenue: 2026-10 v1 → 2026-11 v1")).to_have_count(1)

        # 4. meeting mode: large type, no editing controls
        page.get_by_test_id("stSidebar").get_by_text("Meeting mode").click()
        # the click only queues a rerun: wait for its result rather than for the (possibly not yet started) run
        expect(page.get_by_role("button", name="Sign off as Finance")).to_have_count(0, timeout=30_000)
        _wait_for_app(page, 60_000)
        assert page.get_by_test_id("stException").count() == 0
        page.screenshot(path=str(SHOTS / "executive_meeting_mode_end.png"))
        page.evaluate("document.querySelectorAll('*').forEach(e => { if (e.scrollTop > 0) e.scrollTop = 0; })")
        page.wait_for_timeout(300)
        page.screenshot(path=str(SHOTS / "executive_meeting_mode.png"))
        # the plan diff in meeting mode: the two plans compared and the waterfall of causes
        page.get_by_text("What changed between two plans").evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(300)
        page.screenshot(path=str(SHOTS / "executive_meeting_mode_diff.png"))
    engine.dispose()
