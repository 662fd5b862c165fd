"""Supply review page: what the planner sees matches the supply services on the same demo database."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import screen
from streamlit.testing.v1 import AppTest

from sop_core import formatting
from sop_core.db import master_repo, stock_repo
from sop_core.db.engine import make_engine, session_scope
from sop_core.services import inventory_policy as policy_service
from sop_core.services import suppliers as suppliers_service
from sop_core.services import supply as supply_service

#: The key of the page's tabs (and the query parameter naming the open one).
SECTION = "supply_section"


@pytest.fixture
def supply_page(shared_app_env: str, shared_demo_url: str) -> tuple[AppTest, str]:
    """The page on the shared demo database: these tests only read it."""
    at = AppTest.from_file(shared_app_env, default_timeout=90)
    at.switch_page("views/supply.py").run()  # straight to the page: the default page is not needed here
    assert not at.exception, [e.message for e in at.exception]
    return at, shared_demo_url


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
    with screen.current_cycle(url) as (engine, cycle):
        expected = supply_service.utilisation_table(supply_service.capacity_load(engine, cycle.id))
        hot = supply_service.bottlenecks(engine, cycle.id)
        card = suppliers_service.supplier_scorecard(engine)
        families, skus = supply_service.bottleneck_drilldown(
            engine, cycle.id, hot.loc[0, "resource"], hot.loc[0, "period"]
        )
    shown = at.dataframe[0].value
    # every resource of the demo company, with the utilisation (%) the service computes
    assert sorted(shown.index) == ["BRN-MET", "BRN-MOW", "BRN-TRM", "ULM-ESP", "ULM-MLD", "ULM-SMA"]
    assert list(shown.columns)[0] == "Nov 2026"  # months headed by name
    pd.testing.assert_frame_equal(shown, expected.rename(columns=formatting.month), check_names=False)
    assert (shown.to_numpy() >= 0).all() and shown.notna().all().all()
    # the bottleneck list and the supplier table are those of the services
    bottleneck_table = at.dataframe[1].value
    assert bottleneck_table["Resource"].tolist() == hot["resource"].tolist()
    assert bottleneck_table["Utilisation"].round(6).tolist() == (hot["utilisation"] * 100).round(6).tolist()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Resources"] == "6"
    assert metrics["Bottleneck months"] == str(int((hot["status"] == "bottleneck").sum()))
    # drill-down of the worst bottleneck: families and SKUs loading it, shares adding up to 100 %
    assert at.selectbox(key="supply_bottleneck").value.startswith(hot.loc[0, "resource"])
    fam_shown = _table(at, "Family")
    assert fam_shown["Family"].tolist() == families["family"].tolist()
    assert fam_shown["Share"].sum() == pytest.approx(100.0)
    sku_shown = at.dataframe[3].value
    assert sku_shown["SKU"].tolist() == skus["sku"].tolist()
    assert sku_shown["Load (h)"].sum() == pytest.approx(hot.loc[0, "load_hours"])
    # the supplier table, in its own tab, is the service's scorecard
    suppliers = _table(screen.open_tab(at, SECTION, "Suppliers"), "Supplier")
    assert suppliers["Supplier"].tolist() == card["supplier"].tolist()
    assert suppliers["OTIF"].round(6).tolist() == (card["otif"] * 100).round(6).tolist()


def test_projection_follows_the_chosen_sku_with_safety_stock_lines(supply_page: tuple[AppTest, str]) -> None:
    at, url = supply_page
    with screen.current_cycle(url) as (engine, cycle):
        expected = policy_service.projection_with_levels(engine, cycle.id, sku="BL-1001")
        policy = policy_service.inventory_policy(engine, cycle.id).set_index("sku")
        products = supply_service.product_choices(engine).set_index("sku")
    screen.open_tab(at, SECTION, "Projected inventory")
    picker = at.selectbox(key="supply_projection_item")
    assert picker.value.startswith("Family ")  # families first
    picker.set_value(f"BL-1001 — {products.loc['BL-1001', 'name']}").run()
    assert not at.exception, [e.message for e in at.exception]
    table = _table(at, "Month")
    assert table.index.tolist() == [formatting.month(m) for m in expected["period"]]
    assert table["Closing stock (units)"].tolist() == expected["closing"].tolist()
    assert table["Shortage (units)"].tolist() == expected["shortage"].tolist()
    # the safety stock and reorder point lines are the policy's, flat over the horizon
    assert set(table["Safety stock (units)"].round(6)) == {round(policy.loc["BL-1001", "safety_stock"], 6)}
    assert set(table["Reorder point (units)"].round(6)) == {round(policy.loc["BL-1001", "reorder_point"], 6)}
    chart = at.get("plotly_chart")[0].proto.spec  # the tab's one chart
    assert "Reorder point" in chart and "Safety stock" in chart
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Months below safety stock"] == str(int(expected["below_safety_stock"].sum()))


def test_tolerances_change_the_scorecard(supply_page: tuple[AppTest, str]) -> None:
    at, url = supply_page
    engine = make_engine(url)
    try:
        lenient = suppliers_service.supplier_scorecard(engine, on_time_tolerance_days=5, in_full_tolerance=0.05)
    finally:
        engine.dispose()
    screen.open_tab(at, SECTION, "Suppliers")
    at.number_input(key="supply_late_days").set_value(5).run()
    at.number_input(key="supply_short_pct").set_value(5.0).run()
    assert not at.exception, [e.message for e in at.exception]
    shown = _table(at, "Supplier")
    assert shown["OTIF"].round(6).tolist() == (lenient["otif"] * 100).round(6).tolist()
    # kept while another tab is open (a widget not drawn is otherwise forgotten)
    screen.open_tab(screen.open_tab(at, SECTION, "Capacity"), SECTION, "Suppliers")
    assert (at.number_input(key="supply_late_days").value, at.number_input(key="supply_short_pct").value) == (5, 5.0)
    assert _table(at, "Supplier")["OTIF"].round(6).tolist() == (lenient["otif"] * 100).round(6).tolist()


def test_proposals_table_and_download(supply_page: tuple[AppTest, str]) -> None:
    at, url = supply_page
    with screen.current_cycle(url) as (engine, cycle):
        proposals = policy_service.replenishment_proposals(engine, cycle.id)
    shown = screen.open_tab(at, SECTION, "Replenishment").dataframe[-1].value
    assert shown["SKU"].tolist() == proposals["sku"].tolist()
    assert shown["Order qty"].tolist() == proposals["quantity"].tolist()
    assert (shown["Order qty"] > 0).all()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Proposed orders"] == str(len(proposals))
    assert metrics["Switch to alternate supplier"] == str(int(proposals["switch_recommended"].sum()))
    # where an alternate is shown, its lead-time and cost differences are there too
    alt = shown[shown["Alternate supplier"] != "–"]
    assert len(alt) > 0 and alt["Δ lead time (d)"].notna().all() and alt["Δ order cost"].notna().all()
    assert len(at.get("download_button")) == 1


# ---- figures: the numbers drawn are those computed here from the same database


def _receipts(url: str) -> pd.DataFrame:
    """Closed deliveries with the OTIF flags and lead time worked out here from the raw receipt rows."""
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            raw = stock_repo.receipts(s)
    finally:
        engine.dispose()
    done = raw[raw["received_date"].notna()].copy()
    done["otif"] = (done["received_date"] <= done["promised_date"]) & (done["qty_received"] >= done["qty_ordered"])
    done["lead_time"] = (done["received_date"] - done["order_date"]).dt.days.astype(float)
    done["month"] = done["received_date"].dt.to_period("M").dt.start_time
    done["quarter"] = done["received_date"].dt.to_period("Q").dt.start_time
    return done


def test_capacity_heatmap_is_load_over_capacity(supply_page: tuple[AppTest, str]) -> None:
    at, url = supply_page
    with screen.current_cycle(url) as (engine, cycle):
        plan, _source = supply_service.plan_demand(engine, cycle.id)
        with session_scope(engine) as s:
            routing = master_repo.routing(s)
            resources = master_repo.resources(s).set_index("resource")
        hot = supply_service.bottlenecks(engine, cycle.id)
    # load_{r,t} = Σ_i q_{i,t}·h_{i,r}; utilisation = load / regular capacity, in percent
    hours = plan.merge(routing, on="sku").assign(hours=lambda f: f["quantity"] * f["hours_per_unit"])
    load = hours.groupby(["resource", "period"])["hours"].sum()
    heat = screen.figure(at, trace_type="heatmap")["data"][0]
    months, rows = heat["x"], heat["y"]
    assert rows == sorted(resources.index)
    assert months[0] == "2026-11" and len(months) == plan["period"].nunique()
    z = np.array(heat["z"], dtype=float)
    for i, res in enumerate(rows):
        for j, month in enumerate(months):
            expected = 100 * load.get((res, pd.Timestamp(f"{month}-01")), 0.0) / resources.loc[res, "capacity_hours"]
            assert z[i, j] == pytest.approx(expected, abs=0.051), (res, month)
    # the worst bottleneck's cell: above 100 % and equal to the service's load / capacity
    worst = hot.iloc[0]
    cell = z[rows.index(worst["resource"]), months.index(f"{worst['period']:%Y-%m}")]
    assert cell > 100
    assert cell == pytest.approx(100 * worst["load_hours"] / worst["capacity_hours"], abs=0.051)
    # the load-vs-capacity bars of the resource picked below the heatmap (the first one)
    first = at.selectbox(key="supply_resource").value.split(" — ")[0]
    bars = screen.figure(at, trace_name="Load (h)")
    drawn = screen.trace(bars, "Load (h)")
    assert [pd.Timestamp(x) for x in drawn["x"]] == sorted(plan["period"].unique())
    assert drawn["y"] == pytest.approx([load.get((first, pd.Timestamp(x)), 0.0) for x in drawn["x"]])
    regular = screen.trace(bars, "Regular capacity")["y"]
    assert set(regular) == {resources.loc[first, "capacity_hours"]}
    with_overtime = screen.trace(bars, "With overtime")["y"]
    assert set(with_overtime) == {resources.loc[first, "capacity_hours"] + resources.loc[first, "overtime_hours"]}


def test_projection_figure_draws_closing_stock_and_policy_lines(supply_page: tuple[AppTest, str]) -> None:
    at, url = supply_page
    with screen.current_cycle(url) as (engine, cycle):
        products = supply_service.product_choices(engine)
        family = sorted(products["family"].unique())[0]
        expected = policy_service.projection_with_levels(engine, cycle.id, family=family)
        policy = policy_service.inventory_policy(engine, cycle.id)
    screen.open_tab(at, SECTION, "Projected inventory")
    assert at.selectbox(key="supply_projection_item").value == f"Family {family}"
    fig = screen.figure(at, trace_name="Closing stock")
    assert screen.trace(fig, "Closing stock")["y"] == pytest.approx(expected["closing"].tolist())
    assert screen.trace(fig, "Lost sales")["y"] == pytest.approx(expected["shortage"].tolist())
    # a family's lines are the sums of its SKUs' safety stocks and reorder points
    members = policy[policy["family"] == family]
    assert set(np.round(screen.trace(fig, "Safety stock")["y"], 6)) == {round(members["safety_stock"].sum(), 6)}
    assert set(np.round(screen.trace(fig, "Reorder point")["y"], 6)) == {round(members["reorder_point"].sum(), 6)}


def test_supplier_trend_figure_is_otif_per_quarter(supply_page: tuple[AppTest, str]) -> None:
    """The worst suppliers' OTIF per quarter, in the scorecard's order (lowest OTIF first), and the dashed line over
    every delivery of every supplier, both checked against the receipts by hand."""
    at, url = supply_page
    engine = make_engine(url)
    try:
        trend = suppliers_service.supplier_trend(engine)
        card = suppliers_service.supplier_scorecard(engine)
    finally:
        engine.dispose()
    fig = screen.figure(screen.open_tab(at, SECTION, "Suppliers"), key="supply_trend_chart")
    worst = [code for code in card["supplier"] if code in set(trend["supplier"])][: suppliers_service.TREND_SUPPLIERS]
    assert [t["name"] for t in fig["data"]] == [*worst, "All suppliers"]
    receipts = _receipts(url)
    by_hand = receipts.groupby(["supplier", "quarter"])["otif"].mean() * 100
    for drawn in fig["data"][:-1]:
        part = trend[trend["supplier"] == drawn["name"]]
        quarters = [pd.Timestamp(x) for x in drawn["x"]]
        assert quarters == part["period"].tolist()
        assert drawn["y"] == pytest.approx((part["otif"] * 100).tolist())
        assert drawn["y"] == pytest.approx([by_hand[(drawn["name"], q)] for q in quarters])
    every = fig["data"][-1]
    overall = receipts.groupby("quarter")["otif"].mean() * 100
    assert [pd.Timestamp(x) for x in every["x"]] == overall.index.tolist()
    assert every["y"] == pytest.approx(overall.tolist())
    assert every["line"]["dash"] == "dash"


def test_item_view_of_the_worst_supplier(supply_page: tuple[AppTest, str]) -> None:
    at, url = supply_page
    engine = make_engine(url)
    try:
        card = suppliers_service.supplier_scorecard(engine)
        worst = card.loc[0, "supplier"]
        items = suppliers_service.supplier_item_scorecard(engine, supplier=worst)
    finally:
        engine.dispose()
    # the picker opens on the supplier with the lowest OTIF, with all its items
    screen.open_tab(at, SECTION, "Suppliers")
    assert worst == "BRIGHTWAY"
    assert at.selectbox(key="supply_item_supplier").value.startswith("BRIGHTWAY — ")
    assert at.selectbox(key="supply_item_sku_BRIGHTWAY").value == "All its items"
    # its per-item scorecard: only its items, worst OTIF first, as the service scores them
    shown = next(d.value for d in at.dataframe if d.value.columns[:2].tolist() == ["Supplier", "SKU"])
    assert set(shown["Supplier"]) == {"BRIGHTWAY"} and len(shown) == 21
    assert shown["SKU"].tolist() == items["sku"].tolist()
    assert shown["OTIF"].round(6).tolist() == (items["otif"] * 100).round(6).tolist()
    # KA-1018 by hand: 13 deliveries, 4 on time and in full; lead times 81…96 days, p90 = 92 + 0.8·(94 − 92)
    ka = shown.set_index("SKU").loc["KA-1018"]
    assert ka["Deliveries"] == 13
    assert ka["OTIF"] == pytest.approx(100 * 4 / 13)
    assert ka["p90 (d)"] == pytest.approx(93.6)
    # heatmaps: one row per item (scorecard order), one column per month of receipt
    done = _receipts(url)
    mine = done[done["supplier"] == "BRIGHTWAY"]
    otif = mine.groupby(["sku", "month"])["otif"].mean() * 100
    lead = mine.groupby(["sku", "month"])["lead_time"].mean()
    fig = screen.figure(at, key="supply_item_heatmap")
    otif_map, lead_map = screen.trace(fig, "OTIF"), screen.trace(fig, "Lead time")
    assert otif_map["y"] == items["sku"].tolist() == lead_map["y"]
    months = [pd.Timestamp(f"{m}-01") for m in otif_map["x"]]
    assert months == list(pd.date_range(mine["month"].min(), mine["month"].max(), freq="MS"))
    for values, expected in ((otif_map["z"], otif), (lead_map["z"], lead)):
        for i, sku in enumerate(otif_map["y"]):
            for j, month in enumerate(months):
                got = values[i][j]
                if (sku, month) in expected.index:
                    assert got == pytest.approx(expected[(sku, month)], abs=0.051), (sku, month)
                else:
                    assert got is None or np.isnan(got), (sku, month)  # no delivery that month


def test_item_trend_of_one_item(supply_page: tuple[AppTest, str]) -> None:
    at, url = supply_page
    screen.open_tab(at, SECTION, "Suppliers")
    at.selectbox(key="supply_item_supplier").set_value(
        next(o for o in at.selectbox(key="supply_item_supplier").options if o.startswith("BRIGHTWAY"))
    ).run()
    picker = at.selectbox(key="supply_item_sku_BRIGHTWAY")
    picker.set_value(next(o for o in picker.options if o.startswith("KA-1018 — "))).run()
    assert not at.exception, [e.message for e in at.exception]
    done = _receipts(url)
    mine = done[(done["supplier"] == "BRIGHTWAY") & (done["sku"] == "KA-1018")]
    per_month = mine.groupby("month").agg(otif=("otif", "mean"), lead=("lead_time", "mean"), n=("otif", "size"))
    assert len(per_month) == 13 and (per_month["n"] == 1).all()  # one delivery a month
    fig = screen.figure(at, key="supply_item_trend_chart")
    drawn_otif = screen.trace(fig, "OTIF")
    assert [pd.Timestamp(x) for x in drawn_otif["x"]] == per_month.index.tolist()
    assert drawn_otif["y"] == pytest.approx((per_month["otif"] * 100).tolist())
    assert sum(y == 100 for y in drawn_otif["y"]) == 4
    assert screen.trace(fig, "Lead time mean")["y"] == pytest.approx(per_month["lead"].tolist())
    assert screen.trace(fig, "Lead time mean")["y"][0] == 83  # ordered 2024-12-13, received 83 days later
    assert set(screen.trace(fig, "Master lead time")["y"]) == {84.0}  # supplier_item.lead_time_days
    table = _table(at, "SKU")
    assert [f"{m:%Y-%m}" for m in table["Month"]] == [f"{m:%Y-%m}" for m in per_month.index]
    assert table["OTIF"].tolist() == pytest.approx((per_month["otif"] * 100).tolist())
    # a 5-day tolerance counts the deliveries a few days late as on time: the chart follows
    at.number_input(key="supply_late_days").set_value(5).run()
    lenient = mine["otif"] | (
        (mine["received_date"] <= mine["promised_date"] + pd.Timedelta(days=5))
        & (mine["qty_received"] >= mine["qty_ordered"])
    )
    drawn = screen.trace(screen.figure(at, key="supply_item_trend_chart"), "OTIF")["y"]
    assert drawn == pytest.approx((lenient.groupby(mine["month"]).mean() * 100).tolist())
    assert sum(drawn) > sum(drawn_otif["y"])


def test_proposals_download_is_the_proposals_table(
    supply_page: tuple[AppTest, str], downloads: screen.DownloadRecorder
) -> None:
    at, url = supply_page
    screen.open_tab(at, SECTION, "Replenishment")  # a rerun, with the download recorder installed
    with screen.current_cycle(url) as (engine, cycle):
        proposals = policy_service.replenishment_proposals(engine, cycle.id)
    name, content = downloads.file(at, "supply_download_proposals")
    assert name == f"replenishment_proposals_{cycle.label}.csv"
    lines = content.decode("utf-8").splitlines()
    assert lines[0].split(",")[:8] == [
        "sku", "name", "family", "trigger_period", "projected_closing", "reorder_point", "quantity", "supplier",
    ]  # fmt: skip
    csv = pd.read_csv(io.BytesIO(content), parse_dates=["order_date", "due_date"])
    assert list(csv.columns) == list(proposals.columns)
    assert len(csv) == len(proposals) == len(lines) - 1
    assert csv["sku"].tolist() == proposals["sku"].tolist()
    assert csv["quantity"].tolist() == pytest.approx(proposals["quantity"].tolist())
    # the first purchase (it has a unit cost and a value) checked by hand: value = quantity × unit cost, due =
    # ordered + lead time (whole days), triggered because the projected stock is below the reorder point
    first = int(np.flatnonzero(csv["supplier"].to_numpy() != "in-house")[0])
    row = csv.iloc[first]
    assert (row["sku"], row["supplier"]) == (proposals.loc[first, "sku"], proposals.loc[first, "supplier"])
    assert row["order_value"] == pytest.approx(row["quantity"] * row["unit_cost"])
    assert (row["due_date"] - row["order_date"]).days == round(row["lead_time_days"])
    assert row["projected_closing"] < row["reorder_point"]
    assert row["order_date"] == pd.Timestamp("2026-11-01")


def test_only_the_open_tab_is_drawn_and_an_address_opens_one(supply_page: tuple[AppTest, str],
                                                             shared_app_env: str) -> None:
    at, _url = supply_page
    assert [t.label for t in at.tabs] == ["Capacity", "Projected inventory", "Suppliers", "Replenishment"]
    headline = {m.label: m.value for m in at.metric}
    assert set(headline) == {"Resources", "Bottleneck months", "Peak utilisation"}  # the capacity tab adds none
    assert screen.figure(at, trace_type="heatmap") and "supply_resource" in {s.key for s in at.selectbox}
    assert not at.get("download_button") and not at.number_input  # the other tabs' widgets are not drawn
    screen.open_tab(at, SECTION, "Suppliers")
    assert {m.label: m.value for m in at.metric} == headline  # the headline stays over every tab
    assert screen.figure(at, key="supply_trend_chart")
    assert [n.key for n in at.number_input] == ["supply_late_days", "supply_short_pct"]
    assert "supply_resource" not in {s.key for s in at.selectbox}  # the capacity tab is no longer drawn
    # ?supply_section=Replenishment opens the page on that tab
    linked = AppTest.from_file(shared_app_env, default_timeout=90)
    linked.query_params[SECTION] = "Replenishment"
    linked.switch_page("views/supply.py").run()
    assert not linked.exception, [e.message for e in linked.exception]
    assert len(linked.get("download_button")) == 1 and "Proposed orders" in {m.label for m in linked.metric}
