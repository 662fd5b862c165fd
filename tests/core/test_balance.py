"""Constrained plan and aggregate planning on HiGHS: a textbook optimum and hand-solved shadow prices."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sop_core.io.lp_files import lp_file_writer
from sop_core.planning import aggregate_planning as agg
from sop_core.planning import balance as bl
from sop_core.planning import balance_solve as bls
from sop_core.planning import linear_program as lpm

DATA = Path(__file__).resolve().parents[1] / "data"
JAN, FEB = pd.Timestamp("2027-01-01"), pd.Timestamp("2027-02-01")
PERIODS = pd.DatetimeIndex([JAN, FEB])


def red_tomato() -> dict:
    return json.loads((DATA / "aggregate_plan_red_tomato.json").read_text())


# --------------------------------------------------------------------------- Chopra & Meindl, Red Tomato Tools
def test_red_tomato_tools_lp_optimum() -> None:
    """Chopra & Meindl, Supply Chain Management, ch. 8, Red Tomato Tools: LP optimum $422,275."""
    case = red_tomato()
    result = agg.aggregate_plan(case["demand"], **case["params"])
    assert result.status == "Optimal"
    assert result.total_cost == pytest.approx(case["expected"]["lp_total_cost"], abs=0.01)
    plan = result.plan
    assert list(plan.columns[:10]) == [
        "demand",
        "workers",
        "hired",
        "laid_off",
        "regular_units",
        "overtime_hours",
        "production",
        "subcontracted",
        "inventory",
        "backlog",
    ]
    assert plan["cost"].sum() == pytest.approx(result.total_cost)
    _check_feasible(plan, case["params"])


def test_red_tomato_tools_integer_optimum() -> None:
    """Chopra & Meindl, ch. 8, Red Tomato Tools with whole workers and units: optimum $422,660."""
    case = red_tomato()
    result = agg.aggregate_plan(case["demand"], **case["params"], integer=True)
    assert result.total_cost == pytest.approx(case["expected"]["integer_total_cost"], abs=0.01)
    plan = result.plan
    whole = plan[["workers", "hired", "laid_off", "regular_units", "overtime_hours", "subcontracted", "inventory"]]
    assert np.allclose(whole, whole.round())
    _check_feasible(plan, case["params"])
    # the integer optimum costs more than the LP relaxation (it is a restriction of it)
    assert result.total_cost > case["expected"]["lp_total_cost"]


def _check_feasible(plan: pd.DataFrame, p: dict) -> None:
    workers = np.concatenate([[p["initial_workers"]], plan["workers"].to_numpy()])
    assert np.allclose(np.diff(workers), plan["hired"] - plan["laid_off"])
    assert (plan["regular_units"] * p["hours_per_unit"] <= plan["workers"] * p["hours_per_worker"] + 1e-6).all()
    assert (plan["overtime_hours"] <= plan["workers"] * p["max_overtime_hours_per_worker"] + 1e-6).all()
    net = np.concatenate([[p["initial_inventory"]], (plan["inventory"] - plan["backlog"]).to_numpy()])
    supply = plan["production"] + plan["subcontracted"]
    assert np.allclose(np.diff(net), supply - plan["demand"])
    assert plan["inventory"].iloc[-1] >= p["min_final_inventory"] - 1e-6
    assert plan["backlog"].iloc[-1] == pytest.approx(0.0)


def test_aggregate_plan_keeps_period_labels_and_writes_lp(tmp_path: Path) -> None:
    case = red_tomato()
    months = pd.Series(case["demand"], index=pd.date_range("2027-01-01", periods=6, freq="MS"))
    path = tmp_path / "red_tomato.lp"
    result = agg.aggregate_plan(months, **case["params"], before_solve=lp_file_writer(path))
    assert list(result.plan.index) == list(months.index)
    text = path.read_text()
    assert "workers_1" in text and "balance_6" in text and "capacity_3" in text


def test_aggregate_plan_rejects_bad_input() -> None:
    params = red_tomato()["params"] | {"hours_per_unit": 0}
    with pytest.raises(lpm.BalanceError, match="hours_per_unit"):
        agg.aggregate_plan([100.0], **params)
    with pytest.raises(lpm.BalanceError, match="demand"):
        agg.aggregate_plan([-1.0], **red_tomato()["params"])


# --------------------------------------------------------------------------- constrained plan, hand-solved
def one_line(demand: float = 100.0, objective: bl.Objective = "max_margin", **items: float) -> bl.BalanceInputs:
    """Item A: price 50, make cost 20, 2 h/unit on R; R: 100 regular + 20 overtime hours at 5 €/h a month."""
    return bl.BalanceInputs(
        periods=PERIODS,
        items=pd.DataFrame(
            {
                "item": ["A"],
                "unit_price": [50.0],
                "make_cost": [20.0],
                "holding_cost": [1.0],
                **{k: [v] for k, v in items.items()},
            }
        ),
        demand=pd.DataFrame({"item": ["A", "A"], "period": PERIODS, "qty": [demand, demand]}),
        routing=pd.DataFrame({"item": ["A"], "resource": ["R"], "hours_per_unit": [2.0]}),
        capacity=pd.DataFrame(
            {
                "resource": ["R", "R"],
                "period": PERIODS,
                "regular_hours": [100.0, 100.0],
                "overtime_hours": [20.0, 20.0],
                "overtime_cost_per_hour": [5.0, 5.0],
            }
        ),
        objective=objective,
    )


def test_capacity_shadow_price_is_the_margin_per_hour_when_overtime_is_used_up() -> None:
    # 120 h a month make 60 units; 40 of the 100 are lost. One more regular hour makes half a unit
    # more: 0.5 × (50 − 20) = €15/h. Margin = 2 × (60 × 50 − 60 × 20 − 20 h × 5) = 2 × 1700 = 3400.
    result = bls.balance_plan(one_line())
    assert result.objective == pytest.approx(3400.0)
    assert result.cost["overtime"] == pytest.approx(200.0) and result.cost["make"] == pytest.approx(2400.0)
    assert result.plan["make"].tolist() == pytest.approx([60.0, 60.0])
    assert result.plan["lost"].tolist() == pytest.approx([40.0, 40.0])
    assert result.plan["constraint"].tolist() == ["capacity R", "capacity R"]
    assert result.resources["shadow_price"].tolist() == pytest.approx([15.0, 15.0])
    assert result.binding["name"].tolist() == ["cap_R_2027-01", "cap_R_2027-02"]
    assert bls.shadow_price_notes(result)[0] == "One more hour on R in 2027-01 is worth €15.00"


def test_capacity_shadow_price_is_the_overtime_rate_while_overtime_is_left() -> None:
    # 55 units need 110 h: 100 regular + 10 overtime of 20. One more regular hour saves one overtime
    # hour: €5/h. Nothing is lost.
    result = bls.balance_plan(one_line(demand=55.0))
    assert result.plan["lost"].sum() == pytest.approx(0.0)
    assert result.resources["overtime_hours"].tolist() == pytest.approx([10.0, 10.0])
    assert result.resources["shadow_price"].tolist() == pytest.approx([5.0, 5.0])


def test_min_cost_objective_counts_the_shortage_cost() -> None:
    # Same plan as the margin case with a lost sale costing 50: cost = make 2400 + overtime 200
    # + 80 lost × 50 = 6600 (= revenue 10 000 − margin 3400).
    result = bls.balance_plan(one_line(objective="min_cost", shortage_cost=50.0))
    assert result.objective == pytest.approx(6600.0)
    # a lost sale that costs less than making the unit on overtime (20 + 2 × 5 = 30) is preferred
    cheap = bls.balance_plan(one_line(objective="min_cost", shortage_cost=25.0))
    assert cheap.resources["overtime_hours"].sum() == pytest.approx(0.0)
    assert cheap.plan["lost"].tolist() == pytest.approx([50.0, 50.0])
    assert cheap.resources["shadow_price"].tolist() == pytest.approx([2.5, 2.5])  # (25 − 20) / 2 h


def bought(s2_capacity: float | None, first_period: int = 0) -> bl.BalanceInputs:
    """Item B (price 30): S1 preferred at 10 €/unit, 50 units a month; S2 alternate at 12 €/unit."""
    caps = [("S1", 50.0)] + ([("S2", s2_capacity)] if s2_capacity is not None else [])
    return bl.BalanceInputs(
        periods=PERIODS,
        items=pd.DataFrame({"item": ["B"], "unit_price": [30.0], "make_cost": [10.0], "holding_cost": [0.5]}),
        demand=pd.DataFrame({"item": ["B", "B"], "period": PERIODS, "qty": [80.0, 80.0]}),
        sourcing=pd.DataFrame(
            {
                "item": ["B", "B"],
                "supplier": ["S1", "S2"],
                "unit_cost": [10.0, 12.0],
                "priority": [1, 2],
                "first_period": [first_period, first_period],
            }
        ),
        supplier_capacity=pd.DataFrame(
            [(s, p, q) for s, q in caps for p in PERIODS], columns=["supplier", "period", "qty"]
        ),
    )


def test_alternate_supplier_fills_in_and_prices_the_preferred_capacity() -> None:
    # 50 from S1, 30 from S2 at 12 × 1.02 (priority premium) = 12.24; one more unit from S1 saves 2.24.
    result = bls.balance_plan(bought(None))
    got = result.purchases.groupby("supplier")["qty"].sum().to_dict()
    assert got == pytest.approx({"S1": 100.0, "S2": 60.0})
    s1 = result.suppliers[result.suppliers["supplier"] == "S1"]
    assert s1["shadow_price"].tolist() == pytest.approx([2.24, 2.24])
    assert result.plan["lost"].sum() == pytest.approx(0.0)


def test_both_suppliers_full_lost_sales_name_the_supplier() -> None:
    # S2 capped at 20: 10 units a month are lost; S1's extra unit is worth 30 − 10 = 20, S2's 30 − 12.24.
    result = bls.balance_plan(bought(20.0))
    prices = result.suppliers.groupby("supplier")["shadow_price"].first().to_dict()
    assert prices == pytest.approx({"S1": 20.0, "S2": 17.76})
    assert result.plan["lost"].tolist() == pytest.approx([10.0, 10.0])
    assert set(result.plan["constraint"]) == {"supplier S1"}
    assert bls.shadow_price_notes(result, top=1) == ["One more unit from S1 in 2027-01 is worth €20.00"]


def two_families_one_supplier(s1_for_c: float) -> bl.BalanceInputs:
    """Items B (as in :func:`bought`) and C (price 40, demand 10 a month, S1 only at 10 €/unit); S1's capacity
    is given per item: 50 a month for B, ``s1_for_c`` for C; S2 unlimited."""
    base = bought(None)
    items = pd.concat([base.items, pd.DataFrame({"item": ["C"], "unit_price": [40.0], "make_cost": [10.0],
                                                 "holding_cost": [0.5]})], ignore_index=True)
    demand = pd.concat([base.demand, pd.DataFrame({"item": ["C", "C"], "period": PERIODS, "qty": [10.0, 10.0]})])
    sourcing = pd.concat([base.sourcing, pd.DataFrame({"item": ["C"], "supplier": ["S1"], "unit_cost": [10.0],
                                                       "priority": [1], "first_period": [0]})], ignore_index=True)
    capacity = pd.DataFrame([("S1", item, p, q) for item, q in (("B", 50.0), ("C", s1_for_c)) for p in PERIODS],
                            columns=["supplier", "item", "period", "qty"])
    return bl.BalanceInputs(periods=PERIODS, items=items, demand=demand, sourcing=sourcing,
                            supplier_capacity=capacity, presolve=False)


def test_supplier_capacity_per_item_caps_each_items_buys() -> None:
    # per item, S1 sells B at most 50 a month whatever C leaves unused: B buys 50 from S1 and 30 from S2 as
    # before; C gets its 10 from S1 (capacity 100 for C). S1 is full only for B: one more unit for B saves
    # 12.24 − 10 = 2.24, the supplier's shadow price; its capacity is the sum over its items.
    result = bls.balance_plan(two_families_one_supplier(100.0))
    got = result.purchases.groupby(["item", "supplier"])["qty"].sum().to_dict()
    assert got == pytest.approx({("B", "S1"): 100.0, ("B", "S2"): 60.0, ("C", "S1"): 20.0})
    s1 = result.suppliers[result.suppliers["supplier"] == "S1"]
    assert s1["shadow_price"].tolist() == pytest.approx([2.24, 2.24])
    assert s1["capacity"].tolist() == pytest.approx([150.0, 150.0])
    assert "sup_S1_2027-01" not in set(result.duals["name"])  # bounds of the buy columns, not rows


def test_supplier_capacity_per_item_prices_a_short_item() -> None:
    # S1 may sell C only 4 a month: 6 of C's 10 are lost each month; one more unit for C is worth 40 − 10 = 30,
    # more than the 2.24 for B: the supplier's shadow price is the larger, and it names C's lost sales.
    result = bls.balance_plan(two_families_one_supplier(4.0))
    lost = result.plan.groupby("item")["lost"].sum().to_dict()
    assert lost == pytest.approx({"B": 0.0, "C": 12.0})
    prices = result.suppliers.groupby("supplier")["shadow_price"].first().to_dict()
    assert prices == pytest.approx({"S1": 30.0, "S2": 0.0})
    assert set(result.plan.loc[result.plan["item"] == "C", "constraint"]) == {"supplier S1"}


def test_lead_time_blocks_the_first_month() -> None:
    result = bls.balance_plan(bought(None, first_period=1))
    assert result.plan["lost"].tolist() == pytest.approx([80.0, 0.0])
    assert result.plan["constraint"].iloc[0] == "lead time (no new supply can arrive yet)"


def test_safety_stock_target_and_end_of_horizon_stock() -> None:
    # target 30 units at each month end. The last month's stock is credited at the cheapest cost (S1, 10)
    # but S1 is full, so it comes from S2 at 12.24: holding it costs 2.24 + 0.5 = 2.74 a unit.
    base = bought(None)
    target = pd.DataFrame({"item": ["B", "B"], "period": PERIODS, "qty": [30.0, 30.0]})

    def with_penalty(penalty: float) -> bls.BalanceResult:
        items = base.items.assign(safety_penalty=penalty)
        return bls.balance_plan(bl.BalanceInputs(**{**base.__dict__, "items": items, "safety_stock": target}))

    held = with_penalty(5.0)  # 5 > 2.74: the target is met in both months
    assert held.plan["inventory"].tolist() == pytest.approx([30.0, 30.0])
    assert held.plan["safety_shortfall"].sum() == pytest.approx(0.0)
    assert held.cost["holding"] == pytest.approx(30.0)  # 2 × 30 × 0.5
    # the default penalty (2 × holding = 1.0) is below 2.74: the end-of-horizon target is left short
    short = with_penalty(float("nan"))
    assert short.plan["inventory"].tolist() == pytest.approx([30.0, 0.0])
    assert short.plan["safety_shortfall"].tolist() == pytest.approx([0.0, 30.0])


def test_fill_rate_target_forces_unprofitable_supply() -> None:
    # make cost 60 > price 50: without a target nothing is made; a 90 % fill target (penalty = price
    # per unit below it) makes 90 % of the demand.
    free = one_line(demand=10.0, make_cost=60.0)
    free = bl.BalanceInputs(**{**free.__dict__, "items": free.items.assign(make_cost=60.0)})
    assert bls.balance_plan(free).plan["make"].sum() == pytest.approx(0.0)
    target = bl.BalanceInputs(**{**free.__dict__, "items": free.items.assign(fill_target=0.9)})
    result = bls.balance_plan(target)
    assert result.plan["served"].sum() == pytest.approx(18.0)


def test_build_and_solve_are_separate_and_the_lp_is_named(tmp_path: Path) -> None:
    model = bl.build(one_line())
    assert model.sizes == {"rows": 4, "cols": 8, "nonzeros": 11}
    path = tmp_path / "plan.lp"
    result = bls.solve(model, before_solve=lp_file_writer(path))
    text = path.read_text()
    assert "cap_R_2027.01:" in text and "make_A_2027.02" in text and "ot_R_2027.01" in text
    assert result.sizes == model.sizes


def test_supplier_capacity_default() -> None:
    sourcing = pd.DataFrame({"item": ["A", "A", "B"], "supplier": ["S1", "S2", "S2"], "priority": [1, 2, 1]})
    frame = bl.supplier_capacity_default(sourcing, pd.Series({"A": 100.0, "B": 40.0}), PERIODS)
    # S1: 1.5 × 100 = 150; S2: 1.5 × 40 + 0.5 × 1.5 × 100 = 60 + 75 = 135
    got = frame.groupby("supplier")["qty"].first().to_dict()
    assert got == pytest.approx({"S1": 150.0, "S2": 135.0})
    assert len(frame) == 4


def test_supplier_capacity_default_per_group() -> None:
    # the same sums per supplier and group: S2 sells 1.5 × 40 = 60 to group G (B) and 75 to group F (A's alternate)
    sourcing = pd.DataFrame({"item": ["A", "A", "B"], "supplier": ["S1", "S2", "S2"], "priority": [1, 2, 1]})
    frame = bl.supplier_capacity_default(sourcing, pd.Series({"A": 100.0, "B": 40.0}), PERIODS,
                                         group=np.array(["F", "F", "G"]))
    got = frame.groupby(["supplier", "item"])["qty"].first().to_dict()
    assert got == pytest.approx({("S1", "F"): 150.0, ("S2", "F"): 75.0, ("S2", "G"): 60.0})
    assert len(frame) == 6


def test_months_of_lead_time() -> None:
    assert bl.months_of_lead_time(np.array([0, 14, 30, 31, 80])).tolist() == [0, 0, 0, 1, 2]


def test_a_safety_gap_that_costs_exactly_its_penalty_to_close_is_left_open() -> None:
    # C: bought from S1 at 10 (credited at 10 at the end), holding 0.5 → default penalty 1.0 a unit-month.
    # S1 delivers nothing in March, so March's 10 come in February. A March target of 10 more would have to
    # come in February too: 2 months × 0.5 = 1.0 a unit, exactly the penalty of one month's gap. Such a tie is
    # always broken the same way (the gap stays: no stock is built for nothing), and the penalty is reported
    # at its full rate (10 × 1.0).
    months = pd.DatetimeIndex(["2027-01-01", "2027-02-01", "2027-03-01"])

    def plan(penalty: float) -> bls.BalanceResult:
        return bls.balance_plan(bl.BalanceInputs(
            periods=months,
            items=pd.DataFrame({"item": ["C"], "unit_price": [30.0], "make_cost": [10.0], "holding_cost": [0.5],
                                "safety_penalty": [penalty]}),
            demand=pd.DataFrame({"item": "C", "period": months, "qty": 10.0}),
            sourcing=pd.DataFrame({"item": ["C"], "supplier": ["S1"], "unit_cost": [10.0], "priority": [1],
                                   "first_period": [0]}),
            supplier_capacity=pd.DataFrame({"supplier": "S1", "period": months, "qty": [100.0, 100.0, 0.0]}),
            safety_stock=pd.DataFrame({"item": ["C"], "period": [months[-1]], "qty": [10.0]}),
        ))

    tie = plan(float("nan"))
    assert tie.plan["inventory"].tolist() == pytest.approx([0.0, 10.0, 0.0])
    assert tie.plan["safety_shortfall"].tolist() == pytest.approx([0.0, 0.0, 10.0])
    assert tie.cost["safety_penalty"] == pytest.approx(10.0, rel=1e-12)
    dearer = plan(1.01)  # a gap dearer than closing it: 10 more come in February
    assert dearer.plan["inventory"].tolist() == pytest.approx([0.0, 20.0, 10.0])
    assert dearer.cost["safety_penalty"] == pytest.approx(0.0)
