"""The app in a real browser: Debian's chromium driven by Playwright against `streamlit run app.py`.

The server (conftest.py) runs on a free port against a private copy of the seeded demo database (the run's
template, seeded once by ``ensure_ready`` as on a first start; bench/startup.py times a first start itself). The
tests open every page in one browser, assert that no exception is shown, and save a screenshot per page under
test-artifacts/screenshots/. Page timings go to test-artifacts/page_times.json.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from browser_app import (
    ARTIFACTS,
    CHROMIUM,
    SHOTS,
    _edit_grid_cell,
    _metric_value,
    _new_page,
    _wait_for_app,
    _wait_for_metric_change,
)

#: url_path → the page title the user sees ("" is the default page, Demand review, served at the root).
PAGES = {
    "": "Demand review",
    "data": "Data",
    "supply": "Supply review",
    "reconciliation": "Reconciliation",
    "executive": "Executive review",
    "kpis": "KPIs",
    "admin": "Users and roles",  # demo mode: the demo user is an admin
}

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


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


def test_whole_cycle_walk_in_the_browser(server: str, server_db: str, browser: Any) -> None:
    """Review demand, save a scenario, promote it, sign off by every role, show the executive page in meeting mode."""
    import pandas as pd
    from playwright.sync_api import expect

    from sop_core import formatting
    from sop_core.db.engine import make_engine
    from sop_core.services import cycle as cycle_service
    from sop_core.services import demand, overrides, signoff

    SHOTS.mkdir(parents=True, exist_ok=True)
    engine = make_engine(server_db)
    with _new_page(browser, 1100) as page:
        # 1. demand review: the statistical forecast and consensus of the current cycle, then a +10 % promotion
        #    override on the total of its second month, saved with its reason
        page.goto(f"{server}/", wait_until="domcontentloaded")
        _wait_for_app(page, 120_000)
        expect(page.locator("h1").first).to_have_text("Demand review")
        expect(page.get_by_test_id("stSidebar")).to_contain_text("State: demand review")
        cycle_id = cycle_service.cycle_by_month(engine, "2026-11").id
        run_id = demand.latest_run(engine, cycle_id=cycle_id)["id"]
        summary = demand.item_summary(engine, "total", "Total", run_id, cycle_id)
        assert _metric_value(page, "Forecast, next 12 months") == formatting.quantity(summary["forecast_12m"])
        consensus_before = _metric_value(page, "Consensus, next 12 months")
        assert consensus_before == formatting.quantity(summary["consensus_12m"])
        grid = overrides.override_grid(engine, cycle_id, "total", "Total")
        december = grid.iloc[1]
        assert pd.Timestamp(december["period"]) == pd.Timestamp("2026-12-01") and pd.isna(december["pct"])
        head = page.locator("th, [role='columnheader']").filter(has_text=re.compile(r"^\s*Override \(%\)\s*$"))
        override_grid = page.get_by_test_id("stDataFrame").filter(has=head)  # the override grid, once it is drawn
        override_grid.wait_for(state="visible", timeout=60_000)
        _edit_grid_cell(page, row=1, header="Override (%)", text="10", grid=override_grid)
        _edit_grid_cell(page, row=1, header="Reason", option="promotion", grid=override_grid)
        page.get_by_role("button", name="Save overrides").click()
        _wait_for_metric_change(page, "Consensus, next 12 months", consensus_before)
        _wait_for_app(page, 60_000)
        assert page.get_by_test_id("stException").count() == 0
        stored = overrides.override_grid(engine, cycle_id, "total", "Total").iloc[1]
        assert (stored["pct"], stored["reason"], stored["author"]) == (10.0, "promotion", "demo")
        assert stored["consensus"] == pytest.approx(1.1 * december["statistical"])
        summary = demand.item_summary(engine, "total", "Total", run_id, cycle_id)
        assert _metric_value(page, "Consensus, next 12 months") == formatting.quantity(summary["consensus_12m"])
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

        # 3. executive review: sign off by every role in the cycle's order → frozen (demo mode's user is an admin:
        #    it may sign for each role, one after the other; only the next role's button is enabled)
        page.goto(f"{server}/executive", wait_until="domcontentloaded")
        _wait_for_app(page, 60_000)
        labels = ("Demand planner", "Supply planner", "Finance", "Executive")
        for i, label in enumerate(labels):
            for later in labels[i + 1:]:
                expect(page.get_by_role("button", name=f"Sign off as {later}", disabled=True)).to_have_count(1)
            page.get_by_role("button", name=f"Sign off as {label}", disabled=False).first.click()
            # the rerun has stored the sign-off: a signed role has no button left
            expect(page.get_by_role("button", name=f"Sign off as {label}")).to_have_count(0, timeout=30_000)
            _wait_for_app(page, 60_000)
        expect(page.get_by_text("frozen").first).to_be_visible(timeout=30_000)
        assert page.get_by_test_id("stException").count() == 0
        signed = signoff.signoff_status(engine, cycle_id)
        assert signed[["role", "username"]].values.tolist() == [
            ["demand_planner", "demo"], ["supply_planner", "demo"], ["finance", "demo"], ["executive", "demo"]]
        assert cycle_service.cycle_info(engine, cycle_id).status == "signed"
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
