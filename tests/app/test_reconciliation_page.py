"""Reconciliation page: the what-if levers move the figures; scenarios are saved, guarded and promoted; a signed
plan never changes from here."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pandas as pd
import pytest
from sqlalchemy import Engine, update
from streamlit.testing.v1 import AppTest

from sop_core import formatting
from sop_core.db import models as m
from sop_core.db import plan_repo
from sop_core.db.engine import make_engine, session_scope
from sop_core.planning import levers as lev
from sop_core.planning import scenario as sc
from sop_core.planning import scenario_result as scr
from sop_core.services import cycle as cycle_service
from sop_core.services import plan, scenarios, signoff
from sop_core.units import MAX_PICKER_OPTIONS


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


def open_page(app_env: str) -> AppTest:
    at = AppTest.from_file(app_env, default_timeout=90)
    at.switch_page("views/reconciliation.py").run()  # straight to the page (the default page is not needed)
    assert not at.exception, [e.message for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def test_demand_slider_moves_revenue_to_the_evaluated_value(shared_app_env: str, shared_engine: Engine) -> None:
    app_engine = shared_engine
    at = open_page(shared_app_env)
    assert at.title[0].value == "Reconciliation"
    cycle_id = cycle_service.list_cycles(app_engine)[0].id
    inputs = plan.scenario_inputs(app_engine, cycle_id)
    base = sc.evaluate(inputs, lev.Levers()).kpis
    up = sc.evaluate(inputs, lev.Levers(demand_change_pct=10)).kpis
    assert metrics(at)["Revenue"][0] == formatting.money(base["revenue"])
    assert metrics(at)["Fill rate (plan)"][0] == formatting.percent(base["fill_rate"])

    at.slider(key="demand_change_pct").set_value(10).run()
    assert not at.exception, [e.message for e in at.exception]
    shown = metrics(at)
    assert shown["Revenue"] == (formatting.money(up["revenue"]), "+" + formatting.money(up["revenue"] - base["revenue"]))
    assert shown["Revenue"][0] != formatting.money(base["revenue"])
    assert shown["Margin"][0] == formatting.money(up["margin"])
    assert shown["Inventory value"][0] == formatting.money(up["inventory_value_end"])
    assert shown["Fill rate (plan)"][0] == formatting.percent(up["fill_rate"])


def test_capacity_and_overtime_levers_show_the_gap_and_its_constraint(shared_app_env: str, shared_engine: Engine) -> None:
    app_engine = shared_engine
    at = open_page(shared_app_env)
    cycle_id = cycle_service.list_cycles(app_engine)[0].id
    inputs = plan.scenario_inputs(app_engine, cycle_id)
    resources = sorted(inputs.resources["resource"])
    base = sc.evaluate(inputs, lev.Levers()).kpis
    assert at.toggle(key="overtime_allowed").value is True
    assert at.selectbox(key="capacity_resource").value == "All resources"

    at.toggle(key="overtime_allowed").set_value(False).run()
    at.slider(key="capacity_change_pct").set_value(-40).run()
    assert not at.exception, [e.message for e in at.exception]
    levers = lev.Levers(overtime_allowed=False, capacity_changes={r: -40.0 for r in resources})
    cut = sc.evaluate(inputs, levers)
    shown = metrics(at)
    assert shown["Stockout units"][0] == formatting.quantity(cut.kpis["stockout_units"])
    assert shown["Stockout units"][0] != formatting.quantity(base["stockout_units"])
    assert shown["Fill rate (plan)"][0] == formatting.percent(cut.kpis["fill_rate"])
    assert shown["Overtime cost"][0] == formatting.money(0.0)
    assert shown["Margin"][0] == formatting.money(cut.kpis["margin"])
    # only the open tab is drawn: the gap chart and table show once their tab is opened, in the inventory chart's place
    def gap_charts() -> int:
        return sum('"Units short"' in c.proto.spec for c in at.get("plotly_chart"))

    charts = len(at.get("plotly_chart"))
    assert gap_charts() == 0 and not any("Binding constraint" in d.value.columns for d in at.dataframe)
    at.session_state["recon_tab"] = "Demand vs constrained supply"
    at.run()
    assert gap_charts() == 1 and len(at.get("plotly_chart")) == charts
    assert metrics(at)["Margin"][0] == formatting.money(cut.kpis["margin"])
    # the gap table names the binding resources, and the shadow prices say what an hour is worth
    gap = next(d.value for d in at.dataframe if "Binding constraint" in d.value.columns)
    assert any(c.startswith("capacity ") for c in gap["Binding constraint"])
    assert gap["Gap"].sum() == pytest.approx(
        scr.supply_gap(cut).query("shortage_qty > 0.5")["shortage_qty"].sum()
    )
    assert any("One more hour on" in md.value for md in at.markdown)

    # one resource only: the slider's change applies to the chosen resource
    at.selectbox(key="capacity_resource").set_value(resources[0]).run()
    one = sc.evaluate(inputs, lev.Levers(overtime_allowed=False, capacity_changes={resources[0]: -40.0}))
    assert metrics(at)["Margin"][0] == formatting.money(one.kpis["margin"])


def test_save_conflict_and_promote(app_env: str, app_engine: Engine) -> None:
    at = open_page(app_env)
    cycle_id = cycle_service.list_cycles(app_engine)[0].id
    at.slider(key="demand_change_pct").set_value(5).run()
    at.text_input(key="scenario_name").input("Promo push").run()
    at.button(key="save_scenario").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert [s.value for s in at.success] == ["Saved scenario 'Promo push' (version 1)."]
    stored = scenarios.find_scenario(app_engine, cycle_id, "Promo push")
    assert stored is not None and stored.levers.demand_change_pct == 5 and stored.author == "demo"
    # the comparison table lists the saved scenario next to the baseline
    compare = at.dataframe[-1].value
    assert list(compare.columns) == ["Baseline", "Promo push", "Δ Promo push"]

    # someone else saves the same scenario meanwhile: the page's save is refused, the levers stay
    scenarios.save_scenario(app_engine, cycle_id, "Promo push", lev.Levers(demand_change_pct=-8), "dana", 1)
    at.slider(key="demand_change_pct").set_value(12).run()
    at.button(key="save_scenario").click().run()
    assert [e.value for e in at.error] and "scenario 'Promo push' was changed by dana" in at.error[0].value
    assert at.slider(key="demand_change_pct").value == 12
    assert scenarios.find_scenario(app_engine, cycle_id, "Promo push").levers.demand_change_pct == -8
    conflict = next(d.value for d in at.dataframe if "Changed by" in d.value.columns)
    assert conflict[["Changed by", "Their value", "Your value"]].values.tolist() == [
        ["dana", "demand_change_pct=-8.0", "demand_change_pct=12.0"]]
    at.button(key="reload_scenario").click().run()
    assert at.slider(key="demand_change_pct").value == -8
    assert any("Reloaded 'Promo push' (version 2, saved by dana)" in i.value for i in at.info)
    # dana saves again; this time the page saves its levers over hers
    scenarios.save_scenario(app_engine, cycle_id, "Promo push", lev.Levers(demand_change_pct=-9), "dana", 2)
    at.slider(key="demand_change_pct").set_value(6).run()
    at.button(key="save_scenario").click().run()
    at.button(key=f"scenario_save_{cycle_id}_save_mine").click().run()
    assert not at.exception, [e.message for e in at.exception]
    stored = scenarios.find_scenario(app_engine, cycle_id, "Promo push")
    assert (stored.levers.demand_change_pct, stored.author, stored.version) == (6, "demo", 4)

    at.button(key="promote").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "'Promo push' is now the proposed plan (version 1)" in at.success[0].value
    listed = next(d.value for d in at.dataframe if "Status" in d.value.columns)
    assert listed[["Scenario", "Status"]].values.tolist() == [["Promo push", "proposed"]]
    lines = plan.plan_lines(app_engine, cycle_id)
    expected = plan.evaluate_scenario(app_engine, stored.id)
    assert len(lines) == len(expected.lines)
    assert lines["revenue"].sum() == pytest.approx(expected.kpis["revenue"])

    # fiona promotes her scenario while the page shows Promo push as proposed: the page's promotion shows hers
    other, _ = scenarios.save_scenario(app_engine, cycle_id, "Lean", lev.Levers(demand_change_pct=-4), "fiona", None)
    plan.promote(app_engine, other, "fiona", plan.promotion_seen(app_engine, cycle_id))
    at.button(key="promote").click().run()
    conflict = next(d.value for d in at.dataframe if "Changed by" in d.value.columns)
    assert conflict[["What", "Changed by", "Their value", "Your value"]].values.tolist() == [
        ["proposed plan", "fiona", "scenario 'Lean'", "scenario 'Promo push'"]]
    assert plan.promotion_seen(app_engine, cycle_id).scenario_id == other
    at.button(key=f"promotion_{cycle_id}_save_mine").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert plan.promotion_seen(app_engine, cycle_id).scenario_id == stored.id
    assert set(plan.plan_lines(app_engine, cycle_id)["scenario_id"]) == {stored.id}


def test_meeting_mode_keeps_levers_and_hides_saving(shared_app_env: str) -> None:
    at = open_page(shared_app_env)
    at.session_state["meeting_mode"] = True
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.slider(key="demand_change_pct").value == 0
    keys = {b.key for b in at.button}
    assert "save_scenario" not in keys and "promote" not in keys


def test_the_levers_stay_as_moved_after_another_page(shared_app_env: str) -> None:
    """A run of another page drops the widgets' values: back on the page, the levers show what they showed (a
    slider left to itself would show its minimum, -30 %)."""
    at = open_page(shared_app_env)
    at.slider(key="demand_change_pct").set_value(10).run()
    at.slider(key="capacity_change_pct").set_value(-10.0).run()
    revenue = metrics(at)["Revenue"]
    at.switch_page("views/data.py").run()
    assert not at.exception, [e.message for e in at.exception]
    at.switch_page("views/reconciliation.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert (at.slider(key="demand_change_pct").value, at.slider(key="price_change_pct").value,
            at.slider(key="capacity_change_pct").value) == (10, 0, -10.0)
    assert at.toggle(key="overtime_allowed").value is True
    assert metrics(at)["Revenue"] == revenue


def test_compare_up_to_four_scenarios_side_by_side(app_env: str, app_engine: Engine) -> None:
    cycle_id = cycle_service.list_cycles(app_engine)[0].id
    saved = {
        "Promo": lev.Levers(demand_change_pct=10),
        "No overtime": lev.Levers(overtime_allowed=False),
        "Price up": lev.Levers(price_change_pct=5, price_elasticity=-1.5),
    }
    ids = {name: scenarios.save_scenario(app_engine, cycle_id, name, lev, "dana", None)[0] for name, lev in saved.items()}
    at = open_page(app_env)
    # the three saved scenarios are compared by default; the table has the baseline and a delta per scenario
    assert at.multiselect(key="compare_ids").value == list(ids.values())
    table = at.dataframe[-1].value
    assert list(table.columns) == [
        "Baseline",
        "Promo",
        "Δ Promo",
        "No overtime",
        "Δ No overtime",
        "Price up",
        "Δ Price up",
    ]
    inputs = plan.scenario_inputs(app_engine, cycle_id)
    base = sc.evaluate(inputs, lev.Levers()).kpis
    promo = sc.evaluate(inputs, saved["Promo"]).kpis
    assert table.loc["Revenue", "Promo"] == formatting.money(promo["revenue"])
    assert table.loc["Revenue", "Δ Promo"] == "+" + formatting.money(promo["revenue"] - base["revenue"])
    assert len(at.get("plotly_chart")) >= 3  # inventory profile + KPI bars + inventory per scenario
    # narrowing the choice narrows the table
    at.multiselect(key="compare_ids").set_value([ids["No overtime"]]).run()
    assert not at.exception, [e.message for e in at.exception]
    assert list(at.dataframe[-1].value.columns) == ["Baseline", "No overtime", "Δ No overtime"]


def test_a_loaded_scenario_keeps_every_lever_when_saved_again(app_env: str, app_engine: Engine) -> None:
    """Levers the widgets show one at a time (capacity per resource, disruption windows, SKU changes) survive."""
    cycle_id = cycle_service.list_cycles(app_engine)[0].id
    inputs = plan.scenario_inputs(app_engine, cycle_id)
    resources = sorted(inputs.resources["resource"].astype(str))
    suppliers = sorted(set(inputs.supplier_items["supplier"].astype(str)))
    sku = sorted(inputs.products["sku"].astype(str))[0]
    months = [p.strftime("%Y-%m") for p in inputs.periods]
    levers = lev.Levers(
        capacity_changes={resources[0]: 10.0, resources[1]: -20.0},
        supplier_disruptions={suppliers[0]: [months[0], months[1]], suppliers[1]: [months[3], months[4]]},
        sku_changes={sku: 15.0},
    )
    sid, _ = scenarios.save_scenario(app_engine, cycle_id, "Mixed levers", levers, "dana", None)
    at = AppTest.from_file(app_env, default_timeout=90)
    at.session_state["scenario_id"] = sid
    at.switch_page("views/reconciliation.py").run()
    assert not at.exception, [e.message for e in at.exception]
    # the widgets show the first capacity change and the first window; the rest is listed as kept
    assert at.selectbox(key="capacity_resource").value == resources[0]
    assert at.slider(key="capacity_change_pct").value == 10.0
    assert at.multiselect(key="disrupted_suppliers").value == [suppliers[0]]
    assert (at.selectbox(key="disruption_from").value, at.selectbox(key="disruption_to").value) == (
        months[0],
        months[1],
    )
    kept = " ".join(c.value for c in at.caption)
    assert f"{resources[1]} -20 %" in kept and f"{suppliers[1]} out {months[3]} … {months[4]}" in kept
    # the figures are those of every lever, the SKU change included
    shown = sc.evaluate(inputs, levers).kpis
    assert {m.label: m.value for m in at.metric}["Revenue"] == formatting.money(shown["revenue"])

    at.button(key="save_scenario").click().run()
    assert not at.exception, [e.message for e in at.exception]
    stored = scenarios.find_scenario(app_engine, cycle_id, "Mixed levers")
    assert stored.version == 2
    assert stored.levers.capacity_changes == levers.capacity_changes
    # the widget's window and the disruption kept aside are both saved as they were
    assert stored.levers.supplier_disruptions[suppliers[0]] == [months[0], months[1]]
    assert stored.levers.supplier_disruptions[suppliers[1]] == [months[3], months[4]]
    assert set(stored.levers.supplier_disruptions) == set(suppliers[:2])
    assert stored.levers.sku_changes == levers.sku_changes


def test_supplier_out_of_action_keeps_the_page_and_moves_the_figures(shared_app_env: str, shared_engine: Engine) -> None:
    """Picking a supplier out of action (the window's default months) re-plans: no error, every card and the Save
    button stay, and the cards show the plan of that outage."""
    cycle_id = cycle_service.list_cycles(shared_engine)[0].id
    inputs = plan.scenario_inputs(shared_engine, cycle_id)
    months = [p.strftime("%Y-%m") for p in inputs.periods]
    base = sc.evaluate(inputs, lev.Levers())
    supplier = base.supplier_units.idxmax()  # the supplier the baseline buys most from
    at = open_page(shared_app_env)
    at.multiselect(key="disrupted_suppliers").set_value([supplier]).run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    out = sc.evaluate(inputs, lev.Levers(supplier_disruptions={supplier: [months[0], months[2]]}))
    shown = metrics(at)
    assert shown["Revenue"][0] == formatting.money(out.kpis["revenue"])
    assert shown["Fill rate (plan)"][0] == formatting.percent(out.kpis["fill_rate"])
    assert len(at.metric) == 10 and at.button(key="save_scenario") is not None
    # the outage months buy nothing from it, and the horizon buys no more from it than the baseline
    bought = out.purchases[out.purchases["supplier"] == supplier]
    window = pd.DatetimeIndex(bought["period"]).strftime("%Y-%m")
    assert not ((window >= months[0]) & (window <= months[2])).any()
    assert out.supplier_units.get(supplier, 0.0) <= base.supplier_units[supplier] + 1e-6
    # a window picked the wrong way round is read as the months between the two
    at.selectbox(key="disruption_from").set_value(months[2]).run()
    at.selectbox(key="disruption_to").set_value(months[0]).run()
    assert not at.exception and not at.error
    assert metrics(at)["Revenue"][0] == formatting.money(out.kpis["revenue"])


def _open_cycle(app_env: str, month: str, **session: object) -> AppTest:
    at = AppTest.from_file(app_env, default_timeout=90)
    at.session_state["cycle_month"] = month
    for key, value in session.items():
        at.session_state[key] = value
    at.switch_page("views/reconciliation.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_a_signed_cycle_keeps_its_plan_a_promotion_makes_a_new_version(app_env: str, app_engine: Engine) -> None:
    """2026-10 is signed: the page says so; the proposed scenario cannot be saved over; promoting makes v2."""
    oct_id = cycle_service.cycle_by_month(app_engine, "2026-10").id
    with session_scope(app_engine) as s:
        signed_lines = plan_repo.plan_lines(s, oct_id, 1)
        signed_sid = plan_repo.plan_scenario_id(s, oct_id, 1)
    signed = plan.load_scenario(app_engine, signed_sid)

    # the scenario behind the signed plan, loaded from the sidebar: its levers cannot be saved over
    at = _open_cycle(app_env, "2026-10", scenario_id=signed_sid)
    assert ("Cycle 2026-10 is signed off: plan version 1 is frozen. Promoting a scenario starts plan version 2 "
            "and reopens the cycle; the signed version stays as it is.") in [i.value for i in at.info]
    at.slider(key="demand_change_pct").set_value(20).run()
    at.button(key="save_scenario").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(f"scenario '{signed.name}' is the proposed plan of this cycle and stays as promoted" in e.value
               for e in at.error)
    assert plan.load_scenario(app_engine, signed_sid).levers == signed.levers

    # a new scenario can be saved and promoted: it becomes version 2, version 1 stays as signed
    at.text_input(key="scenario_name").input("After sign-off").run()
    at.button(key="save_scenario").click().run()
    assert [s.value for s in at.success] == ["Saved scenario 'After sign-off' (version 1)."]
    new_sid = scenarios.find_scenario(app_engine, oct_id, "After sign-off").id
    at.selectbox(key="promote_choice").set_value(new_sid).run()
    at.button(key="promote").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "'After sign-off' is now the proposed plan (version 2)" in at.success[0].value
    info = cycle_service.cycle_info(app_engine, oct_id)
    assert (info.status, info.plan_version) == ("reconciliation", 2)
    assert signoff.is_frozen(app_engine, oct_id, 1) and not signoff.is_frozen(app_engine, oct_id, 2)
    with session_scope(app_engine) as s:
        pd.testing.assert_frame_equal(signed_lines, plan_repo.plan_lines(s, oct_id, 1))
        assert plan_repo.plan_lines(s, oct_id, 2)["revenue"].sum() == pytest.approx(
            plan.evaluate_scenario(app_engine, new_sid).kpis["revenue"])
    assert plan.load_scenario(app_engine, signed_sid).levers == signed.levers


def test_a_closed_cycle_offers_no_promotion(app_env: str, app_engine: Engine) -> None:
    """2026-09 is closed: the page says so and the promote button is disabled; its plan stays as signed."""
    sep_id = cycle_service.cycle_by_month(app_engine, "2026-09").id
    with session_scope(app_engine) as s:
        signed_lines = plan_repo.plan_lines(s, sep_id, 1)
    at = _open_cycle(app_env, "2026-09")
    assert ("Cycle 2026-09 is closed: its signed plan (version 1) cannot change. The levers and saved scenarios "
            "are for exploring only.") in [i.value for i in at.info]
    assert at.button(key="promote").disabled
    assert not at.button(key="save_scenario").disabled  # exploring stays possible

    # a cycle closed while the page is open: the promotion is refused with one line, not an exception
    oct_id = cycle_service.cycle_by_month(app_engine, "2026-10").id
    at = _open_cycle(app_env, "2026-10")
    assert not at.button(key="promote").disabled
    cycle_service.advance(app_engine, oct_id, "closed", "eric")
    at.button(key="promote").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert [e.value for e in at.error] == ["cycle 2026-10 is closed: its plan cannot change"]
    for cycle_id in (sep_id, oct_id):
        info = cycle_service.cycle_info(app_engine, cycle_id)
        assert (info.status, info.plan_version) == ("closed", 1)
    with session_scope(app_engine) as s:
        pd.testing.assert_frame_equal(signed_lines, plan_repo.plan_lines(s, sep_id, 1))
        assert plan_repo.plan_line_count(s, oct_id, 2) == 0


def test_an_override_saved_in_demand_review_shows_at_once(app_env: str, app_engine: Engine) -> None:
    # the scenario inputs are cached; a consensus change (an override on Demand review) must not wait for
    # the cache to expire: the page reloads them and its revenue is the evaluated revenue of the new consensus
    from sop_core.services import overrides

    at = open_page(app_env)
    cycle_id = cycle_service.list_cycles(app_engine)[0].id
    before = sc.evaluate(plan.scenario_inputs(app_engine, cycle_id), lev.Levers()).kpis["revenue"]
    assert metrics(at)["Revenue"][0] == formatting.money(before)
    grid = overrides.override_grid(app_engine, cycle_id, "total", "Total")
    first = pd.Timestamp(grid["period"].iloc[0])
    edits = pd.DataFrame({"period": [first], "value": [None], "pct": [25.0], "reason": ["promotion"], "comment": [""]})
    overrides.save_overrides(app_engine, cycle_id, "total", "Total", edits, "dana", {first: grid["version"].iloc[0]})
    after = sc.evaluate(plan.scenario_inputs(app_engine, cycle_id), lev.Levers()).kpis["revenue"]
    assert after > before
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert metrics(at)["Revenue"][0] == formatting.money(after)


def test_a_change_of_the_data_shows_at_the_next_run(app_env: str, app_engine: Engine) -> None:
    """The plan inputs are shared between runs, sessions and pages (a cache keyed on the data they are read from):
    stock counted again, changed in place, shows at this session's next run."""
    at = open_page(app_env)
    before = metrics(at)["Inventory value"][0]
    with session_scope(app_engine) as s:
        s.execute(update(m.Inventory).values(on_hand=m.Inventory.on_hand * 2))
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    cycle_id = cycle_service.list_cycles(app_engine)[0].id
    now = sc.evaluate(plan.scenario_inputs(app_engine, cycle_id), lev.Levers()).kpis
    assert metrics(at)["Inventory value"][0] == formatting.money(now["inventory_value_end"])
    assert metrics(at)["Inventory value"][0] != before


def test_a_sku_change_is_picked_by_search_and_added(shared_app_env: str, shared_engine: Engine) -> None:
    """The SKU change picker lists only the SKUs matching the search (at most MAX_PICKER_OPTIONS, however many the
    cycle has); the SKU added with its % is planned, and can be edited in the table below."""
    at = open_page(shared_app_env)
    cycle_id = cycle_service.list_cycles(shared_engine)[0].id
    inputs = plan.scenario_inputs(shared_engine, cycle_id)
    skus = sorted(inputs.products["sku"].astype(str))
    assert len(at.selectbox(key="sku_change_pick").options) == min(len(skus), MAX_PICKER_OPTIONS)
    sku = skus[-1]
    at.text_input(key="sku_change_pick_search").input(sku).run()
    assert at.selectbox(key="sku_change_pick").options == [sku]
    at.number_input(key="sku_change_pct").set_value(25.0)
    at.button(key="sku_change_add").click().run()
    assert not at.exception, [e.message for e in at.exception]
    added = sc.evaluate(inputs, lev.Levers(sku_changes={sku: 25.0})).kpis
    assert metrics(at)["Revenue"][0] == formatting.money(added["revenue"])
