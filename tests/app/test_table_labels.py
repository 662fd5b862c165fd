"""One presentation vocabulary on every page: no table heads a column with its snake_case name from the data
contract, and no cell reads "None", "nan" or "NaT" (a missing value shows "–" or nothing)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from screen import open_tab, table_problems
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from sop_core.planning import levers as lev
from sop_core.services import cycle as cycle_service
from sop_core.services import decisions, scenarios

ROOT = Path(__file__).resolve().parents[2]
#: Every page the app navigates to, read from app.py: a new page joins the sweep by being there.
PAGES = re.findall(r'st\.Page\(\s*"(views/[a-z_]+\.py)"', (ROOT / "app.py").read_text(encoding="utf-8"))
#: The pages in tabs, of which only the open one is drawn: the key of their tabs.
TABS = {"views/supply.py": "supply_section", "views/kpis.py": "kpi_section"}


def test_the_sweep_reads_every_page_of_the_app() -> None:
    assert len(PAGES) == 8 and {"views/admin.py", "views/audit.py", "views/kpis.py"} <= set(PAGES)


def _raw_tables() -> None:
    import pandas as pd
    import streamlit as st

    frame = pd.DataFrame({"demand_qty": [1.0, None], "owner": ["ann", None], "note": ["None", "ok"]})
    st.dataframe(frame, key="raw")
    st.data_editor(frame, key="labelled", column_config={"demand_qty": "Demand", "owner": "Owner", "note": None},
                   placeholder="")


def test_the_sweep_finds_a_column_name_and_a_missing_value_word() -> None:
    at = AppTest.from_function(_raw_tables).run()
    raw = "table 0 (read_only)"
    assert table_problems(at) == [
        f"{raw}: header 'demand_qty'", f"{raw}: 'demand_qty' shows 'None'", f"{raw}: 'owner' shows 'None'",
        f"{raw}: 'note' shows 'None'",
    ]  # the editor: labelled, its empty cells blank, the column reading "None" hidden


@pytest.mark.slow
def test_no_table_on_any_page_shows_a_column_name_or_a_missing_value_word(app_env: str, demo_engine: Engine) -> None:
    # scenarios and a decision, so that the scenario list, the comparison and the decision log are drawn too
    cycle_id = cycle_service.cycle_by_month(demo_engine, "2026-11").id
    promo = scenarios.save_scenario(demo_engine, cycle_id, "Promo", lev.Levers(demand_change_pct=5), "demo", None)[0]
    scenarios.save_scenario(demo_engine, cycle_id, "No overtime", lev.Levers(overtime_allowed=False), "demo", None)
    decisions.add_decision(demo_engine, cycle_id, "Run the promo", "dana", None, "demo", scenario_id=promo)
    at = AppTest.from_file(app_env, default_timeout=240)
    at.run()
    seen: dict[str, int] = {}
    problems: list[str] = []
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
        tabs = [t.label for t in at.tabs] if page in TABS else [""]
        assert tabs, page  # a page in tabs draws them
        seen[page] = 0
        for tab in tabs:  # each tab of a page in tabs (only the open one is drawn)
            if tab:
                open_tab(at, TABS[page], tab)
            seen[page] += len(at.dataframe)
            problems += [f"{page} {tab}: {p}" for p in table_problems(at)]
    assert not problems, "\n".join(problems)
    assert all(seen.values()), seen  # every page shows tables
    assert sum(seen.values()) >= 30, seen
