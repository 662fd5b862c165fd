"""Supply review page: what the planner sees matches the supply services on the same demo database."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from sop_core.db.engine import make_engine
from sop_core.services import supply as supply_service
from sop_core.services.cycle import list_cycles


@pytest.fixture
def supply_page(app_env: str, demo_url: str) -> tuple[AppTest, str]:
    at = AppTest.from_file(app_env, default_timeout=90)
    at.switch_page("pages/supply_review.py").run()  # straight to the page: the default page is not needed here
    assert not at.exception, [e.message for e in at.exception]
    return at, demo_url


def _table(at: AppTest, first_column: str) -> pd.DataFrame:
    """The first dataframe on screen whose first column is ``first_column`` (or index name)."""
    for frame in at.dataframe:
        value = frame.value
        if (len(value.columns) and value.columns[0] == first_column) or value.index.name == first_column:
            return value
    raise AssertionError(f"no table starting with {first_column!r}")


def test_supply_page_shows_utilisation_of_every_resource(supply_page: tuple[AppTest, str]) -> None:
    at, url = supply_page
    assert at.title[0].value == "Supply review"
    engine = make_engine(url)
    try:
        cycle = list_cycles(engine)[0]
        expected = supply_service.utilisation_table(supply_service.capacity_load(engine, cycle.id))
        hot = supply_service.bottlenecks(engine, cycle.id)
        card = supply_service.supplier_scorecard(engine)
        families, skus = supply_service.bottleneck_drilldown(
            engine, cycle.id, hot.loc[0, "resource"], hot.loc[0, "period"]
        )
    finally:
        engine.dispose()
    shown = at.dataframe[0].value
    # every resource of the demo company, with the utilisation (%) the service computes
    assert sorted(shown.index) == ["BRN-MET", "BRN-MOW", "BRN-TRM", "ULM-ESP", "ULM-MLD", "ULM-SMA"]
    assert list(shown.columns)[0] == "2026-11"
    pd.testing.assert_frame_equal(shown, expected, check_names=False)
    assert (shown.to_numpy() >= 0).all() and shown.notna().all().all()
    # the bottleneck list and the supplier table are those of the services
    bottleneck_table = at.dataframe[1].value
    assert bottleneck_table["resource"].tolist() == hot["resource"].tolist()
    assert bottleneck_table["utilisation"].round(6).tolist() == (hot["utilisation"] * 100).round(6).tolist()
    suppliers = _table(at, "supplier")
    assert suppliers["supplier"].tolist() == card["supplier"].tolist()
    assert suppliers["otif"].round(6).tolist() == (card["otif"] * 100).round(6).tolist()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Resources"] == "6"
    assert metrics["Bottleneck months"] == str(int((hot["status"] == "bottleneck").sum()))
    # drill-down of the worst bottleneck: families and SKUs loading it, shares adding up to 100 %
    assert at.selectbox(key="supply_bottleneck").value.startswith(hot.loc[0, "resource"])
    fam_shown = _table(at, "family")
    assert fam_shown["family"].tolist() == families["family"].tolist()
    assert fam_shown["share"].sum() == pytest.approx(100.0)
    sku_shown = at.dataframe[3].value
    assert sku_shown["sku"].tolist() == skus["sku"].tolist()
    assert sku_shown["load_hours"].sum() == pytest.approx(hot.loc[0, "load_hours"])


def test_projection_follows_the_chosen_sku_with_safety_stock_lines(supply_page: tuple[AppTest, str]) -> None:
    at, url = supply_page
    engine = make_engine(url)
    try:
        cycle = list_cycles(engine)[0]
        expected = supply_service.projected_inventory(engine, cycle.id, sku="BL-1001", with_levels=True)
        policy = supply_service.inventory_policy(engine, cycle.id).set_index("sku")
        products = supply_service.product_choices(engine).set_index("sku")
    finally:
        engine.dispose()
    picker = at.selectbox(key="supply_projection_item")
    assert picker.value.startswith("Family ")  # families first
    picker.set_value(f"BL-1001 — {products.loc['BL-1001', 'name']}").run()
    assert not at.exception, [e.message for e in at.exception]
    table = _table(at, "month")
    assert table["closing"].tolist() == expected["closing"].tolist()
    assert table["shortage"].tolist() == expected["shortage"].tolist()
    # the safety stock and reorder point lines are the policy's, flat over the horizon
    assert set(table["safety_stock"].round(6)) == {round(policy.loc["BL-1001", "safety_stock"], 6)}
    assert set(table["reorder_point"].round(6)) == {round(policy.loc["BL-1001", "reorder_point"], 6)}
    chart = at.get("plotly_chart")[2].proto.spec
    assert "Reorder point" in chart and "Safety stock" in chart
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Months below safety stock"] == str(int(expected["below_safety_stock"].sum()))


def test_tolerances_change_the_scorecard(supply_page: tuple[AppTest, str]) -> None:
    at, url = supply_page
    engine = make_engine(url)
    try:
        lenient = supply_service.supplier_scorecard(engine, on_time_tolerance_days=5, in_full_tolerance=0.05)
    finally:
        engine.dispose()
    at.number_input(key="supply_late_days").set_value(5).run()
    at.number_input(key="supply_short_pct").set_value(5.0).run()
    assert not at.exception, [e.message for e in at.exception]
    shown = _table(at, "supplier")
    assert shown["otif"].round(6).tolist() == (lenient["otif"] * 100).round(6).tolist()


def test_proposals_table_and_download(supply_page: tuple[AppTest, str]) -> None:
    at, url = supply_page
    engine = make_engine(url)
    try:
        cycle = list_cycles(engine)[0]
        proposals = supply_service.replenishment_proposals(engine, cycle.id)
    finally:
        engine.dispose()
    shown = at.dataframe[-1].value
    assert shown["sku"].tolist() == proposals["sku"].tolist()
    assert shown["quantity"].tolist() == proposals["quantity"].tolist()
    assert (shown["quantity"] > 0).all()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Proposed orders"] == str(len(proposals))
    assert metrics["Switch to alternate supplier"] == str(int(proposals["switch_recommended"].sum()))
    # where an alternate is shown, its lead-time and cost differences are there too
    alt = shown[shown["alternate_supplier"].notna()]
    assert len(alt) > 0 and alt["lead_time_diff_days"].notna().all() and alt["cost_diff"].notna().all()
    assert len(at.get("download_button")) == 1
