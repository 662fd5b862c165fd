"""Executive review page: headline figures, plan diff, decisions with outcomes, sign-off, meeting mode."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator

import numpy as np
import pytest
import screen
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from sop_core import formatting
from sop_core.config import CURRENCY
from sop_core.db.engine import make_engine
from sop_core.planning import levers as lev
from sop_core.services import cycle as cycle_service
from sop_core.services import decisions, plan, plan_changes, scenarios, signoff
from sop_core.services import executive as executive_service
from sop_core.units import SIGNOFF_ROLES


@pytest.fixture
def app_engine(app_env: str) -> Iterator[Engine]:  # noqa: ARG001 - app_env points SOP_DATABASE_URL at the demo copy
    eng = make_engine(os.environ["SOP_DATABASE_URL"])
    yield eng
    eng.dispose()


@pytest.fixture
def shared_engine(shared_app_env: str) -> Iterator[Engine]:  # noqa: ARG001 - points SOP_DATABASE_URL at the shared demo
    """The shared demo database, for the tests that only read it."""
    eng = make_engine(os.environ["SOP_DATABASE_URL"])
    yield eng
    eng.dispose()


def open_page(app_env: str, meeting: bool = False, straight: bool = False) -> AppTest:
    """The page, opened from the default page; ``straight`` opens it alone (no sidebar: for a test that does
    not use it, on a database of its own where the default page would be drawn from cold caches first)."""
    at = AppTest.from_file(app_env, default_timeout=90)
    if not straight:
        at.run()
    if meeting:
        at.toggle(key="meeting_mode").set_value(True).run()
    at.switch_page("views/executive.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.mark.slow
def test_headline_diff_decisions_and_sign_off_by_every_role(app_env: str, app_engine: Engine) -> None:
    cycle_id = cycle_service.cycle_by_month(app_engine, "2026-11").id
    sid, _ = scenarios.save_scenario(app_engine, cycle_id, "Board case", lev.Levers(demand_change_pct=5), "dana", None)
    plan.promote(app_engine, sid, "fiona", plan.promotion_seen(app_engine, plan.load_scenario(app_engine, sid).cycle_id))
    head = executive_service.headline(app_engine, cycle_id)

    at = open_page(app_env, straight=True)
    assert at.title[0].value == "Executive review"
    assert any(c.value.startswith("Proposed plan **Board case** · plan version 1") for c in at.caption)
    shown = {m.label: (m.value, m.delta, m.proto.delta_description) for m in at.metric}
    assert shown["Revenue"] == (formatting.money(head["revenue"]), formatting.money(head["budget_gap"]), "vs budget")
    # both cards compare with the budget (the demo budgets margin); the last-plan comparison is in the caption
    assert head["budget_margin"] is not None
    assert shown["Margin"] == (formatting.money(head["margin"]), formatting.money(head["margin_vs_budget"]), "vs budget")
    assert any(c.value.startswith(f"Vs last plan {head['last_plan_label']}") for c in at.caption)
    assert shown["Fill rate (plan)"][0] == formatting.percent(head["fill_rate"])
    assert shown["Inventory value"][0] == formatting.money(head["inventory_value_end"])
    assert shown["Capacity risks"][0] == str(head["capacity_risks"])
    # past decisions of 2026-06, 2026-09 and 2026-10, each with planned and actual revenue
    past = next(d.value for d in at.dataframe if f"Actual revenue ({CURRENCY})" in d.value.columns)
    assert sorted(past["Cycle"].unique()) == ["2026-06", "2026-09", "2026-10"]
    assert past[f"Actual revenue ({CURRENCY})"].notna().all()
    # record the outcome of the 2026-09 shift decision
    by_text = decisions.past_decisions(app_engine, cycle_id).set_index("decision")["id"]
    # (the form's fields are filled, then the click sends them with it in one run, as from the browser)
    at.selectbox(key="outcome_decision").set_value(int(by_text["Add a Saturday shift on the sewing line in November"]))
    at.selectbox(key="outcome_status").set_value("done")
    at.text_input(key="outcome_text").input("Shift added from 7 November")
    at.button(key="outcome_save").click().run()
    assert [s.value for s in at.success] == ["Outcome saved."]
    stored = decisions.past_decisions(app_engine, cycle_id).set_index("decision")
    assert stored.loc["Add a Saturday shift on the sewing line in November", ["status", "outcome"]].tolist() == [
        "done", "Shift added from 7 November"]
    # a decision of a signed cycle keeps the outcome recorded first: eric (an executive) records the price
    # decision's outcome while the page shows it open; the page's save is refused with his outcome named, and his
    # stays; neither recorded outcome is offered again
    hold = int(by_text["Hold the 2 % price increase through December"])
    decisions.update_decision(app_engine, hold, "dropped", "Competitors cut prices", "eric", 1)
    at.selectbox(key="outcome_decision").set_value(hold)
    at.selectbox(key="outcome_status").set_value("done")
    at.text_input(key="outcome_text").input("Held until January")
    at.button(key="outcome_save").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert [e.value for e in at.error] == [
        f"decision {hold} of the signed cycle 2026-10 has its outcome recorded (dropped: Competitors cut prices); "
        "it is not rewritten: log a follow-up decision"]
    assert not any("Changed by" in d.value.columns for d in at.dataframe)  # nothing to save over
    shift = int(by_text["Add a Saturday shift on the sewing line in November"])
    assert at.selectbox(key="outcome_decision").options == [
        "[2026-10] Pre-build Black Friday stock: cover 1.2 months",
        "[2026-06] Review the kettle and toaster range with the key accounts"]
    stored = decisions.past_decisions(app_engine, cycle_id).set_index("id")
    assert stored.loc[hold, ["status", "outcome", "updated_by", "version"]].tolist() == [
        "dropped", "Competitors cut prices", "eric", 2]
    assert stored.loc[shift, ["status", "outcome", "updated_by", "version"]].tolist() == [
        "done", "Shift added from 7 November", "demo", 2]
    # log a decision linked to the proposed scenario
    at.text_input(key="decision_text").input("Approve the Board case")
    at.text_input(key="decision_owner").input("eric")
    at.selectbox(key="decision_scenario").set_value(sid)
    at.button(key="decision_add").click().run()
    assert [s.value for s in at.success] == ["Decision logged."]
    log = decisions.decisions(app_engine, cycle_id)
    assert log[["decision", "owner", "scenario"]].values.tolist() == [["Approve the Board case", "eric", "Board case"]]
    # sign off in the cycle's order, each role by a demo user of that role; the last one freezes the version
    for role, who in zip(SIGNOFF_ROLES, ("dana", "sam", "fiona", "eric"), strict=True):
        at.session_state["username"] = who
        at.run()
        assert [b.key for b in at.button if b.key and b.key.startswith("signoff_")] == [f"signoff_{role}"], who
        at.button(key=f"signoff_{role}").click().run()
        assert not at.exception, [e.message for e in at.exception]
    assert at.success[0].value == ("Signed off as Executive. Every role has signed: the plan version is frozen.")
    signed = signoff.signoff_status(app_engine, cycle_id)
    assert signed[["role", "username"]].values.tolist() == [
        ["demand_planner", "dana"], ["supply_planner", "sam"], ["finance", "fiona"], ["executive", "eric"]]
    assert cycle_service.cycle_info(app_engine, cycle_id).status == "signed"
    assert signoff.is_frozen(app_engine, cycle_id)
    assert not any(b.key and b.key.startswith("signoff_") for b in at.button)  # nothing left to sign


def test_meeting_mode_has_no_editing_controls(shared_app_env: str) -> None:
    at = open_page(shared_app_env, meeting=True)
    keys = {b.key for b in at.button}
    assert not any(k and k.startswith("signoff_") for k in keys)
    assert "decision_add" not in keys and "cycle_advance" not in keys
    assert [t.key for t in at.text_input] == []
    assert {m.label for m in at.metric} >= {"Revenue", "Margin", "Fill rate (plan)", "Inventory value", "Capacity risks"}
    assert screen.bare_service_terms(screen.texts(at)) == []  # the fill rate says it is the plan's
    assert "prepare_exports" in keys  # the meeting pack stays downloadable
    # choosing the plans to compare changes nothing stored: the pickers stay, on the default pair
    assert (at.selectbox(key="diff_before").value, at.selectbox(key="diff_after").value) == ("2026-10:v1",
                                                                                            "2026-11:v1")
    assert waterfall(at)["title"] == "Revenue: 2026-10 v1 → 2026-11 v1"


def test_sign_off_without_a_plan_is_refused(shared_app_env: str, shared_engine: Engine) -> None:
    app_engine = shared_engine  # the refused sign-off writes nothing
    at = open_page(shared_app_env)
    assert "No proposed plan yet" in at.warning[0].value
    # sign-offs follow the cycle: only the demand planner's button is enabled, and it is refused without a plan
    assert [b.key for b in at.button if b.key and b.key.startswith("signoff_") and not b.disabled] == [
        "signoff_demand_planner"]
    at.button(key="signoff_demand_planner").click().run()
    assert "no proposed plan" in at.error[0].value and "promote a scenario" in at.error[0].value
    cycle_id = cycle_service.cycle_by_month(app_engine, "2026-11").id
    assert signoff.signoffs(app_engine, cycle_id).empty


def _numbers(value: object) -> list[float]:
    """A plotly array as sent to the browser (plain list or base64 typed buffer)."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"])).tolist()
    return [float(v) for v in value]


def waterfall(at: AppTest) -> dict[str, object]:
    """The plan-diff waterfall on screen: its title, step labels, values and value texts."""
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        trace = spec["data"][0]
        if trace.get("type") == "waterfall":
            return {"title": spec["layout"]["title"]["text"], "x": list(trace["x"]), "y": _numbers(trace["y"]),
                    "text": list(trace["text"])}
    raise AssertionError("no waterfall chart on the page")


def diff_table(at: AppTest) -> object:
    return next(d.value for d in at.dataframe if "New actuals" in d.value.columns)


def test_plan_diff_between_two_chosen_plans(shared_app_env: str, shared_engine: Engine) -> None:
    app_engine = shared_engine
    sep, oct_, nov = (cycle_service.cycle_by_month(app_engine, m).id for m in ("2026-09", "2026-10", "2026-11"))
    at = open_page(shared_app_env)
    before, after = at.selectbox(key="diff_before"), at.selectbox(key="diff_after")
    assert before.label == "Compare" and after.label == "with"
    assert before.options == after.options == plan_changes.diff_choices(app_engine)["label"].tolist()
    assert before.options[:3] == ["2026-11 v1 (demand review, baseline)", "2026-10 v1 (signed)", "2026-09 v1 (signed)"]
    # default: the last signed plan (2026-10 v1) → the current plan of the sidebar's cycle
    assert (before.value, after.value) == ("2026-10:v1", "2026-11:v1")
    default = plan_changes.plan_diff(app_engine, (nov, 1), (oct_, 1))
    shown = waterfall(at)
    assert shown["title"] == "Revenue: 2026-10 v1 → 2026-11 v1"
    assert shown["y"] == pytest.approx(default.waterfall["value"].tolist())
    assert any(c.value.startswith(f"Total change {formatting.money(default.total_change)}: 2026-10 v1 ")
               for c in at.caption)

    # September's signed plan against October's: another title, other parts, another table
    at.selectbox(key="diff_before").set_value("2026-09:v1").run()
    at.selectbox(key="diff_after").set_value("2026-10:v1").run()
    assert not at.exception, [e.message for e in at.exception]
    chosen = plan_changes.plan_diff(app_engine, (oct_, 1), (sep, 1))
    shown = waterfall(at)
    assert shown["title"] == "Revenue: 2026-09 v1 → 2026-10 v1"
    assert shown["x"] == ["Before", "New actuals", "Statistical forecast", "Overrides", "Price", "Capacity",
                          "Scenario levers", "After"]
    assert shown["y"] == pytest.approx(chosen.waterfall["value"].tolist())
    marks = {"absolute": "", "total": ""}  # a rise ▲, a fall ▼ besides its colour
    assert shown["text"] == [f"{marks.get(k, '▲ ' if v >= 0 else '▼ ')}{formatting.money(v)}"
                             for v, k in zip(chosen.waterfall["value"], chosen.waterfall["kind"], strict=True)]
    # the parts add up to the total change, September's actuals included
    assert sum(shown["y"][1:-1]) == pytest.approx(shown["y"][-1] - shown["y"][0], rel=1e-9)
    assert chosen.waterfall.set_index("step").loc["new_actuals", "value"] != 0
    assert any(c.value.startswith(f"Total change {formatting.money(chosen.total_change)}: 2026-09 v1 ")
               for c in at.caption)
    table = diff_table(at)
    expected = chosen.by("family")
    change = f"Change ({CURRENCY})"
    assert table["Family"].tolist() == expected["family"].tolist()
    assert table[change].tolist() == pytest.approx(expected["change"].tolist())
    assert table["New actuals"].tolist() == pytest.approx(expected["new_actuals"].tolist())
    assert table[change].sum() == pytest.approx(chosen.total_change)
    assert chosen.total_change != pytest.approx(default.total_change)

    # the oldest cycle has no earlier signed plan: the page asks for one
    oldest = plan_changes.diff_choices(app_engine)["month"].iloc[-1]
    at.selectbox(key="cycle_month").set_value(oldest).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="diff_before").value is None
    assert at.selectbox(key="diff_after").value == f"{oldest}:v1"
    assert "No earlier signed plan to compare with: choose the plan to compare above." in [i.value for i in at.info]


def test_a_change_by_another_user_shows_at_the_next_run(app_env: str, app_engine: Engine) -> None:
    """The review is shared between runs and sessions (a cache keyed on what it reads): a decision logged and a
    scenario promoted elsewhere show at this session's next run."""
    cycle_id = cycle_service.cycle_by_month(app_engine, "2026-11").id
    at = open_page(app_env, straight=True)
    assert not any(c.value.startswith("Proposed plan **Elsewhere**") for c in at.caption)
    sid, _ = scenarios.save_scenario(app_engine, cycle_id, "Elsewhere", lev.Levers(demand_change_pct=-5), "sam", None)
    plan.promote(app_engine, sid, "sam", plan.promotion_seen(app_engine, plan.load_scenario(app_engine, sid).cycle_id))
    decisions.add_decision(app_engine, cycle_id, "Logged elsewhere", "sam", None, "sam")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(c.value.startswith("Proposed plan **Elsewhere**") for c in at.caption)
    log = next(d.value for d in at.dataframe if "Decision" in d.value.columns and "Due date" in d.value.columns)
    assert "Logged elsewhere" in log["Decision"].tolist()
    head = executive_service.headline(app_engine, cycle_id)
    assert {m.label: m.value for m in at.metric}["Revenue"] == formatting.money(head["revenue"])
