"""Rough-cut capacity, projected inventory and supplier performance on hand-worked cases."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from sop_core.db import override_repo, repo
from sop_core.db.engine import session_scope
from sop_core.planning import replenishment
from sop_core.planning import supply_math as supply
from sop_core.services import inventory_policy as policy_service
from sop_core.services import suppliers as suppliers_service
from sop_core.services import supply as supply_service
from sop_core.services import supply_review


def _load_seed():  # noqa: ANN202
    # by path: a third-party wheel (mlforecast) installs a top-level ``tests`` package that shadows ours
    spec = importlib.util.spec_from_file_location("kpi_cases", Path(__file__).with_name("test_kpi.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.seed_small_company


seed_small_company = _load_seed()

Inputs = tuple[pd.Series, pd.DataFrame, pd.DataFrame]
NOV, DEC, JAN = pd.Timestamp("2026-11-01"), pd.Timestamp("2026-12-01"), pd.Timestamp("2027-01-01")


@pytest.fixture
def plan() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sku": ["A", "A", "B", "B", "C"],
            "period": ["2026-11-01", "2026-12-01", "2026-11-01", "2026-12-01", "2026-12-01"],
            "quantity": [80.0, 100.0, 60.0, 28.0, 20.0],
        }
    )


@pytest.fixture
def routing() -> pd.DataFrame:
    return pd.DataFrame(
        {"sku": ["A", "A", "B", "C"], "resource": ["R1", "R2", "R1", "R2"], "hours_per_unit": [0.5, 0.25, 1.5, 2.0]}
    )


@pytest.fixture
def capacity() -> pd.DataFrame:
    return pd.DataFrame(
        {"resource": ["R1", "R2", "R3"], "capacity_hours": [100.0, 50.0, 10.0], "overtime_hours": [20.0, 0.0, 0.0]}
    )


def test_rough_cut_capacity_hand_worked(plan: pd.DataFrame, routing: pd.DataFrame, capacity: pd.DataFrame) -> None:
    # R1 Nov: 80·0.5 + 60·1.5 = 40 + 90 = 130 h of 100 → 130 %, bottleneck, 30 h overtime, 10 h beyond overtime
    # R1 Dec: 100·0.5 + 28·1.5 = 50 + 42 = 92 h → 92 %, warning (> 90 %)
    # R2 Nov: 80·0.25 = 20 h of 50 → 40 %, ok;  R2 Dec: 100·0.25 + 20·2 = 65 h → 130 %, 15 h overtime, none available
    # R3 has no routing: 0 h in both months, ok
    out = supply.rough_cut_capacity(plan, routing, capacity).set_index(["resource", "period"])
    assert list(out.columns) == [
        "load_hours",
        "capacity_hours",
        "overtime_hours",
        "utilisation",
        "status",
        "overtime_available_hours",
        "shortfall_hours",
    ]
    expected = {
        ("R1", NOV): (130.0, 1.30, "bottleneck", 30.0, 10.0),
        ("R1", DEC): (92.0, 0.92, "warning", 0.0, 0.0),
        ("R2", NOV): (20.0, 0.40, "ok", 0.0, 0.0),
        ("R2", DEC): (65.0, 1.30, "bottleneck", 15.0, 15.0),
        ("R3", NOV): (0.0, 0.0, "ok", 0.0, 0.0),
        ("R3", DEC): (0.0, 0.0, "ok", 0.0, 0.0),
    }
    assert len(out) == len(expected)
    for key, (load, util, status, overtime, shortfall) in expected.items():
        row = out.loc[key]
        assert row["load_hours"] == pytest.approx(load)
        assert row["utilisation"] == pytest.approx(util)
        assert row["status"] == status
        assert row["overtime_hours"] == pytest.approx(overtime)
        assert row["shortfall_hours"] == pytest.approx(shortfall)


def test_utilisation_of_exactly_100_percent_is_a_warning_not_a_bottleneck() -> None:
    plan = pd.DataFrame({"sku": ["A"], "period": ["2026-11-01"], "quantity": [200.0]})
    routing = pd.DataFrame({"sku": ["A"], "resource": ["R"], "hours_per_unit": [0.5]})
    cap = pd.DataFrame({"resource": ["R"], "capacity_hours": [100.0]})
    row = supply.rough_cut_capacity(plan, routing, cap).iloc[0]
    assert (row["utilisation"], row["status"], row["overtime_hours"]) == (1.0, "warning", 0.0)


def test_capacity_by_period_overrides(plan: pd.DataFrame, routing: pd.DataFrame) -> None:
    # December R1 capacity raised to 184 h → 92 / 184 = 50 %
    cap = pd.DataFrame(
        {
            "resource": ["R1", "R1", "R2", "R2"],
            "period": [NOV, DEC, NOV, DEC],
            "capacity_hours": [100.0, 184.0, 50.0, 50.0],
        }
    )
    out = supply.rough_cut_capacity(plan, routing, cap).set_index(["resource", "period"])
    assert out.loc[("R1", DEC), "utilisation"] == pytest.approx(0.5)
    assert out.loc[("R1", DEC), "status"] == "ok"


def test_capacity_load_by_sku_ranks_top_loaders(plan: pd.DataFrame, routing: pd.DataFrame) -> None:
    by_sku = supply.capacity_load_by_sku(plan, routing)
    r1_nov = by_sku[(by_sku["resource"] == "R1") & (by_sku["period"] == NOV)]
    assert r1_nov[["sku", "load_hours"]].values.tolist() == [["B", 90.0], ["A", 40.0]]


def test_rough_cut_capacity_errors_name_the_problem(plan: pd.DataFrame, routing: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="R2 have no capacity row"):
        supply.rough_cut_capacity(plan, routing, pd.DataFrame({"resource": ["R1"], "capacity_hours": [1.0]}))
    bad = plan.assign(quantity=[-1.0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="negative"):
        supply.rough_cut_capacity(bad, routing, pd.DataFrame({"resource": ["R1", "R2"], "capacity_hours": [1.0, 1.0]}))


@pytest.fixture
def projection_inputs() -> Inputs:
    on_hand = pd.Series({"A": 100.0, "B": 0.0})
    receipts = pd.DataFrame({"sku": ["A", "B"], "period": [DEC, DEC], "quantity": [30.0, 50.0]})
    demand = pd.DataFrame(
        {
            "sku": ["A", "A", "A", "B", "B", "B"],
            "period": [NOV, DEC, JAN] * 2,
            "quantity": [60.0, 62.0, 31.0, 10.0, 10.0, 10.0],
        }
    )
    return on_hand, receipts, demand


def test_projected_inventory_lost_sales_hand_worked(projection_inputs: Inputs) -> None:
    # A: Nov 100 − 60 = 40; Dec 40 + 30 − 62 = 8; Jan 8 − 31 → 0, 23 lost
    # B: Nov 0 − 10 → 0, 10 lost; Dec 0 + 50 − 10 = 40; Jan 40 − 10 = 30
    # days of cover (next ≤ 3 months' average daily demand):
    #   A Nov: Dec 62/31 = 2/day, Jan 31/31 = 1/day → 1.5/day → 40 / 1.5 = 26.667 days
    #   A Dec: Jan 1/day → 8 days;  A Jan: 0 stock → 0 days
    #   B Dec: Jan 10/31 per day → 40·31/10 = 124 days; B Jan (last month, own demand) → 30·31/10 = 93 days
    out = supply.projected_inventory(*projection_inputs).set_index(["sku", "period"])
    assert out.loc["A", ["opening", "receipts", "demand", "closing", "shortage"]].values.tolist() == [
        [100.0, 0.0, 60.0, 40.0, 0.0],
        [40.0, 30.0, 62.0, 8.0, 0.0],
        [8.0, 0.0, 31.0, 0.0, 23.0],
    ]
    assert out.loc["B", "closing"].tolist() == [0.0, 40.0, 30.0]
    assert out.loc["B", "shortage"].tolist() == [10.0, 0.0, 0.0]
    assert out.loc["A", "days_of_cover"].tolist() == pytest.approx([26.6667, 8.0, 0.0], abs=1e-4)
    assert out.loc["B", "days_of_cover"].tolist() == pytest.approx([0.0, 124.0, 93.0])
    # projected fill rate = 1 − Σ shortage / Σ demand = 1 − 33 / 183
    assert 1 - out["shortage"].sum() / out["demand"].sum() == pytest.approx(150 / 183)


def test_projected_inventory_backorders_carry_negative_balance(projection_inputs: Inputs) -> None:
    # B: Nov −10 (backlog 10); Dec −10 + 50 − 10 = 30; Jan 20 → cover Dec 30·31/10 = 93, Jan 20·31/10 = 62
    out = supply.projected_inventory(*projection_inputs, policy="backorder").set_index(["sku", "period"])
    assert out.loc["A", "closing"].tolist() == [40.0, 8.0, -23.0]
    assert out.loc["B", "closing"].tolist() == [-10.0, 30.0, 20.0]
    assert out.loc["B", "shortage"].tolist() == [10.0, 0.0, 0.0]
    assert out.loc["B", "days_of_cover"].tolist() == pytest.approx([0.0, 93.0, 62.0])


def test_days_of_cover_is_nan_without_demand_ahead() -> None:
    out = supply.projected_inventory(
        pd.DataFrame({"sku": ["A"], "on_hand": [50.0]}),
        pd.DataFrame(columns=["sku", "period", "quantity"]),
        pd.DataFrame({"sku": ["A", "A"], "period": [NOV, DEC], "quantity": [0.0, 0.0]}),
    )
    assert out["closing"].tolist() == [50.0, 50.0]
    assert all(math.isnan(v) for v in out["days_of_cover"])


def test_summarise_projection_adds_skus_per_period(projection_inputs: Inputs) -> None:
    out = supply.summarise_projection(supply.projected_inventory(*projection_inputs), "family")
    # Nov: closing 40 + 0, demand 70, lost 10; Dec: 8 + 40 = 48 → cover 48 / (41/31 per day) = 36.29 days
    assert out["sku"].unique().tolist() == ["family"]
    assert out[["closing", "demand", "shortage"]].values.tolist() == [
        [40.0, 70.0, 10.0],
        [48.0, 72.0, 0.0],
        [30.0, 41.0, 23.0],
    ]
    assert out.loc[1, "days_of_cover"] == pytest.approx(48 * 31 / 41)


@pytest.fixture
def receipts() -> pd.DataFrame:
    rows = [
        # supplier, order, promised, received, ordered, received qty
        ("S1", "2026-01-01", "2026-01-15", "2026-01-14", 100, 100),  # on time, in full, LT 13
        ("S1", "2026-02-01", "2026-02-15", "2026-02-17", 100, 100),  # 2 days late, LT 16
        ("S1", "2026-03-01", "2026-03-15", "2026-03-15", 100, 97),  # on time, 3 % short, LT 14
        ("S1", "2026-04-01", "2026-04-15", None, 100, 0),  # open: excluded
        ("S1", "2026-05-01", "2026-05-15", "2026-05-11", 100, 100),  # on time, in full, LT 10
        ("S2", "2026-01-01", "2026-01-10", "2026-01-08", 50, 50),  # on time, in full, LT 7
    ]
    frame = pd.DataFrame(
        rows, columns=["supplier", "order_date", "promised_date", "received_date", "qty_ordered", "qty_received"]
    )
    frame["sku"] = "X"
    for col in ("order_date", "promised_date", "received_date"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def test_supplier_performance_hand_worked(receipts: pd.DataFrame) -> None:
    # S1 closed orders: on time 3/4, in full 3/4, OTIF 2/4. Lead times 13, 16, 14, 10:
    # mean 13.25; sample std sqrt((0.0625 + 7.5625 + 0.5625 + 10.5625) / 3) = sqrt(6.25) = 2.5;
    # p50 = (13 + 14) / 2 = 13.5; p90 (linear) = 14 + 0.7·(16 − 14) = 15.4
    out = supply.supplier_performance(receipts).set_index("supplier")
    assert list(out.index) == ["S1", "S2"]  # worst OTIF first
    s1 = out.loc["S1"]
    assert s1["orders"] == 4
    assert (s1["on_time"], s1["in_full"], s1["otif"]) == (0.75, 0.75, 0.5)
    assert (s1["lt_mean_days"], s1["lt_std_days"], s1["lt_p50"]) == (13.25, 2.5, 13.5)
    assert s1["lt_p90"] == pytest.approx(15.4)
    s2 = out.loc["S2"]
    assert (s2["orders"], s2["otif"], s2["lt_mean_days"]) == (1, 1.0, 7.0)
    assert math.isnan(s2["lt_std_days"])


def test_supplier_performance_tolerances(receipts: pd.DataFrame) -> None:
    late_ok = supply.supplier_performance(receipts, on_time_tolerance_days=2).set_index("supplier")
    assert (late_ok.loc["S1", "on_time"], late_ok.loc["S1", "otif"]) == (1.0, 0.75)
    short_ok = supply.supplier_performance(receipts, in_full_tolerance=0.05).set_index("supplier")
    assert (short_ok.loc["S1", "in_full"], short_ok.loc["S1", "otif"]) == (1.0, 0.75)


# --------------------------------------------------------------------------- services on a hand-built database
def test_capacity_load_service_uses_the_cycle_forecast(engine: Engine) -> None:
    cycle_id = seed_small_company(engine)
    # R: Nov A 80·1.0 + C 20·0.5 = 90 h of 100 → 90 % (ok: not above 90 %); Dec 80 + 60·0.5 = 110 h → bottleneck
    load = supply_service.capacity_load(engine, cycle_id)
    assert load[["resource", "name"]].drop_duplicates().values.tolist() == [["R", "Line R"]]
    assert load["load_hours"].tolist() == [90.0, 110.0]
    assert load["utilisation"].tolist() == pytest.approx([0.9, 1.1])
    assert load["status"].tolist() == ["ok", "bottleneck"]
    table = supply_service.utilisation_table(load)
    assert table.loc["R"].to_dict() == {"2026-11": 90.0, "2026-12": 110.0}
    # one month of actuals before the cycle: October sales A 30·1.0 + C 20·0.5 = 40 h → 40 %
    with_actuals = supply_service.capacity_load(engine, cycle_id, history_months=1)
    assert with_actuals["period"].dt.strftime("%Y-%m").tolist() == ["2026-10", "2026-11", "2026-12"]
    assert with_actuals["load_hours"].tolist() == [40.0, 90.0, 110.0]
    hot = supply_service.bottlenecks(engine, cycle_id)
    assert hot[["period", "status", "top_skus"]].values.tolist() == [[DEC, "bottleneck", "A (80 h), C (30 h)"]]


def test_projected_inventory_service_for_sku_and_family(engine: Engine) -> None:
    cycle_id = seed_small_company(engine)
    # A: Nov 60 + 5 (overdue, counted in Nov) + 10 − 80 → 0, 5 lost; Dec 0 − 80 → 80 lost
    a = supply_service.projected_inventory(engine, cycle_id, sku="A")
    assert a[["opening", "receipts", "demand", "closing", "shortage"]].values.tolist() == [
        [60.0, 15.0, 80.0, 0.0, 5.0],
        [0.0, 0.0, 80.0, 0.0, 80.0],
    ]
    # family F1 = A + B + C: Nov closing 0 + 50 + 0, lost 5 + 15; Dec closing 0 + 50 + 40, lost 80
    fam = supply_service.projected_inventory(engine, cycle_id, family="F1")
    assert fam["sku"].unique().tolist() == ["F1"]
    assert fam[["closing", "shortage"]].values.tolist() == [[50.0, 20.0], [90.0, 80.0]]
    with pytest.raises(supply_service.SupplyDataError, match="unknown SKU 'Z'"):
        supply_service.projected_inventory(engine, cycle_id, sku="Z")


def test_supplier_scorecard_service(engine: Engine) -> None:
    seed_small_company(engine)
    # all closed deliveries: on time 2/4, in full 3/4, OTIF 1/4; lead times 17, 24, 19, 24 days
    card = suppliers_service.supplier_scorecard(engine)
    row = card.iloc[0]
    assert (row["supplier"], row["name"], row["orders"]) == ("S", "Supplier S", 4)
    assert (row["on_time"], row["in_full"], row["otif"]) == (0.5, 0.75, 0.25)
    assert row["lt_mean_days"] == pytest.approx(21.0)


def test_service_errors_are_one_line(engine: Engine) -> None:
    with pytest.raises(supply_service.SupplyDataError, match="plan cycle 999 does not exist"):
        supply_service.capacity_load(engine, 999)


def test_empty_plan_gives_an_empty_load(routing: pd.DataFrame, capacity: pd.DataFrame) -> None:
    empty = pd.DataFrame(columns=["sku", "period", "quantity"])
    out = supply.rough_cut_capacity(empty, routing, capacity)
    assert out.empty and "utilisation" in out.columns


# --------------------------------------------------------------------------- drill-down, flags, trends, proposals
def test_load_contributions_share_of_each_bottleneck(plan: pd.DataFrame, routing: pd.DataFrame) -> None:
    # R1 Nov: B 90 h (69.2 %), A 40 h (30.8 %) of 130 h; families from the product table
    products = pd.DataFrame({"sku": ["A", "B", "C"], "family": ["F1", "F2", "F2"]})
    out = supply.load_contributions(plan, routing, products)
    r1 = out[(out["resource"] == "R1") & (out["period"] == NOV)]
    assert r1[["family", "sku", "load_hours"]].values.tolist() == [["F2", "B", 90.0], ["F1", "A", 40.0]]
    assert r1["share"].tolist() == pytest.approx([90 / 130, 40 / 130])
    assert out.groupby(["resource", "period"])["share"].sum().tolist() == pytest.approx([1.0] * 4)


def test_flag_projection_marks_stockouts_levels_and_excess(projection_inputs: Inputs) -> None:
    proj = supply.projected_inventory(*projection_inputs)
    levels = pd.DataFrame({"sku": ["A", "B"], "safety_stock": [10.0, 5.0], "reorder_point": [45.0, 20.0],
                           "max_stock": [200.0, 35.0]})  # fmt: skip
    out = supply.flag_projection(proj, levels, excess_cover_days=100).set_index(["sku", "period"])
    # A closing 40, 8, 0 (23 lost in Jan); B closing 0 (10 lost), 40, 30
    assert out.loc["A", "stockout"].tolist() == [False, False, True]
    assert out.loc["A", "below_safety_stock"].tolist() == [False, True, True]
    assert out.loc["A", "below_reorder_point"].tolist() == [True, True, True]
    assert out.loc["B", "stockout"].tolist() == [True, False, False]
    # B Dec: 40 > max 35 → excess; B Jan: 30 ≤ 35 but 93 days of cover ≤ 100 → not excess
    assert out.loc["B", "excess"].tolist() == [False, True, False]
    # without a maximum, cover beyond N days alone makes excess: B Dec 124 days > 100
    bare = supply.flag_projection(proj, excess_cover_days=100).set_index(["sku", "period"])
    assert bare.loc["B", "excess"].tolist() == [False, True, False]
    assert bare["safety_stock"].isna().all()


def test_supplier_performance_per_item_and_quarterly_trend(receipts: pd.DataFrame) -> None:
    frame = receipts.copy()
    frame.loc[frame.index[-1], "sku"] = "Y"  # S2's single delivery is of item Y
    per_item = supply.supplier_performance(frame, by=("supplier", "sku")).set_index(["supplier", "sku"])
    assert per_item.loc[("S1", "X"), "otif"] == 0.5
    assert per_item.loc[("S2", "Y"), "orders"] == 1
    by_item = supply.supplier_performance(frame, by=("sku",)).set_index("sku")
    assert by_item.loc["X", "orders"] == 4
    # S1 receipts: Jan 14 (OTIF), Feb 17 (late), Mar 15 (short) → Q1 OTIF 1/3; May 11 (OTIF) → Q2 1/1
    trend = supply.reliability_trend(frame).set_index(["supplier", "period"])
    assert trend.loc[("S1", pd.Timestamp("2026-01-01")), "otif"] == pytest.approx(1 / 3)
    assert trend.loc[("S1", pd.Timestamp("2026-04-01")), ["orders", "otif"]].tolist() == [1, 1.0]
    assert trend.loc[("S1", pd.Timestamp("2026-01-01")), "lt_mean_days"] == pytest.approx((13 + 16 + 14) / 3)
    monthly = supply.reliability_trend(frame, freq="M")
    assert len(monthly[monthly["supplier"] == "S1"]) == 4


def test_otif_scor_definition_hand_worked() -> None:
    # Definition: ASCM SCOR 12.0 "perfect order fulfilment" (RL.1.1) restricted to its delivery and quantity
    # parts, % of orders delivered in full (RL.2.1) and delivery performance to commit date (RL.2.2): an order
    # counts only when it is both on time and in full. The numbers below are hand-worked, not a published
    # example: no published OTIF worked example with a confirmed page was found.
    # 10 orders: 8 on time, 9 in full, 7 both → OTIF 70 % (on time 80 %, in full 90 %; not 0.8 · 0.9 = 72 %).
    # With one day of tolerance the order one day late counts (on time 9 → OTIF 80 %).
    received = ["2026-03-10"] * 7 + ["2026-03-11", "2026-03-13", "2026-03-10"]
    qty = [100] * 7 + [100, 100, 90]
    frame = pd.DataFrame(
        {"supplier": "S", "order_date": pd.Timestamp("2026-02-20"), "promised_date": pd.Timestamp("2026-03-10"),
         "received_date": pd.to_datetime(received), "qty_ordered": 100.0, "qty_received": qty}
    )  # fmt: skip
    row = supply.supplier_performance(frame).iloc[0]
    assert (row["on_time"], row["in_full"], row["otif"]) == (0.8, 0.9, 0.7)
    assert supply.supplier_performance(frame, on_time_tolerance_days=1).iloc[0]["otif"] == 0.8
    assert supply.supplier_performance(frame, in_full_tolerance=0.10).iloc[0]["otif"] == 0.8


def test_replenishment_proposals_hand_worked() -> None:
    # P: projected closing 50, 20, 0 against ROP 30 → trigger Dec (20 < 30); first stock-out Jan.
    # Q = max(order qty 40, ROP + d̄ − closing = 30 + 25 − 20 = 35) = 40 → MOQ 60 of supplier S1 → 60.
    # S1 (OTIF 70 % < 90 %, lead 45 days): ordered 2026-12-01, due 2027-01-15 > Jan 1 → late.
    # Alternate S2 (priority 2, OTIF 95 %, 20 days, MOQ 10, €11 vs €10): 40 units → cost 440 − 600 = −160,
    # lead time −25 days, better and sooner → switch recommended.
    projection = pd.DataFrame({"sku": "P", "period": [NOV, DEC, JAN], "closing": [50.0, 20.0, 0.0],
                               "shortage": [0.0, 0.0, 5.0], "demand": [25.0, 30.0, 25.0]})  # fmt: skip
    items = pd.DataFrame({"sku": ["P"], "reorder_point": [30.0], "order_qty": [40.0], "demand_mean": [25.0]})
    sources = pd.DataFrame({"sku": "P", "supplier": ["S1", "S2"], "priority": [1, 2], "lead_time_days": [45.0, 20.0],
                            "unit_cost": [10.0, 11.0], "moq": [60.0, 10.0], "otif": [0.70, 0.95],
                            "in_full": [0.99, 0.99]})  # fmt: skip
    out = replenishment.replenishment_proposals(projection, items, sources, as_of="2026-11-01")
    row = out.iloc[0]
    assert len(out) == 1
    assert (row["trigger_period"], row["quantity"], row["supplier"]) == (DEC, 60.0, "S1")
    assert (row["order_date"], row["due_date"]) == (DEC, pd.Timestamp("2027-01-15"))
    assert row["arrives_late"] and row["stockout_period"] == JAN
    assert (row["alternate_supplier"], row["lead_time_diff_days"], row["unit_cost_diff"]) == ("S2", -25.0, 1.0)
    assert row["cost_diff"] == pytest.approx(-160.0)
    assert row["switch_recommended"]
    assert row["reason"] == "OTIF 70 % < 90 %; arrives after the projected stock-out"
    # a reliable preferred supplier in time: no alternate offered
    good = sources.assign(otif=[0.95, 0.95], lead_time_days=[20.0, 20.0])
    calm = replenishment.replenishment_proposals(projection, items, good, as_of="2026-11-01").iloc[0]
    assert calm["alternate_supplier"] is None and calm["reason"] == "" and not calm["arrives_late"]


def _add_alternate_supplier(engine: Engine) -> None:
    # T: priority-2 source of C, 30 ± 2 days measured on three on-time, in-full deliveries
    frames = {
        "supplier": pd.DataFrame({"supplier": ["T"], "name": ["Supplier T"]}),
        "supplier_item": pd.DataFrame(
            {
                "supplier": ["T"],
                "sku": ["C"],
                "lead_time_days": [35.0],
                "lead_time_std_days": [0.0],
                "moq": [150.0],
                "unit_cost": [5.5],
                "priority": [2],
            }
        ),  # fmt: skip
        "receipt": pd.DataFrame(
            {
                "supplier": "T",
                "sku": "C",
                "order_date": pd.to_datetime(["2026-02-01", "2026-04-01", "2026-06-01"]),
                "promised_date": pd.to_datetime(["2026-03-10", "2026-05-10", "2026-07-10"]),
                "received_date": pd.to_datetime(["2026-03-01", "2026-05-01", "2026-07-03"]),
                "qty_ordered": 100.0,
                "qty_received": 100.0,
            }
        ),  # fmt: skip
    }
    with session_scope(engine) as s:
        for table, frame in frames.items():
            repo.upsert_frame(s, table, frame)


def test_inventory_policy_service_hand_worked(engine: Engine) -> None:
    cycle_id = seed_small_company(engine)
    pol = policy_service.inventory_policy(engine, cycle_id).set_index("sku")
    # A: 30 every month → d̄ 30, σ 0, in house (L = 1 month, σ_L 0), R 1 → SS 0, ROP 60;
    #    EOQ = sqrt(2 · 360 · 50 / (0.25 · 10)) = 120
    assert pol.loc["A", ["safety_stock", "reorder_point", "eoq", "order_qty"]].tolist() == pytest.approx(
        [0, 60, 120, 120]
    )
    assert (pol.loc["A", "supplier"], pol.loc["A", "method"]) == ("in-house", "normal")
    # C: d̄ 20, σ 0, bought from S: L = 60.875 days = 2 months (no closed delivery of C), σ_L = S's measured
    #    spread of 17, 24, 19, 24 days = sqrt(38 / 3) = 3.559 days = 0.11693 months;
    #    SS = 1.64485 · sqrt(0 + 20² · 0.11693²) = 3.8467; ROP = 20 · 3 + 3.8467 = 63.847
    assert pol.loc["C", "lt_source"] == "measured (supplier)"
    assert pol.loc["C", "lead_time_std_days"] == pytest.approx((38 / 3) ** 0.5)
    assert pol.loc["C", "safety_stock"] == pytest.approx(3.8467, abs=1e-3)
    assert pol.loc["C", "reorder_point"] == pytest.approx(63.847, abs=1e-3)
    assert pol.loc["C", "cycle_service_level"] == 0.95  # the product's service_target, used as a CSL (z = 1.64485)
    assert pol.loc["C", "order_qty"] == 139  # sqrt(2 · 240 · 50 / 1.25) = 138.6 → 139
    # B sold 9 of the last 12 months (ADI 1.33 > 1.32): intermittent, empirical safety stock over L + R = 2
    # months of the last 24: 2-month sums 0 ×13, 10 ×2, 20 ×8 (mean 180/23); the 95 % quantile is the 22nd
    # of 23 = 20 → SS = 20 − 7.826 = 12.174; ROP = 7.5 · 2 + 12.174 = 27.174
    assert pol.loc["B", "method"] == "empirical"
    assert pol.loc["B", "safety_stock"] == pytest.approx(20 - 180 / 23)
    assert pol.loc["B", "reorder_point"] == pytest.approx(15 + 20 - 180 / 23)
    assert pol.loc["B", "demand_std"] == pytest.approx((225 / 11) ** 0.5)


def test_replenishment_proposals_service_with_alternate(engine: Engine) -> None:
    cycle_id = seed_small_company(engine)
    _add_alternate_supplier(engine)
    out = policy_service.replenishment_proposals(engine, cycle_id).set_index("sku")
    assert sorted(out.index) == ["A", "C"]  # B keeps 50 units ≥ its ROP 27.2
    a = out.loc["A"]
    # A: closing 0 in Nov (ROP 60) → Q = max(120, 60 + 30 − 0) = 120 in house, due in 30 days, after the stock-out
    assert (a["quantity"], a["supplier"], a["due_date"]) == (120.0, "in-house", pd.Timestamp("2026-12-01"))
    assert a["arrives_late"] and a["alternate_supplier"] is None
    c = out.loc["C"]
    # C: Q = max(139, 63.85 + 20) = 139 from S (OTIF 25 %, in full 75 %, 61 days → due 2027-01-01);
    # alternate T: measured 30 days (28, 30, 32), OTIF 100 %, MOQ 150 at 5.50 → Δ cost 825 − 695 = 130
    assert (c["quantity"], c["supplier"], c["due_date"]) == (139.0, "S", pd.Timestamp("2027-01-01"))
    assert c["supplier_otif"] == 0.25
    assert c["reason"].startswith("OTIF 25 % < 90 %; in full 75 % < 95 %")
    assert (c["alternate_supplier"], c["alternate_otif"]) == ("T", 1.0)
    assert c["lead_time_diff_days"] == pytest.approx(30 - 60.875)
    assert c["cost_diff"] == pytest.approx(130.0)
    assert c["switch_recommended"]


def test_consensus_demand_replaces_the_forecast_when_offered(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    cycle_id = seed_small_company(engine)

    def consensus_demand(_engine: Engine, _cycle_id: int) -> pd.DataFrame:
        return pd.DataFrame({"sku": ["A", "C"], "period": [NOV, NOV], "qty": [50.0, 40.0]})

    def no_consensus(_engine: Engine, _cycle_id: int) -> pd.DataFrame:  # the demand review has none yet
        return pd.DataFrame(columns=["sku", "period", "qty"])

    monkeypatch.setattr(supply_service, "consensus_demand", consensus_demand)
    plan, source = supply_service.plan_demand(engine, cycle_id)
    assert source == "consensus" and plan["quantity"].tolist() == [50.0, 40.0]
    # R in Nov: A 50 · 1.0 + C 40 · 0.5 = 70 h of 100
    assert supply_service.capacity_load(engine, cycle_id)["load_hours"].tolist() == [70.0]
    a = supply_service.projected_inventory(engine, cycle_id, sku="A")
    assert a[["demand", "closing"]].values.tolist() == [[50.0, 25.0]]  # 60 + 15 − 50
    monkeypatch.setattr(supply_service, "consensus_demand", no_consensus)
    assert supply_service.plan_demand(engine, cycle_id)[1] == "statistical forecast"


def test_review_key_follows_the_plan_and_the_stock(engine: Engine) -> None:
    # the page caches the review under this key: an override, a stock count or a receipt changes it, and the
    # review computed again shows the change
    cycle_id = seed_small_company(engine)
    before = supply_review.review_key(engine, cycle_id, "2026-11")
    first = supply_review.review(engine, cycle_id, "2026-11")
    assert supply_review.review_key(engine, cycle_id, "2026-11") == before  # reading changes nothing
    with session_scope(engine) as s:
        override_repo.add_override(s, cycle_id=cycle_id, level="sku", item="A", period=NOV.date(), value=500.0,
                                   pct=None, reason="promo", comment="", author="ann")
    after = supply_review.review_key(engine, cycle_id, "2026-11")
    assert after != before
    # R in Nov: A 500 · 1.0 + C 20 · 0.5 = 510 h instead of the forecast's
    loaded = supply_review.review(engine, cycle_id, "2026-11").load
    assert loaded["load_hours"].iloc[0] == pytest.approx(510.0)
    assert first.load["load_hours"].iloc[0] != pytest.approx(510.0)
    with session_scope(engine) as s:
        repo.upsert_frame(s, "inventory", pd.DataFrame({"sku": ["A"], "as_of": [pd.Timestamp("2026-10-31")],
                                                        "on_hand": [61.0]}))
    assert supply_review.review_key(engine, cycle_id, "2026-11") not in (before, after)
