"""What-if scenarios: hand-checked plan and financials, lever arithmetic, comparison, speed."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd
import pytest

from sop_core.planning import scenario
from sop_core.planning.levers import Levers, ScenarioInputError, describe_levers
from sop_core.planning.scenario import evaluate
from sop_core.planning.scenario_inputs import ScenarioInputs
from sop_core.planning.scenario_result import LINE_COLUMNS, by_family_period, compare, inventory_profile, supply_gap

JAN, FEB, MAR = pd.Timestamp("2027-01-01"), pd.Timestamp("2027-02-01"), pd.Timestamp("2027-03-01")
#: These inputs carry no inventory policy (safety stock 0): the hand checks below hold one month of next
#: month's demand as the end-of-month target on top of it.
COVER_1 = Levers(cover_months=1)


def two_skus(receipts: pd.DataFrame | None = None) -> ScenarioInputs:
    """A: price 10, cost 6, holding 24 %/year (0.12 per unit-month); B: price 20, cost 12, 12 %/year (0.12)."""
    return ScenarioInputs(
        demand=pd.DataFrame(
            {
                "sku": ["A", "A", "A", "B", "B", "B"],
                "period": [JAN, FEB, MAR] * 2,
                "qty": [100.0, 100.0, 100.0, 50.0, 60.0, 40.0],
            }
        ),
        products=pd.DataFrame(
            {
                "sku": ["A", "B"],
                "family": ["F1", "F2"],
                "unit_price": [10.0, 20.0],
                "unit_cost": [6.0, 12.0],
                "holding_rate": [0.24, 0.12],
            }
        ),
        on_hand=pd.DataFrame({"sku": ["A", "B"], "qty": [150.0, 20.0]}),
        receipts=receipts if receipts is not None else pd.DataFrame({"sku": ["B"], "period": [JAN], "qty": [10.0]}),
    )


def line(result, sku: str, period: pd.Timestamp) -> pd.Series:
    lines = result.lines
    return lines[(lines["sku"] == sku) & (lines["period"] == period)].iloc[0]


def test_baseline_plan_lines_hand_checked() -> None:
    # Default levers: cover 1 month of next month's demand, first month frozen (open orders only).
    # A: Jan: 150 on hand, no production (frozen): serve 100, end 50.
    #    Feb: target = 1 × 100 (Mar); produce 100 + 100 − 50 = 150; serve 100; end 100.
    #    Mar: target = 100 (last month uses its own demand); produce 100 + 100 − 100 = 100; end 100.
    # B: Jan: 20 on hand + 10 open order = 30 < 50: serve 30, short 20, end 0.
    #    Feb: target = 40 (Mar); produce 60 + 40 − 0 = 100; serve 60; end 40.
    #    Mar: target = 40; produce 40 + 40 − 40 = 40; serve 40; end 40.
    result = evaluate(two_skus(), COVER_1)
    assert list(result.lines.columns) == LINE_COLUMNS
    assert len(result.lines) == 6
    expected = {
        ("A", JAN): (100, 0, 100, 0, 50),
        ("A", FEB): (100, 150, 100, 0, 100),
        ("A", MAR): (100, 100, 100, 0, 100),
        ("B", JAN): (50, 10, 30, 20, 0),
        ("B", FEB): (60, 100, 60, 0, 40),
        ("B", MAR): (40, 40, 40, 0, 40),
    }
    for (sku, period), (dem, sup, served, short, inv) in expected.items():
        row = line(result, sku, period)
        got = (row.demand_qty, row.supply_qty, row.served_qty, row.shortage_qty, row.inventory_qty)
        assert got == pytest.approx((dem, sup, served, short, inv)), (sku, period)
    b_jan = line(result, "B", JAN)
    assert b_jan.receipt_qty == 10 and b_jan.production_qty == 0
    # B, Feb: revenue 60 × 20 = 1200; cost 60 × 12 + 40 × 12 × 0.12 / 12 = 720 + 4.8 = 724.8
    b_feb = line(result, "B", FEB)
    assert b_feb.revenue == pytest.approx(1200.0)
    assert b_feb.cost == pytest.approx(724.8)
    assert b_feb.inventory_value == pytest.approx(480.0)


def test_baseline_kpis_hand_checked() -> None:
    k = evaluate(two_skus(), COVER_1).kpis
    # revenue = A 300 × 10 + B (30 + 60 + 40) × 20 = 3000 + 2600 = 5600
    assert k["revenue"] == pytest.approx(5600.0)
    # COGS = 300 × 6 + 130 × 12 = 1800 + 1560 = 3360
    assert k["cogs"] == pytest.approx(3360.0)
    # holding = (50 + 100 + 100) × 6 × 0.24 / 12 + (0 + 40 + 40) × 12 × 0.12 / 12 = 30 + 9.6 = 39.6
    assert k["holding_cost"] == pytest.approx(39.6)
    # margin = 5600 − 3360 − 39.6 = 2200.4; margin rate = 2200.4 / 5600 = 0.392928…
    assert k["margin"] == pytest.approx(2200.4)
    assert k["margin_rate"] == pytest.approx(2200.4 / 5600)
    # inventory value: Jan 50 × 6 = 300; Feb 100 × 6 + 40 × 12 = 1080; Mar 1080 → end 1080, average 2460 / 3 = 820
    assert k["inventory_value_end"] == pytest.approx(1080.0)
    assert k["inventory_value_avg"] == pytest.approx(820.0)
    # fill rate = served / demand = (300 + 130) / (300 + 150) = 430 / 450; stockout = 20 units of B in January
    assert k["fill_rate"] == pytest.approx(430 / 450)
    assert k["stockout_units"] == pytest.approx(20.0)
    assert k["demand_units"] == pytest.approx(450.0)
    # supply = A 0 + 150 + 100 + B 10 + 100 + 40 = 400
    assert k["supply_units"] == pytest.approx(400.0)


def test_demand_plus_ten_percent_exact_quantities() -> None:
    result = evaluate(two_skus(), Levers(cover_months=1, demand_change_pct=10))
    demand = result.lines.set_index(["sku", "period"])["demand_qty"]
    assert demand.to_numpy() == pytest.approx([110, 110, 110, 55, 66, 44])
    # A: Jan serve 110 of 150, end 40; Feb produce 110 + 110 − 40 = 180, end 110; Mar produce 110, end 110.
    # B: Jan 30 available of 55: short 25; Feb produce 66 + 44 = 110, end 44; Mar produce 44 + 44 − 44 = 44.
    supply = result.lines.set_index(["sku", "period"])["supply_qty"]
    assert supply.to_numpy() == pytest.approx([0, 180, 110, 10, 110, 44])
    k = result.kpis
    # revenue = 330 × 10 + (30 + 66 + 44) × 20 = 3300 + 2800 = 6100
    assert k["revenue"] == pytest.approx(6100.0)
    assert k["stockout_units"] == pytest.approx(25.0)
    assert k["fill_rate"] == pytest.approx(470 / 495)


def test_family_change_multiplies_on_top_of_total_change() -> None:
    result = evaluate(two_skus(), Levers(cover_months=1, demand_change_pct=10, family_changes={"F2": 20}))
    demand = result.lines.set_index(["sku", "period"])["demand_qty"]
    # B × 1.10 × 1.20 = × 1.32: 66, 79.2, 52.8; A × 1.10 only
    assert demand.to_numpy() == pytest.approx([110, 110, 110, 66, 79.2, 52.8])


def test_price_change_and_elasticity() -> None:
    # +10 % price, no elasticity: same quantities, revenue 5600 × 1.1 = 6160, COGS unchanged
    k = evaluate(two_skus(), Levers(cover_months=1, price_change_pct=10)).kpis
    assert k["revenue"] == pytest.approx(6160.0)
    assert k["cogs"] == pytest.approx(3360.0)
    # elasticity −2: demand × 1.1^−2 = × 0.826446…
    lines = evaluate(two_skus(), Levers(cover_months=1, price_change_pct=10, price_elasticity=-2)).lines
    assert lines["demand_qty"].sum() == pytest.approx(450 / 1.21)


def test_cost_change_raises_cogs_and_inventory_value() -> None:
    k = evaluate(two_skus(), Levers(cover_months=1, cost_change_pct=50)).kpis
    assert k["cogs"] == pytest.approx(3360.0 * 1.5)
    assert k["inventory_value_end"] == pytest.approx(1080.0 * 1.5)


def test_no_frozen_period_and_zero_cover() -> None:
    # frozen 0, cover 0: production fills every gap exactly → no stockout, B ends every month at 0
    result = evaluate(two_skus(), Levers(frozen_periods=0, cover_months=0))
    assert result.kpis["fill_rate"] == pytest.approx(1.0)
    b = result.lines[result.lines["sku"] == "B"]
    assert b["production_qty"].to_numpy() == pytest.approx([20, 60, 40])  # Jan: 50 − 30 available
    assert b["inventory_qty"].to_numpy() == pytest.approx([0, 0, 0])


def test_open_orders_overdue_arrive_first_and_late_ones_are_ignored() -> None:
    receipts = pd.DataFrame(
        {
            "sku": ["B", "B", "B", "ZZZ"],
            "period": [pd.Timestamp("2026-12-01"), JAN, pd.Timestamp("2027-06-01"), JAN],
            "qty": [5.0, 10.0, 999.0, 999.0],
        }
    )
    b_jan = line(evaluate(two_skus(receipts), COVER_1), "B", JAN)
    # 20 on hand + 5 overdue + 10 due in January = 35 served, 15 short
    assert b_jan.receipt_qty == pytest.approx(15.0)
    assert b_jan.served_qty == pytest.approx(35.0)
    assert b_jan.shortage_qty == pytest.approx(15.0)


def test_compare_deltas_vs_first() -> None:
    base = evaluate(two_skus(), COVER_1)
    up = evaluate(two_skus(), Levers(cover_months=1, demand_change_pct=10))
    table = compare({"Baseline": base, "Demand +10 %": up})
    assert list(table.columns) == ["label", "Baseline", "Demand +10 %", "Δ Demand +10 %"]
    assert table.loc["revenue", "Δ Demand +10 %"] == pytest.approx(500.0)
    assert table.loc["stockout_units", "Δ Demand +10 %"] == pytest.approx(5.0)
    assert table.loc["fill_rate", "Baseline"] == pytest.approx(430 / 450)
    assert table.loc["revenue", "label"] == "Revenue"
    assert table.index[0] == "revenue"


def test_inventory_profile_and_family_table() -> None:
    base = evaluate(two_skus(), COVER_1)
    profile = inventory_profile({"Baseline": base})
    assert profile["inventory_value"].to_numpy() == pytest.approx([300, 1080, 1080])
    per_family = inventory_profile({"Baseline": base}, by="family")
    f2 = per_family[per_family["family"] == "F2"]
    assert f2["inventory_qty"].to_numpy() == pytest.approx([0, 40, 40])
    table = by_family_period(base.lines)
    f1_feb = table[(table["family"] == "F1") & (table["period"] == FEB)].iloc[0]
    # F1 Feb: revenue 1000, cost 100 × 6 + 100 × 0.12 = 612 → margin 388
    assert f1_feb["margin"] == pytest.approx(388.0)


def test_gap_and_inventory_profile_are_the_lines_summed_to_the_last_bit_without_making_the_lines() -> None:
    inputs = synthetic(n_sku=300)  # SKUs of 8 families interleaved, so each family's sum runs over scattered rows
    result = evaluate(inputs, Levers(demand_change_pct=40, cover_months=1))
    gap = supply_gap(result)
    totals = inventory_profile({"S": result}, by="total")
    per_family = inventory_profile({"S": result}, by="family")
    assert "lines" not in vars(result)  # the lever step reads the KPIs and these totals only
    lines = result.lines
    assert len(lines) == result.n_lines == 300 * 18
    expected = lines.groupby(["family", "period"], as_index=False)[["demand_qty", "served_qty", "shortage_qty"]].sum()
    assert gap["shortage_qty"].sum() > 0
    pd.testing.assert_frame_equal(gap.drop(columns="constraint"), expected, check_exact=True)
    value_cols = ["inventory_qty", "shortage_qty", "inventory_value"]
    for keys, shown in ((["period"], totals), (["family", "period"], per_family)):
        grouped = lines[keys + value_cols].groupby(keys, as_index=False).sum()
        pd.testing.assert_frame_equal(shown.drop(columns="scenario"), grouped, check_exact=True)


def test_levers_roundtrip_and_validation() -> None:
    levers = Levers(demand_change_pct=12.5, family_changes={"F2": -5}, price_change_pct=3, frozen_periods=2)
    data = levers.to_dict()
    assert data["family_changes"] == {"F2": -5.0}
    assert Levers.from_dict(data) == levers
    assert hash(Levers.from_dict(data)) == hash(levers)
    assert Levers.from_dict({}) == Levers()
    with pytest.raises(ScenarioInputError, match="unknown lever"):
        Levers.from_dict({"demand_change": 5})
    with pytest.raises(ScenarioInputError, match="demand_change_pct"):
        Levers(demand_change_pct=-100)


def test_missing_product_is_named() -> None:
    inputs = two_skus()
    bad = ScenarioInputs(inputs.demand, inputs.products.iloc[:1], inputs.on_hand, inputs.receipts)
    with pytest.raises(ScenarioInputError, match="no row for demand SKU"):
        evaluate(bad)


def synthetic(n_sku: int = 160, n_month: int = 18, seed: int = 3) -> ScenarioInputs:
    rng = np.random.default_rng(seed)
    skus = [f"S{i:04d}" for i in range(n_sku)]
    periods = pd.date_range("2026-11-01", periods=n_month, freq="MS")
    grid = pd.MultiIndex.from_product([skus, periods], names=["sku", "period"]).to_frame(index=False)
    return ScenarioInputs(
        demand=grid.assign(qty=rng.gamma(2.0, 50.0, len(grid))),
        products=pd.DataFrame(
            {
                "sku": skus,
                "family": [f"FAM{i % 8}" for i in range(n_sku)],
                "unit_price": rng.uniform(10, 100, n_sku),
                "unit_cost": rng.uniform(5, 50, n_sku),
                "holding_rate": 0.25,
            }
        ),
        on_hand=pd.DataFrame({"sku": skus, "qty": rng.uniform(0, 300, n_sku)}),
        receipts=grid.sample(frac=0.1, random_state=seed).assign(qty=100.0),
    )


def test_plans_kept_per_inputs_are_bounded_by_their_lines_and_the_last_used_stay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 160 SKUs × 18 months = 2,880 lines a plan; room for 3 plans: the baseline, used before each lever, stays
    monkeypatch.setattr(scenario, "CACHED_LINES", 3 * 2_880)
    inputs = synthetic()
    base = evaluate(inputs)
    for pct in (1, 2, 3, 4, 5):
        assert evaluate(inputs, Levers()) is base
        evaluate(inputs, Levers(demand_change_pct=pct))
        assert len(inputs._cache) <= 3
    assert evaluate(inputs, Levers()) is base
    assert evaluate(inputs, Levers(demand_change_pct=5)) is evaluate(inputs, Levers(demand_change_pct=5))
    assert len(inputs._cache) == 3
    # more plans than room, the baseline not used meanwhile (a review evaluating saved scenarios): it stays
    for pct in (6, 7, 8, 9):
        evaluate(inputs, Levers(demand_change_pct=pct))
    assert len(inputs._cache) == 3 and evaluate(inputs, Levers()) is base


def test_evaluate_speed_on_demo_size() -> None:
    inputs = synthetic()
    start = time.perf_counter()
    evaluate(inputs, Levers(cover_months=1, demand_change_pct=5))  # includes building the dense grid once
    cold = time.perf_counter() - start
    start = time.perf_counter()
    for pct in range(10):
        evaluate(inputs, Levers(cover_months=1, demand_change_pct=pct))
    warm = (time.perf_counter() - start) / 10
    print(f"evaluate 160 SKUs × 18 months: first {cold * 1000:.1f} ms, then {warm * 1000:.1f} ms per call")
    assert cold < 1.0 and warm < 1.0


# --------------------------------------------------------------------------- constrained plan (LP) scenarios
def constrained() -> ScenarioInputs:
    """The two SKUs with capacity and suppliers: A is made on R (2 h/unit; 200 regular + 40 overtime
    hours a month at 1 €/h); B is bought from S1 (preferred, 12 €/unit, 10 days) or S2 (alternate,
    13 €/unit, 45 days). Supplier capacity by the documented default: S1 1.5 × 50 = 75 units a
    month, S2 0.5 × 75 = 37.5. Safety-stock target = next month's demand (cover 1), penalty
    2 × holding = 0.24 €/unit-month for both SKUs."""
    base = two_skus()
    return ScenarioInputs(
        base.demand,
        base.products,
        base.on_hand,
        base.receipts,
        routing=pd.DataFrame({"sku": ["A"], "resource": ["R"], "hours_per_unit": [2.0]}),
        resources=pd.DataFrame(
            {"resource": ["R"], "capacity_hours": [200.0], "overtime_hours": [40.0], "overtime_cost_per_hour": [1.0]}
        ),
        supplier_items=pd.DataFrame(
            {
                "supplier": ["S1", "S2"],
                "sku": ["B", "B"],
                "lead_time_days": [10.0, 45.0],
                "unit_cost": [12.0, 13.0],
                "priority": [1, 2],
            }
        ),
    )


def quantities(result, sku: str, column: str) -> list[float]:
    lines = result.lines
    return lines[lines["sku"] == sku].sort_values("period")[column].tolist()


def test_constrained_baseline_hand_checked() -> None:
    # A: January frozen: 150 − 100 = 50 left. Feb and Mar: 100 units on regular time (200 h); the
    #    safety target of 100 would need overtime at 2 €/unit, dearer than its 0.24 €/unit-month penalty.
    # B: S1 can deliver in January (10 days): 20 + 10 open + 75 (S1 full) = 105 − 50 = 55 left
    #    (target 60); Feb: 60 + 40 − 55 = 45; Mar: 40 + 40 − 40 = 40 (end stock credited at 12 = cost).
    result = evaluate(constrained(), COVER_1)
    assert quantities(result, "A", "production_qty") == pytest.approx([0.0, 100.0, 100.0])
    assert quantities(result, "A", "inventory_qty") == pytest.approx([50.0, 50.0, 50.0])
    assert quantities(result, "B", "production_qty") == pytest.approx([75.0, 45.0, 40.0])
    assert quantities(result, "B", "inventory_qty") == pytest.approx([55.0, 40.0, 40.0])
    k = result.kpis
    # revenue 300 × 10 + 150 × 20 = 6000; COGS 300 × 6 + 150 × 12 = 3600
    # holding (50 × 3) × 0.12 + (55 + 40 + 40) × 0.12 = 18 + 16.2 = 34.2; margin 6000 − 3600 − 34.2
    assert k["revenue"] == pytest.approx(6000.0)
    assert k["cogs"] == pytest.approx(3600.0)
    assert k["holding_cost"] == pytest.approx(34.2)
    assert k["overtime_cost"] == pytest.approx(0.0) and k["sourcing_premium"] == pytest.approx(0.0)
    assert k["margin"] == pytest.approx(2365.8)
    assert k["fill_rate"] == pytest.approx(1.0) and k["stockout_units"] == pytest.approx(0.0)
    # end stock 50 × 6 + 40 × 12 = 780; days of cover = 90 units / (450 / 3 / 30.4375 per day)
    assert k["inventory_value_end"] == pytest.approx(780.0)
    assert k["days_of_cover"] == pytest.approx(90 / (150 / 30.4375))
    assert result.balance is not None and result.balance.status == "Optimal"


def test_constrained_demand_push_uses_overtime() -> None:
    # +30 %: A 130 a month. Jan: 150 − 130 = 20. Feb and Mar: 100 regular + 20 on overtime (40 h × 1 €)
    #   → 20 + 120 − 130 = 10, then 10 + 120 − 130 = 0. B 65, 78, 52: buys 75, 75, 67 → stock 40, 37, 52.
    result = evaluate(constrained(), Levers(cover_months=1, demand_change_pct=30))
    assert quantities(result, "A", "production_qty") == pytest.approx([0.0, 120.0, 120.0])
    assert quantities(result, "B", "inventory_qty") == pytest.approx([40.0, 37.0, 52.0])
    k = result.kpis
    # revenue 390 × 10 + 195 × 20 = 7800; COGS 390 × 6 + 195 × 12 = 4680; overtime 80 h × 1 € = 80
    # holding (20 + 10 + 0) × 0.12 + (40 + 37 + 52) × 0.12 = 3.6 + 15.48; margin = 7800 − 4680 − 19.08 − 80
    assert k["revenue"] == pytest.approx(7800.0)
    assert k["overtime_cost"] == pytest.approx(80.0)
    assert k["margin"] == pytest.approx(3020.92)
    # the overtime is A's (the only SKU made on R), in the months it is worked; the lines add up to the margin
    assert quantities(result, "A", "overtime_cost") == pytest.approx([0.0, 40.0, 40.0])
    assert (result.lines["revenue"] - result.lines["cost"]).sum() == pytest.approx(k["margin"])
    assert k["fill_rate"] == pytest.approx(1.0)


def test_constrained_no_overtime_loses_sales_at_the_named_resource() -> None:
    # Without overtime A is served 130, 120, 100: 40 units lost (10 in Feb, 30 in Mar), 4 € margin each.
    result = evaluate(constrained(), Levers(cover_months=1, demand_change_pct=30, overtime_allowed=False))
    assert quantities(result, "A", "shortage_qty") == pytest.approx([0.0, 10.0, 30.0])
    k = result.kpis
    assert k["overtime_cost"] == pytest.approx(0.0)
    assert k["stockout_units"] == pytest.approx(40.0)
    assert k["shortage_cost"] == pytest.approx(160.0)
    assert k["fill_rate"] == pytest.approx(545 / 585)
    # revenue 3500 + 3900 = 7400; COGS 2100 + 2340 = 4440; holding 20 × 0.12 + 15.48 = 17.88
    assert k["margin"] == pytest.approx(7400 - 4440 - 17.88)
    gap = sc_gap(result)
    assert gap[("F1", FEB)] == (10.0, "capacity R") and gap[("F1", MAR)] == (30.0, "capacity R")
    # capacity +10 % (20 h = 10 units a month) closes a third of the March gap
    more = evaluate(
        constrained(), Levers(cover_months=1, demand_change_pct=30, overtime_allowed=False, capacity_changes={"R": 10})
    )
    assert quantities(more, "A", "shortage_qty") == pytest.approx([0.0, 0.0, 20.0])


def sc_gap(result) -> dict:
    gap = supply_gap(result)
    gap = gap[gap["shortage_qty"] > 1e-6]
    return {(r.family, r.period): (round(r.shortage_qty, 6), r.constraint) for r in gap.itertuples()}


def test_supplier_disruption_switches_to_the_alternate() -> None:
    # S1 out in Feb and Mar: S2 (37.5 a month at 13 × 1.02 = 13.26) serves B: 37.5 in Feb, 7.5 in Mar.
    # Stock 55 → 32.5 → 0; premium paid 45 × (13 − 12) = 45 (the 2 % per priority step only steers the
    # plan); holding A 18 + B 87.5 × 0.12 = 10.5
    result = evaluate(constrained(), Levers(cover_months=1, supplier_disruptions={"S1": ["2027-02", "2027-03"]}))
    assert quantities(result, "B", "production_qty") == pytest.approx([75.0, 37.5, 7.5])
    assert quantities(result, "B", "inventory_qty") == pytest.approx([55.0, 32.5, 0.0])
    k = result.kpis
    assert k["sourcing_premium"] == pytest.approx(45.0)
    assert k["margin"] == pytest.approx(6000 - 3600 - 28.5 - 45.0)
    # the premium is B's, in the months S2 delivers: 37.5 and 7.5 units × 1 €; the lines add up to the margin
    assert quantities(result, "B", "sourcing_premium") == pytest.approx([0.0, 37.5, 7.5])
    assert (result.lines["revenue"] - result.lines["cost"]).sum() == pytest.approx(k["margin"])
    assert result.purchases.groupby("supplier")["qty"].sum().to_dict() == pytest.approx({"S1": 75.0, "S2": 45.0})
    assert k["fill_rate"] == pytest.approx(1.0)


def test_what_the_levers_leave_alone_is_worked_out_once_and_a_disruption_does_not_stay_in_it() -> None:
    inputs = constrained()
    push = Levers(cover_months=1, demand_change_pct=40)
    fresh = evaluate(constrained(), push).kpis
    evaluate(inputs, Levers(cover_months=1, supplier_disruptions={"S1": ["2027-01", "2027-03"]}))
    kept = dict(inputs._derived)
    assert {"plan_items", "sourcing", "supplier_pairs"} <= set(kept)
    # S1's default capacity (1.5 × 50 a month) is untouched by the disruption evaluated first
    assert kept["sourcing"].capacity.query("supplier == 'S1'")["qty"].tolist() == pytest.approx([75.0] * 3)
    assert evaluate(inputs, push).kpis == fresh
    assert all(inputs._derived[name] is value for name, value in kept.items())  # nothing worked out again


def test_longer_lead_time_leaves_january_short() -> None:
    # +30 days: S1 needs 40 days (first arrival in February); B's January is 30 units for 50 demand.
    result = evaluate(constrained(), Levers(cover_months=1, lead_time_change_days=30))
    assert quantities(result, "B", "shortage_qty")[0] == pytest.approx(20.0)
    assert sc_gap(result)[("F2", JAN)] == (20.0, "lead time (no new supply can arrive yet)")


def test_demand_change_by_period_range_and_sku() -> None:
    inputs = two_skus()
    result = evaluate(
        inputs, Levers(demand_change_pct=10, demand_from="2027-02", demand_to="2027-02", sku_changes={"B": 50})
    )
    demand = result.lines.set_index(["sku", "period"])["demand_qty"]
    assert demand[("A", JAN)] == pytest.approx(100.0) and demand[("A", MAR)] == pytest.approx(100.0)
    assert demand[("A", FEB)] == pytest.approx(110.0)
    assert demand[("B", FEB)] == pytest.approx(60 * 1.1 * 1.5)
    assert demand[("B", JAN)] == pytest.approx(50.0)


def test_new_levers_roundtrip() -> None:
    levers = Levers(
        capacity_changes={"R": -20},
        overtime_allowed=False,
        supplier_disruptions={"S1": ["2027-02", "2027-03"]},
        lead_time_change_days=14,
        fill_rate_target=0.97,
        sku_changes={"B": 5},
        demand_from="2027-02",
        overtime_cost_change_pct=10,
    )
    data = levers.to_dict()
    assert Levers.from_dict(data) == levers
    assert data["supplier_disruptions"] == {"S1": ["2027-02", "2027-03"]}
    with pytest.raises(ScenarioInputError, match="fill_rate_target"):
        Levers(fill_rate_target=1.2)
    with pytest.raises(ScenarioInputError, match="after"):
        Levers(supplier_disruptions={"S1": ["2027-03", "2027-02"]})


def test_service_level_target_serves_unprofitable_demand() -> None:
    # Unit costs doubled: A costs 12 to make and sells at 10, B costs 24 and sells at 20, so the
    # margin-maximising plan makes and buys nothing beyond the stock in hand. A 90 % fill target per
    # family forces 90 % of the demand to be served: 270 of A's 300 and 135 of B's 150.
    loose = evaluate(constrained(), Levers(cover_months=1, cost_change_pct=100))
    assert loose.kpis["supply_units"] == pytest.approx(10.0)  # B's open order only
    strict = evaluate(constrained(), Levers(cover_months=1, cost_change_pct=100, fill_rate_target=0.9))
    served = strict.lines.groupby("sku")["served_qty"].sum()
    assert served["A"] == pytest.approx(270.0) and served["B"] == pytest.approx(135.0)
    assert strict.kpis["fill_rate"] == pytest.approx(0.9)


# --------------------------------------------------------------------------- the family-level plan
FAMILY_CASES = [
    COVER_1,
    Levers(cover_months=1, demand_change_pct=30),
    Levers(cover_months=1, demand_change_pct=30, overtime_allowed=False),
    Levers(cover_months=1, supplier_disruptions={"S1": ["2027-02", "2027-03"]}),
    Levers(cover_months=1, lead_time_change_days=30),
    Levers(cover_months=1, cost_change_pct=100, fill_rate_target=0.9),
]


@pytest.mark.parametrize("levers", FAMILY_CASES, ids=describe_levers)
def test_family_level_of_one_sku_families_is_the_sku_plan(levers: Levers) -> None:
    """A and B are each their family's only SKU: planning per family × make/buy, after each SKU's own stock, gives
    the hand-checked SKU plans above (the same lines, to solver precision)."""
    sku = evaluate(constrained(), levers)
    family = evaluate(dataclasses.replace(constrained(), level="family"), levers)
    for column in ("production_qty", "served_qty", "inventory_qty", "overtime_cost", "sourcing_premium"):
        assert family.lines[column].to_numpy() == pytest.approx(sku.lines[column].to_numpy(), abs=1e-6), column
    assert family.kpis["margin"] == pytest.approx(sku.kpis["margin"])


def one_family(demand_x: list[float], on_hand_x: float, hours: float) -> ScenarioInputs:
    """Family F of two SKUs made on R (1 h/unit, ``hours`` regular hours and no overtime a month), price 10,
    cost 6, holding 12 %/year: X (``on_hand_x`` on hand, demand ``demand_x``) and Y (none on hand, 10 a month)."""
    return ScenarioInputs(
        demand=pd.DataFrame({"sku": ["X"] * 3 + ["Y"] * 3, "period": [JAN, FEB, MAR] * 2,
                             "qty": [*demand_x, 10.0, 10.0, 10.0]}),
        products=pd.DataFrame({"sku": ["X", "Y"], "family": ["F", "F"], "unit_price": [10.0, 10.0],
                               "unit_cost": [6.0, 6.0], "holding_rate": [0.12, 0.12]}),
        on_hand=pd.DataFrame({"sku": ["X"], "qty": [on_hand_x]}),
        receipts=pd.DataFrame(columns=["sku", "period", "qty"]),
        routing=pd.DataFrame({"sku": ["X", "Y"], "resource": ["R", "R"], "hours_per_unit": [1.0, 1.0]}),
        resources=pd.DataFrame({"resource": ["R"], "capacity_hours": [hours], "overtime_hours": [0.0],
                                "overtime_cost_per_hour": [0.0]}),
        level="family",
    )


def test_family_level_never_serves_a_sku_from_another_skus_stock() -> None:
    # X holds 100 units and sells 10 a month; Y holds none. The family's 100 units cannot serve Y: Y loses its
    # frozen January (10 units) and is made to order from February (10 a month); X lives on its stock.
    result = evaluate(one_family([10.0, 10.0, 10.0], 100.0, 1000.0), Levers())
    assert quantities(result, "Y", "production_qty") == pytest.approx([0.0, 10.0, 10.0])
    assert quantities(result, "Y", "shortage_qty") == pytest.approx([10.0, 0.0, 0.0])
    assert quantities(result, "X", "production_qty") == pytest.approx([0.0, 0.0, 0.0])
    assert quantities(result, "X", "inventory_qty") == pytest.approx([90.0, 80.0, 70.0])
    assert result.kpis["stockout_units"] == pytest.approx(10.0)


def test_family_level_gives_stock_built_ahead_to_the_sku_that_needs_it() -> None:
    # R makes 60 a month; March needs 110 (X 100, Y 10), so 50 are built ahead: 40 in February (all it has
    # spare) and 10 in January, as late as holding cost allows. The family's supply goes to its SKUs in the order
    # the units are needed: January's 30 = January's 20 + 10 of February's 20 (5 each); February's 60 = the
    # other 10 of February + 50 of March's 110 (X 100/110 of it); March's 60 = the rest of March. Nothing is lost.
    result = evaluate(one_family([10.0, 10.0, 100.0], 0.0, 60.0), Levers(frozen_periods=0))
    assert result.kpis["stockout_units"] == pytest.approx(0.0, abs=1e-6)
    made = result.lines.groupby("period")["production_qty"].sum().tolist()
    assert made == pytest.approx([30.0, 60.0, 60.0])
    x_march, y_march = 100 / 110, 10 / 110  # each SKU's part of March's units
    assert quantities(result, "X", "production_qty") == pytest.approx([15.0, 5.0 + 50 * x_march, 60 * x_march])
    assert quantities(result, "Y", "production_qty") == pytest.approx([15.0, 5.0 + 50 * y_march, 60 * y_march])
    # X: 15 − 10 = 5 (February's 5 ahead); 5 + 5 + 45.45 − 10 = 45.45 (March's, ahead); 45.45 + 54.55 − 100 = 0
    assert quantities(result, "X", "inventory_qty") == pytest.approx([5.0, 50 * x_march, 0.0], abs=1e-6)
