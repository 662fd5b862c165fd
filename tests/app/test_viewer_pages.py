"""A viewer signed in sees every page and no edit control: no button that writes, no editable table, no upload.

A probe found the browser letting a viewer import, override, save and promote a scenario, log and rewrite
decisions, move the cycle and run the monitor; the services refuse those now (tests/db/test_permissions.py), and
the pages do not offer them.
"""

from __future__ import annotations

import pytest
import screen
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from sop_core.planning import levers as lev
from sop_core.services import cycle as cycle_service
from sop_core.services import scenarios, users

PW = "Quiet-Harbour-Lantern-42"
#: The keys of every button that writes something.
EDIT_BUTTONS = {
    "demand_run", "demand_save", "demand_rerun", "data_validate", "data_commit", "save_scenario", "reload_scenario",
    "promote", "decision_add", "outcome_save", "cycle_advance", "new_version", "kpi_save_targets", "kpi_run_monitor",
    "signoff_demand_planner", "signoff_supply_planner", "signoff_finance", "signoff_executive",
}
#: The what-if lever tables of Reconciliation: exploring changes nothing stored, so every role may use them (saving
#: the levers as a scenario needs ``scenario_save``).
EXPLORATION_EDITORS = ("family_editor_", "sku_editor_")
PAGES = ["views/demand.py", "views/data.py", "views/supply.py", "views/reconciliation.py", "views/executive.py",
         "views/kpis.py"]

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


def _signed_in(app: str, username: str) -> AppTest:
    at = AppTest.from_file(app, default_timeout=180)
    at.run()
    at.text_input(key="sign_in_user").input(username)
    at.text_input(key="sign_in_password").input(PW)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.fixture
def team_app(app_env: str, demo_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> str:
    """The app in team mode on a demo copy with a viewer ``vic`` and a supply planner ``sam.s``."""
    users.add_user(demo_engine, "demo", "vic", "viewer", password=PW)
    users.add_user(demo_engine, "demo", "sam.s", "supply_planner", password=PW)
    monkeypatch.setenv("SOP_AUTH", "on")
    return app_env


def _edit_controls(at: AppTest) -> dict[str, list[str]]:
    return {
        "buttons": sorted(b.key for b in at.button if b.key in EDIT_BUTTONS and not b.disabled),
        "editable tables": [e.key or "?" for e in at.data_editor
                            if not e.proto.disabled and not str(e.key).startswith(EXPLORATION_EDITORS)],
        "uploads": [str(u.key) for u in at.get("file_uploader")],
        "text inputs": [t.key or "?" for t in at.text_input if not str(t.key).endswith("_search")],  # search: reads
    }


@pytest.mark.slow
def test_a_viewer_sees_no_edit_control_on_any_page(team_app: str) -> None:
    at = _signed_in(team_app, "vic")
    assert any("Signed in as **vic** (viewer)" in c.value for c in at.sidebar.caption)
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
        assert _edit_controls(at) == {"buttons": [], "editable tables": [], "uploads": [], "text inputs": []}, page
    supply_tabs = {"Projected inventory": "Projected inventory", "Suppliers": "Supplier performance",
                   "Replenishment": "Replenishment proposals"}  # tab → its first heading
    for tab, heading in supply_tabs.items():  # the Supply review draws its open tab only
        at.switch_page("views/supply.py").run()
        screen.open_tab(at, "supply_section", tab)
        assert [h.value for h in at.subheader] == [heading], tab  # that tab was drawn, and only it
        assert _edit_controls(at) == {"buttons": [], "editable tables": [], "uploads": [], "text inputs": []}, tab
    for tab in ("Targets", "Exceptions", "Inventory policy"):  # so do the KPIs: the targets editor, the monitor's run
        at.switch_page("views/kpis.py").run()
        screen.open_tab(at, "kpi_section", tab)
        assert tab in [h.value for h in at.subheader], tab  # the tab was drawn
        assert _edit_controls(at) == {"buttons": [], "editable tables": [], "uploads": [], "text inputs": []}, tab
        if tab == "Targets":  # the targets editor is drawn, read-only
            assert [(e.key, e.proto.disabled) for e in at.data_editor] == [("kpi_target_editor_all", True)]
    at.switch_page("views/demand.py").run()
    assert any("Overrides are read-only for you" in i.value for i in at.info)
    at.switch_page("views/data.py").run()
    assert any("Importing data needs a planner or an admin (you are viewer)" in i.value for i in at.info)


@pytest.mark.slow
def test_a_supply_planner_sees_the_controls_of_their_role_only(team_app: str, demo_engine: Engine) -> None:
    cycle_id = cycle_service.cycle_by_month(demo_engine, "2026-11").id
    scenarios.save_scenario(demo_engine, cycle_id, "Prepared", lev.Levers(demand_change_pct=3), "dana", None)
    at = _signed_in(team_app, "sam.s")
    at.switch_page("views/demand.py").run()
    assert _edit_controls(at)["buttons"] == [] and _edit_controls(at)["editable tables"] == []  # no override
    at.switch_page("views/data.py").run()
    assert [str(u.key) for u in at.get("file_uploader")] == ["data_uploads"]  # a planner imports
    at.switch_page("views/reconciliation.py").run()
    assert {"save_scenario", "promote"} <= {b.key for b in at.button}
    at.switch_page("views/executive.py").run()
    signoffs = [b.key for b in at.button if b.key and b.key.startswith("signoff_")]
    assert signoffs == ["signoff_supply_planner"]  # their own role's only (disabled until the demand planner signs)
    assert at.button(key="signoff_supply_planner").disabled
    at.switch_page("views/kpis.py").run()  # a planner changes KPI targets and runs the monitor, each in its tab
    screen.open_tab(at, "kpi_section", "Targets")
    assert _edit_controls(at)["buttons"] == ["kpi_save_targets"]
    assert _edit_controls(at)["editable tables"] == ["kpi_target_editor_all"]
    screen.open_tab(at, "kpi_section", "Exceptions")
    assert _edit_controls(at)["buttons"] == ["kpi_run_monitor"]
