"""Scenarios, the proposed plan and sign-off on SQLite and PostgreSQL (the 2-SKU case of tests/core)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from sop_core.db import models as m
from sop_core.db import plan_repo, repo
from sop_core.db.engine import make_engine, session_scope
from sop_core.errors import EditConflict, NotAllowed
from sop_core.planning import levers as lev
from sop_core.planning import scenario as sc
from sop_core.services import cycle as cycle_service
from sop_core.services import plan, scenarios, signoff, whatif
from sop_core.units import SIGNOFF_ROLES

JAN, FEB, MAR = dt.date(2027, 1, 1), dt.date(2027, 2, 1), dt.date(2027, 3, 1)


def seed(engine: Engine) -> int:
    """Two SKUs, three months of forecast, stock, one open order, a budget and the sign-off users."""
    with session_scope(engine) as s:
        repo.upsert_frame(
            s,
            "product",
            pd.DataFrame(
                {
                    "sku": ["A", "B"],
                    "name": ["Kettle", "Toaster"],
                    "family": ["F1", "F2"],
                    "category": ["SMALL", "SMALL"],
                    "unit_price": [10.0, 20.0],
                    "unit_cost": [6.0, 12.0],
                    "holding_rate": [0.24, 0.12],
                    "order_cost": [50.0, 50.0],
                    "service_target": [0.95, 0.95],
                }
            ),
        )
        repo.upsert_frame(
            s,
            "inventory",
            pd.DataFrame(
                {
                    "sku": ["A", "B", "A"],
                    "as_of": [dt.date(2026, 12, 31), dt.date(2026, 12, 31), dt.date(2026, 11, 30)],
                    "on_hand": [150.0, 20.0, 999.0],  # the older snapshot of A is not used
                }
            ),
        )
        repo.upsert_frame(
            s,
            "open_order",
            pd.DataFrame(
                {"sku": ["B"], "due_period": [JAN], "quantity": [10.0], "source": ["purchase"], "supplier": ["S1"]}
            ),
        )
        repo.upsert_frame(
            s,
            "budget",
            pd.DataFrame(
                {"family": ["F1", "F2"], "period": [JAN, JAN], "volume": [100.0, 50.0], "revenue": [1000.0, 900.0]}
            ),
        )
        for name, role in [("ann", "demand_planner"), ("bob", "supply_planner"), ("fay", "finance"), ("boss", "admin")]:
            s.add(m.AppUser(username=name, display_name=name.title(), role=role))
        cycle = m.PlanCycle(month=JAN, status="reconciliation", status_by="ann", status_at=dt.datetime(2027, 1, 2))
        s.add(cycle)
        s.flush()
        old = m.ForecastRun(cycle_id=cycle.id, engine="naive", horizon=3, created_by="ann")
        s.add(old)
        s.flush()
        repo.insert_frame(s, m.Forecast, pd.DataFrame({"sku": ["A"], "period": [JAN], "yhat": [1.0]}), run_id=old.id)
        run = m.ForecastRun(cycle_id=cycle.id, engine="statistical", horizon=3, created_by="ann")
        s.add(run)
        s.flush()
        forecast = pd.DataFrame(
            {
                "sku": ["A"] * 3 + ["B"] * 3,
                "period": [JAN, FEB, MAR] * 2,
                "yhat": [100.0, 100, 100, 50, 60, 40],
                "model": "AutoETS",
            }
        )
        repo.insert_frame(s, m.Forecast, forecast, run_id=run.id)
        return cycle.id


@pytest.fixture
def cycle_id(engine: Engine) -> int:
    return seed(engine)


def audit_actions(engine: Engine) -> list[str]:
    with session_scope(engine) as s:
        return list(s.scalars(select(m.AuditLog.action).order_by(m.AuditLog.id)))


def test_inputs_come_from_latest_forecast_run(engine: Engine, cycle_id: int) -> None:
    inputs = plan.scenario_inputs(engine, cycle_id)
    assert len(inputs.demand) == 6 and inputs.demand["qty"].sum() == pytest.approx(450.0)
    assert dict(zip(inputs.on_hand["sku"], inputs.on_hand["qty"], strict=True)) == {"A": 150.0, "B": 20.0}
    # no sales history, so no safety stock: the baseline holds no stock beyond what the frozen January leaves.
    # A: 150 − 100 = 50 at the end of January, then production meets demand exactly; B: 20 + 10 open serve 30 of
    # 50 in January, then 60 and 40 are made. Revenue 300 × 10 + 130 × 20 = 5600; COGS 1800 + 1560 = 3360;
    # holding 50 × 0.12 = 6 → margin 2234.
    k = plan.baseline(engine, cycle_id).kpis
    assert k["revenue"] == pytest.approx(5600.0)
    assert k["margin"] == pytest.approx(2234.0)
    assert k["fill_rate"] == pytest.approx(430 / 450)
    assert k["safety_stock_units"] == pytest.approx(0.0)
    # one month of cover on top: the figures of the hand-checked case in tests/core/test_scenario.py
    covered = plan.evaluate(plan.scenario_inputs(engine, cycle_id), lev.Levers(cover_months=1)).kpis
    assert covered["margin"] == pytest.approx(2200.4)


def test_no_forecast_is_a_clear_error(engine: Engine) -> None:
    with session_scope(engine) as s:
        cycle = m.PlanCycle(month=dt.date(2027, 5, 1), status="draft", status_at=dt.datetime(2027, 5, 1))
        s.add(cycle)
        s.flush()
        cid = cycle.id
    with pytest.raises(plan.PlanError, match="cycle 2027-05 has no forecast yet"):
        plan.scenario_inputs(engine, cid)


def test_save_and_load_levers_roundtrip(engine: Engine, cycle_id: int) -> None:
    levers = lev.Levers(demand_change_pct=10, family_changes={"F2": 5.5}, price_change_pct=-2, cover_months=1.5)
    sid, version = scenarios.save_scenario(engine, cycle_id, "Promo push", levers, "ann", seen=None)
    assert version == 1
    record = plan.load_scenario(engine, sid)
    assert record.levers == levers
    assert record.name == "Promo push" and record.author == "ann" and record.status == "draft"
    assert record.results["revenue"] == pytest.approx(
        sc.evaluate(plan.scenario_inputs(engine, cycle_id), levers).kpis["revenue"]
    )
    sid2, version2 = scenarios.save_scenario(engine, cycle_id, "Promo push", levers.replace(price_change_pct=0), "ann", 1)
    assert (sid2, version2) == (sid, 2)
    assert scenarios.find_scenario(engine, cycle_id, "Promo push").levers.price_change_pct == 0
    frame = scenarios.list_scenarios(engine, cycle_id)
    assert frame[["name", "version", "demand_change_pct"]].values.tolist() == [["Promo push", 2, 10.0]]
    assert audit_actions(engine) == ["scenario_created", "scenario_saved"]


def test_two_users_saving_same_scenario_first_wins(engine: Engine, cycle_id: int) -> None:
    sid, _ = scenarios.save_scenario(engine, cycle_id, "Q1 plan", lev.Levers(), "ann", None)
    # both ann and bob load version 1
    loaded_by_ann = plan.load_scenario(engine, sid).version
    loaded_by_bob = plan.load_scenario(engine, sid).version
    assert loaded_by_ann == loaded_by_bob == 1
    scenarios.save_scenario(engine, cycle_id, "Q1 plan", lev.Levers(demand_change_pct=5), "ann", loaded_by_ann)
    with pytest.raises(EditConflict, match=r"scenario 'Q1 plan' was changed by ann at .*; keep theirs or save yours"):
        scenarios.save_scenario(engine, cycle_id, "Q1 plan", lev.Levers(demand_change_pct=-20), "bob", loaded_by_bob)
    stored = plan.load_scenario(engine, sid)
    assert stored.levers.demand_change_pct == 5 and stored.author == "ann" and stored.version == 2
    assert audit_actions(engine).count("scenario_saved") == 1


def test_creating_an_existing_name_is_a_conflict(engine: Engine, cycle_id: int) -> None:
    scenarios.save_scenario(engine, cycle_id, "Dup", lev.Levers(demand_change_pct=1), "ann", None)
    with pytest.raises(EditConflict, match="scenario 'Dup' already exists"):
        scenarios.save_scenario(engine, cycle_id, "Dup", lev.Levers(demand_change_pct=2), "bob", None)
    assert scenarios.find_scenario(engine, cycle_id, "Dup").levers.demand_change_pct == 1
    with pytest.raises(plan.PlanError, match="reserved"):
        scenarios.save_scenario(engine, cycle_id, "baseline", lev.Levers(), "ann", None)


def test_concurrent_save_between_read_and_write_is_detected(
    engine: Engine, cycle_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bob's save commits after Ann's transaction read version 1 but before it writes."""
    sid, _ = scenarios.save_scenario(engine, cycle_id, "Race", lev.Levers(), "ann", None)
    original = plan_repo.scenario_by_name
    other = make_engine(engine.url.render_as_string(hide_password=False))

    def read_then_bob_saves(session, cid, name):  # noqa: ANN001, ANN202
        row = original(session, cid, name)
        monkeypatch.setattr(plan_repo, "scenario_by_name", original)
        scenarios.save_scenario(other, cid, name, lev.Levers(demand_change_pct=7), "bob", 1)
        return row

    monkeypatch.setattr(plan_repo, "scenario_by_name", read_then_bob_saves)
    try:
        with pytest.raises(EditConflict, match="scenario 'Race' was changed by bob"):
            scenarios.save_scenario(engine, cycle_id, "Race", lev.Levers(demand_change_pct=3), "ann", 1)
    finally:
        other.dispose()
    stored = plan.load_scenario(engine, sid)
    assert stored.levers.demand_change_pct == 7 and stored.version == 2


def test_promote_writes_plan_lines_equal_to_evaluation(engine: Engine, cycle_id: int) -> None:
    levers = lev.Levers(demand_change_pct=10)
    sid, _ = scenarios.save_scenario(engine, cycle_id, "Up 10", levers, "ann", None)
    assert plan.plan_summary(engine, cycle_id)["source"] == "baseline"
    version = plan.promote(engine, sid, "fay", plan.promotion_seen(engine, plan.load_scenario(engine, sid).cycle_id))
    assert version == 1
    lines = plan.plan_lines(engine, cycle_id)
    expected = sc.evaluate(plan.scenario_inputs(engine, cycle_id), levers)
    assert len(lines) == 6
    for col in ["demand_qty", "supply_qty", "inventory_qty", "revenue", "cost"]:
        assert lines[col].sum() == pytest.approx(expected.lines[col].sum()), col
    assert lines["revenue"].sum() == pytest.approx(6100.0)  # hand-checked in tests/core
    assert set(lines["scenario_id"]) == {sid} and set(lines["plan_version"]) == {1}
    assert plan.load_scenario(engine, sid).status == "proposed"
    with pytest.raises(plan.PlanError, match="is the proposed plan .* under a new name"):
        scenarios.save_scenario(engine, cycle_id, "Up 10", lev.Levers(demand_change_pct=30), "ann", 2)
    summary = plan.plan_summary(engine, cycle_id)
    assert summary["source"] == "proposed" and summary["scenario_name"] == "Up 10"
    for key in ["revenue", "margin", "inventory_value_end", "fill_rate"]:
        assert summary[key] == pytest.approx(expected.kpis[key]), key
    # budget: January only (1000 + 900); plan January revenue = A 110 × 10 + B 30 × 20 = 1700
    assert summary["budget_revenue"] == pytest.approx(1900.0)
    assert summary["plan_revenue_budget_months"] == pytest.approx(1700.0)
    assert summary["budget_gap"] == pytest.approx(-200.0)
    table = plan.plan_table(engine, cycle_id)
    f2_jan = table[(table["family"] == "F2") & (table["period"] == pd.Timestamp(JAN))].iloc[0]
    assert f2_jan["revenue"] == pytest.approx(600.0) and f2_jan["budget_revenue"] == pytest.approx(900.0)
    # promoting another scenario replaces the lines and demotes the first
    sid2, _ = scenarios.save_scenario(engine, cycle_id, "Flat", lev.Levers(), "bob", None)
    plan.promote(engine, sid2, "bob", plan.promotion_seen(engine, plan.load_scenario(engine, sid2).cycle_id))
    assert plan.plan_lines(engine, cycle_id)["revenue"].sum() == pytest.approx(5600.0)
    assert plan.load_scenario(engine, sid).status == "draft"
    assert audit_actions(engine).count("plan_promoted") == 2


def test_sign_off_needs_a_plan_and_is_unique_per_role(engine: Engine, cycle_id: int) -> None:
    with pytest.raises(plan.PlanError, match="no proposed plan .* promote a scenario"):
        signoff.sign_off(engine, cycle_id, "finance", "fay")
    sid, _ = scenarios.save_scenario(engine, cycle_id, "Base", lev.Levers(), "ann", None)
    plan.promote(engine, sid, "fay", plan.promotion_seen(engine, plan.load_scenario(engine, sid).cycle_id))
    with pytest.raises(NotAllowed, match="'ann' has the role demand_planner: only finance \\(or an admin\\) may sign"):
        signoff.sign_off(engine, cycle_id, "finance", "ann")
    # sign-offs follow the cycle: finance signs after the planners
    with pytest.raises(cycle_service.WorkflowError, match="Demand planner signs off plan version 1 .* first"):
        signoff.sign_off(engine, cycle_id, "finance", "fay")
    signoff.sign_off(engine, cycle_id, "demand_planner", "ann")
    signoff.sign_off(engine, cycle_id, "supply_planner", "bob")
    assert cycle_service.cycle_info(engine, cycle_id).status == "reconciliation"  # past both planners' steps
    signoff.sign_off(engine, cycle_id, "finance", "fay", comment="margin ok")
    assert cycle_service.cycle_info(engine, cycle_id).status == "executive_review"  # the executive's step
    with pytest.raises(
        EditConflict, match="Finance already signed off plan version 1 of cycle 2027-01 \\(fay at"
    ):
        signoff.sign_off(engine, cycle_id, "finance", "boss")
    stored = signoff.signoffs(engine, cycle_id)
    assert stored[["plan_version", "role", "username", "comment"]].values.tolist() == [
        [1, "demand_planner", "ann", ""],
        [1, "supply_planner", "bob", ""],
        [1, "finance", "fay", "margin ok"],
    ]
    status = signoff.signoff_status(engine, cycle_id)
    assert status["role"].tolist() == list(SIGNOFF_ROLES)
    assert status["signed"].tolist() == [True, True, True, False]
    assert audit_actions(engine).count("plan_signed_off") == 3
    # a signed plan is never changed: promoting again starts plan version 2
    assert plan.promote(engine, sid, "fay", plan.promotion_seen(engine, plan.load_scenario(engine, sid).cycle_id)) == 2
    with session_scope(engine) as s:
        per_version = dict(
            s.execute(select(m.PlanLine.plan_version, func.count()).group_by(m.PlanLine.plan_version)).all()
        )
    assert per_version == {1: 6, 2: 6}
    assert signoff.signoff_status(engine, cycle_id)["signed"].tolist() == [False] * 4


def test_consensus_demand_is_the_plans_demand_and_a_refused_one_falls_back_to_the_forecast(
    engine: Engine, cycle_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sop_core.services import demand as demand_service
    from sop_core.services.forecasting import DemandError

    def refused(_engine: Engine, _cycle_id: int) -> pd.DataFrame:
        raise DemandError("no forecast run to build a consensus on")

    consensus = pd.DataFrame({"sku": ["A", "B"], "period": [pd.Timestamp(JAN)] * 2, "qty": [120.0, 80.0]})
    monkeypatch.setattr(demand_service, "consensus_demand", lambda _e, _c: consensus)
    inputs = plan.scenario_inputs(engine, cycle_id)
    assert inputs.demand["qty"].sum() == pytest.approx(200.0)
    # a consensus the demand service refuses falls back to the statistical forecast
    monkeypatch.setattr(demand_service, "consensus_demand", refused)
    assert plan.scenario_inputs(engine, cycle_id).demand["qty"].sum() == pytest.approx(450.0)


def test_capacity_data_switches_to_the_constrained_plan(engine: Engine, cycle_id: int) -> None:
    with session_scope(engine) as s:
        repo.upsert_frame(
            s,
            "resource",
            pd.DataFrame(
                {
                    "resource": ["R"],
                    "name": ["Line"],
                    "plant": ["P"],
                    "capacity_hours": [200.0],
                    "overtime_hours": [40.0],
                    "overtime_cost_per_hour": [1.0],
                }
            ),
        )
        repo.upsert_frame(s, "routing", pd.DataFrame({"sku": ["A"], "resource": ["R"], "hours_per_unit": [2.0]}))
    inputs = plan.scenario_inputs(engine, cycle_id)
    assert inputs.constrained
    # +30 % without overtime: A can be made 100 a month, 40 units are lost at R (tests/core/test_scenario.py)
    levers = lev.Levers(demand_change_pct=30, overtime_allowed=False)
    what = whatif.evaluate(inputs, levers)
    gap = what.gap
    short = gap[gap["shortage_qty"] > 0]
    f1 = short[short["family"] == "F1"]
    assert f1["shortage_qty"].sum() == pytest.approx(40.0) and set(f1["constraint"]) == {"capacity R"}
    notes = what.capacity_notes
    assert notes and notes[0].startswith("One more hour on R in 2027-0")
    sid, _ = scenarios.save_scenario(engine, cycle_id, "No overtime", levers, "bob", None)
    assert plan.load_scenario(engine, sid).results["stockout_units"] >= 40.0
    results = whatif.compare_saved(engine, cycle_id, [sid], inputs).results
    assert list(results) == [plan.BASELINE, "No overtime"]
