"""The app frame: every page renders on the demo company, the sidebar shows the cycle and scenario."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

PAGES = {
    "pages/data.py": "Data",
    "pages/demand_review.py": "Demand review",
    "pages/supply_review.py": "Supply review",
    "pages/reconciliation.py": "Reconciliation",
    "pages/executive_review.py": "Executive review",
    "pages/kpis.py": "KPIs",
}


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
