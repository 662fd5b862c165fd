"""The app frame: every page renders on the demo company, the sidebar shows the cycle and scenario."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGES = {
    "views/data.py": "Data",
    "views/demand.py": "Demand review",
    "views/supply.py": "Supply review",
    "views/reconciliation.py": "Reconciliation",
    "views/executive.py": "Executive review",
    "views/kpis.py": "KPIs",
}


def test_page_files_live_outside_a_pages_folder() -> None:
    # A folder named pages/ next to app.py is Streamlit's older multipage layout: until st.navigation has run
    # once in a server, a first request to /kpis runs pages/kpis.py on its own, without the frame or the sign-in.
    root = Path(__file__).resolve().parents[2]
    assert not (root / "pages").exists()
    assert all((root / path).is_file() for path in PAGES)


def _titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def test_default_page_and_sidebar(shared_app_env: str) -> None:
    at = AppTest.from_file(shared_app_env, default_timeout=120)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert _titles(at)[0] == "Demand review"
    cycle = at.sidebar.selectbox(key="cycle_month")
    assert cycle.value == "2026-11"
    assert any("demand review" in c.value for c in at.sidebar.caption)
    scenario = at.sidebar.selectbox(key="scenario_id")
    assert scenario.value == 0 and scenario.options == ["Baseline"]  # no scenario saved yet
    assert "Demo mode" in at.sidebar.info[0].value


@pytest.mark.parametrize("path,title", PAGES.items())
def test_every_page_renders(shared_app_env: str, path: str, title: str) -> None:
    at = AppTest.from_file(shared_app_env, default_timeout=120)
    at.run()
    at.switch_page(path).run()
    assert not at.exception, [e.message for e in at.exception]
    assert _titles(at)[0] == title
