"""KPIs page: cards, traffic lights, targets and the exception list show exactly what the services compute; only the
open tab (Trends, Targets, Exceptions, Inventory policy) is drawn, under the cards."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import screen
from streamlit.testing.v1 import AppTest

from sop_core import formatting
from sop_core.db.engine import make_engine
from sop_core.planning import segmentation
from sop_core.services import inventory_policy as policy_service
from sop_core.services import kpi as kpi_service
from sop_core.services import kpi_targets as targets_service
from sop_core.services import monitor as monitor_service
from sop_core.services import policy_backtest as backtest_service
from sop_core.units import DAYS_PER_MONTH

LIGHT = {"green": ":green[✔]", "amber": ":orange[▲]", "red": ":red[✖]", "grey": ":gray[○]"}
WORD = {"green": "on target", "amber": "watch", "red": "off target", "grey": "no data"}
SYMBOL = {"green": "✔", "amber": "▲", "red": "✖", "grey": "○"}
#: The key of the page's tabs (and the query parameter naming the open one).
SECTION = "kpi_section"
TABS = ["Trends", "Targets", "Exceptions", "Inventory policy"]


def _cards(at: AppTest) -> dict[str, object]:
    return {m.label.split(" ", 1)[1]: m for m in at.metric if m.label.split(" ", 1)[0] in LIGHT.values()}


def test_kpi_cards_lights_and_exceptions_equal_the_services(app_env: str, demo_url: str) -> None:
    engine = make_engine(demo_url)
    try:
        targets_service.save_kpi_targets(
            engine, "all", targets_service.kpi_targets(engine).reset_index().loc[[1]].assign(target=70.0), "demo"
        )  # OTIF target 70 % for all SKUs
        monitor_service.run_monitor(engine, user="sam", today=dt.date(2026, 11, 25))
        summary = kpi_service.kpi_summary(engine)
        exceptions = monitor_service.exception_list(engine)
        segment_a = kpi_service.kpi_summary(engine, segment="abc:A")
    finally:
        engine.dispose()

    at = AppTest.from_file(app_env, default_timeout=120)
    at.switch_page("views/kpis.py").run()  # straight to the page: the default page is not needed here
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "KPIs"

    cards = _cards(at)
    assert list(cards) == summary["kpi"].tolist()  # ten KPIs, in the service's order
    for key, row in summary.iterrows():
        card = cards[row["kpi"]]
        assert card.label == f"{LIGHT[row['status']]} {row['kpi']}", key
        assert card.value == formatting.kpi_value(row["value"], row["unit"]), key
        assert card.delta == formatting.kpi_gap(row["gap"], row["unit"]), key
        assert card.proto.delta_description == f"target {formatting.kpi_value(row['target'], row['unit'])}", key
        assert card.proto.help.startswith(f"**{SYMBOL[row['status']]} {WORD[row['status']]}.** "), key
    # the demo company: real numbers, the stored OTIF target of 70 % (76.2 % meets it → green), 6 stockouts → red
    assert all(cards[label].value != "–" for label in ("Fill rate (projected)", "OTIF", "Inventory turns", "Days of supply"))
    assert cards["OTIF"].label == ":green[✔] OTIF"
    assert cards["OTIF"].proto.delta_description == "target 70.0 %"
    assert cards["Stockouts"].label.startswith(":red[✖]")
    # supplier reliability is measured against the OTIF target: its card says so, with the target now stored
    assert "Measured against the OTIF target, now 70.0 %" in cards["Supplier reliability"].proto.help

    screen.open_tab(at, SECTION, "Targets")
    assert list(_cards(at)) == summary["kpi"].tolist()  # the cards stay over every tab
    targets = next(d.value for d in at.dataframe if "tolerance" in d.value.columns)  # the editor: contract names
    assert targets["target"].tolist()[:2] == [95.0, 70.0]
    assert targets["source"].tolist()[:2] == ["default", "all"]

    table = next(d.value for d in screen.open_tab(at, SECTION, "Exceptions").dataframe if "Finding" in d.value.columns)
    assert len(table) == len(exceptions) > 0
    assert table["SKU"].tolist() == exceptions["sku"].tolist()
    assert table["Proposed action"].tolist() == exceptions["action"].tolist()
    assert {"Reorder point breach", "Supplier OTIF"} <= set(table["Type"]) <= set(monitor_service.KIND_LABELS.values())

    # drill-down: the first SKU with an exception, its policy numbers as the service computes them
    drill = at.selectbox(key="kpi_drill_sku")
    assert drill.value == exceptions["sku"].iloc[0]
    engine = make_engine(demo_url)
    try:
        detail = kpi_service.sku_detail(engine, drill.value)
    finally:
        engine.dispose()
    shown = {m.label: m.value for m in at.metric}
    assert shown["Reorder point"] == f"{detail.policy['reorder_point']:,.0f}"
    assert shown["On hand"] == f"{detail.policy['on_hand']:,.0f}"

    # another segment: the cards follow it
    at.selectbox(key="kpi_segment").set_value("abc:A").run()
    assert not at.exception, [e.message for e in at.exception]
    cards = _cards(at)
    for _key, row in segment_a.iterrows():
        assert cards[row["kpi"]].value == formatting.kpi_value(row["value"], row["unit"])


def test_kpis_page_shows_the_inventory_policy_section(shared_app_env: str, shared_demo_url: str) -> None:
    """The real page (not the section alone): ABC/XYZ matrix, safety stock and reorder points, the frontier."""
    with screen.current_cycle(shared_demo_url) as (engine, cycle):
        policy = policy_service.inventory_policy(engine, cycle.id)
        frontier = backtest_service.service_frontier(engine, cycle.id)

    at = AppTest.from_file(shared_app_env, default_timeout=180)
    at.switch_page("views/kpis.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "KPIs"
    screen.open_tab(at, SECTION, "Inventory policy")
    assert "Inventory policy" in [h.value for h in at.subheader]

    counts = segmentation.abc_xyz_matrix(policy)
    matrix = next(d.value for d in at.dataframe if list(d.value.columns) == ["X", "Y", "Z"])
    pd.testing.assert_frame_equal(matrix, counts, check_names=False)
    assert int(matrix.to_numpy().sum()) == len(policy)
    heat = screen.figure(at, trace_type="heatmap")["data"][0]
    assert np.array(heat["z"]).tolist() == counts.to_numpy().tolist()

    table = next(d.value for d in at.dataframe if "Reorder point" in d.value.columns).set_index("SKU")
    expected = policy.set_index("sku")
    assert sorted(table.index) == sorted(expected.index)
    assert table["Safety stock"].round(6).to_dict() == expected["safety_stock"].round(6).to_dict()
    assert table["Reorder point"].round(6).to_dict() == expected["reorder_point"].round(6).to_dict()
    # ROP = d̄·(L + R) + SS with L in months (days ÷ 30.44) and R = 1 month, for every row shown
    lead_months = table["L (days)"] / DAYS_PER_MONTH
    rop = table["d̄ / month"].fillna(0.0) * (lead_months + 1.0) + table["Safety stock"]
    assert table["Reorder point"].to_numpy() == pytest.approx(rop.to_numpy())
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Below reorder point"] == str(int(policy["below_reorder_point"].sum()))

    fig = screen.figure(at, trace_name="Class A")
    for seg, part in frontier.groupby("segment"):
        drawn = screen.trace(fig, f"Class {seg}")
        assert drawn["x"] == pytest.approx((part["cycle_service_level"] * 100).tolist())
        assert drawn["y"] == pytest.approx(part["inventory_value"].tolist())
    wide = next(d.value for d in at.dataframe
                if list(d.value.columns) == [f"Class {s}" for s in sorted(frontier["segment"].unique())])
    assert wide.index.tolist() == [f"{100 * v:.1f} %" for v in sorted(frontier["cycle_service_level"].unique())]
    for seg, part in frontier.groupby("segment"):
        assert wide[f"Class {seg}"].tolist() == pytest.approx(part["inventory_value"].tolist())


def test_a_target_saved_over_another_persons_shows_theirs(app_env: str, demo_url: str) -> None:
    at = AppTest.from_file(app_env, default_timeout=120)
    at.switch_page("views/kpis.py").run()
    assert not at.exception, [e.message for e in at.exception]
    screen.open_tab(at, SECTION, "Targets")
    engine = make_engine(demo_url)
    try:  # sam (a supply planner) sets the fill rate target of all SKUs while the page shows the default (95 %,
        # nothing stored)
        targets_service.save_kpi_targets(
            engine, "all", pd.DataFrame({"key": ["fill_rate"], "target": [96.0], "version": [0]}), "sam")
        at.session_state["kpi_target_editor_all"] = {"edited_rows": {"0": {"target": 97.5}}, "added_rows": [],
                                                     "deleted_rows": []}
        at.run()
        at.button(key="kpi_save_targets").click().run()
        assert not at.exception, [e.message for e in at.exception]
        conflict = next(d.value for d in at.dataframe if "Changed by" in d.value.columns)
        assert conflict[["What", "Changed by", "Their value", "Your value"]].values.tolist() == [
            ["Fill rate (projected)", "sam", "96", "97.5"]]
        assert targets_service.kpi_targets(engine).loc["fill_rate", "target"] == 96.0
        at.button(key="kpi_targets_all_save_mine").click().run()
        assert not at.exception, [e.message for e in at.exception]
        stored = targets_service.kpi_targets(engine).loc["fill_rate"]
        assert (stored["target"], stored["updated_by"], stored["version"]) == (97.5, "demo", 2)
        # the note above the tabs, the Targets tab still open with the saved target
        assert [s.value for s in at.success] == ["1 target saved."]
        editor = next(d.value for d in at.dataframe if "tolerance" in d.value.columns)
        assert editor["target"].iloc[0] == 97.5 and editor["updated_by"].iloc[0] == "demo"
    finally:
        engine.dispose()



def _shown_targets(at: AppTest) -> list[float]:
    return next(d.value for d in at.dataframe if "tolerance" in d.value.columns)["target"].tolist()


def test_a_target_typed_and_not_saved_stays_while_another_tab_is_open(app_env: str, demo_url: str) -> None:
    """Opening another tab drops the editor's own state; the target typed comes back with the tab, unsaved until
    Save (which stores it over the version seen), and Reload drops it."""
    at = AppTest.from_file(app_env, default_timeout=120)
    at.switch_page("views/kpis.py").run()
    screen.open_tab(at, SECTION, "Targets")
    before = _shown_targets(at)
    assert before[0] == 95.0  # fill rate, all SKUs: the default
    at.session_state["kpi_target_editor_all"] = {"edited_rows": {"0": {"target": 97.5}}, "added_rows": [],
                                                 "deleted_rows": []}
    at.run()
    screen.open_tab(at, SECTION, "Exceptions")
    assert not at.data_editor
    screen.open_tab(at, SECTION, "Targets")
    assert not at.exception, [e.message for e in at.exception]
    assert _shown_targets(at) == [97.5, *before[1:]]
    assert "1 target typed and not saved yet." in [c.value for c in at.caption]
    engine = make_engine(demo_url)
    try:
        assert "fill_rate" not in targets_service.kpi_targets(engine).query("source == 'all'").index  # not saved
        at.button(key="kpi_save_targets").click().run()
        assert [s.value for s in at.success] == ["1 target saved."]
        assert not [c.value for c in at.caption if "not saved yet" in c.value]
        stored = targets_service.kpi_targets(engine).loc["fill_rate"]
        assert (stored["target"], stored["updated_by"], stored["version"]) == (97.5, "demo", 1)
        # a target typed, then reloaded: gone, also after a round through another tab
        at.session_state["kpi_target_editor_all"] = {"edited_rows": {"1": {"target": 1.0}}, "added_rows": [],
                                                     "deleted_rows": []}
        at.run()
        at.button(key="kpi_reload_targets").click().run()
        screen.open_tab(at, SECTION, "Trends")
        screen.open_tab(at, SECTION, "Targets")
        assert _shown_targets(at) == [97.5, *before[1:]]
    finally:
        engine.dispose()

def test_only_the_open_tab_is_drawn_and_an_address_opens_one(shared_app_env: str, shared_demo_url: str) -> None:
    engine = make_engine(shared_demo_url)
    try:
        trend_keys = list(dict.fromkeys(kpi_service.kpi_trends(engine)["key"]))
        summary = kpi_service.kpi_summary(engine)
    finally:
        engine.dispose()
    at = AppTest.from_file(shared_app_env, default_timeout=180)
    at.switch_page("views/kpis.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert [t.label for t in at.tabs] == TABS
    cards = {label: card.value for label, card in _cards(at).items()}
    assert list(cards) == summary["kpi"].tolist()
    # the default tab, Trends: a chart per KPI with a history, and nothing of the other tabs
    assert [f["key"] for f in screen.figures(at)] == [f"trend_{key}" for key in trend_keys] and len(trend_keys) >= 4
    assert [h.value for h in at.subheader] == ["Trends"]
    assert not at.dataframe and not at.data_editor and not at.button and not at.radio
    assert "kpi_drill_sku" not in {s.key for s in at.selectbox}
    screen.open_tab(at, SECTION, "Targets")
    assert {label: card.value for label, card in _cards(at).items()} == cards  # the cards stay over every tab
    assert [h.value for h in at.subheader] == ["Targets"] and not screen.figures(at)
    assert [e.key for e in at.data_editor] == ["kpi_target_editor_all"]
    assert "kpi_save_targets" in {b.key for b in at.button}
    # ?kpi_section=Exceptions opens the page on that tab
    linked = AppTest.from_file(shared_app_env, default_timeout=180)
    linked.query_params[SECTION] = "Exceptions"
    linked.switch_page("views/kpis.py").run()
    assert not linked.exception, [e.message for e in linked.exception]
    assert [h.value for h in linked.subheader] == ["Exceptions"]
    assert any("Finding" in d.value.columns for d in linked.dataframe)
    assert not linked.data_editor and not [f for f in screen.figures(linked) if str(f["key"]).startswith("trend_")]
    assert list(_cards(linked)) == summary["kpi"].tolist()
