"""Executive review figures on SQLite and PostgreSQL: margin against the margin budget, and past decisions
measured on what their linked scenario changed.

The constructed company: A and B (family F1, price 10, cost 6) and C (family F2, price 20, cost 12), 500 of
each on hand (so every planned month serves its whole demand), actual sales in September and October 2026.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import Engine

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.engine import session_scope
from sop_core.planning import levers as lev
from sop_core.services import cycle as cycle_service
from sop_core.services import decisions, plan, scenarios, signoff
from sop_core.services import executive as executive_service

SEP, OCT, NOV, DEC = (dt.date(2026, mo, 1) for mo in (9, 10, 11, 12))
USERS = (("dana", "demand_planner"), ("sam", "supply_planner"), ("fiona", "finance"), ("eric", "executive"))


def _company(engine: Engine) -> None:
    with session_scope(engine) as s:
        repo.upsert_frame(s, "product", pd.DataFrame({
            "sku": ["A", "B", "C"], "name": ["Alpha", "Beta", "Gamma"], "family": ["F1", "F1", "F2"],
            "category": "K", "unit_price": [10.0, 10.0, 20.0], "unit_cost": [6.0, 6.0, 12.0], "holding_rate": 0.0,
        }))
        repo.upsert_frame(s, "inventory", pd.DataFrame({"sku": ["A", "B", "C"], "as_of": dt.date(2026, 8, 31),
                                                         "on_hand": 500.0}))
        # actuals: A 100 and 120, B 50 and 40, C 30 and 35 (October at a net price of 19)
        repo.upsert_frame(s, "sales_history", pd.DataFrame({
            "sku": ["A", "A", "B", "B", "C", "C"], "period": [SEP, OCT] * 3,
            "quantity": [100.0, 120.0, 50.0, 40.0, 30.0, 35.0], "net_price": [10.0, 10.0, 10.0, 10.0, 20.0, 19.0],
        }))
        for username, role in USERS:
            s.add(m.AppUser(username=username, display_name=username.title(), role=role))


def _cycle_with_forecast(engine: Engine, month: dt.date, status: str, forecast: dict[str, float]) -> int:
    """A cycle whose forecast run holds ``forecast[sku]`` units in each of the four months from ``month``."""
    with session_scope(engine) as s:
        cyc = m.PlanCycle(month=month, status=status, status_by="dana", status_at=dt.datetime.combine(month, dt.time()))
        s.add(cyc)
        s.flush()
        run = m.ForecastRun(cycle_id=cyc.id, engine="statistical", horizon=4, created_by="dana")
        s.add(run)
        s.flush()
        periods = pd.date_range(month, periods=4, freq="MS")
        repo.insert_frame(s, m.Forecast, pd.DataFrame(
            [{"sku": k, "period": p, "yhat": q, "model": "test"} for k, q in forecast.items() for p in periods]
        ), run_id=run.id)
        return cyc.id


@pytest.fixture
def september(engine: Engine) -> dict[str, int]:
    """Cycle 2026-09 (forecast A 110, B 50, C 30 a month, Sep–Dec) signed off on "F2 push" (+10 % for F2 up
    to October), with decisions linked to it, to a draft scenario and to none; cycle 2026-11 open."""
    _company(engine)
    cid = _cycle_with_forecast(engine, SEP, "demand_review", {"A": 110.0, "B": 50.0, "C": 30.0})
    ids = {"cycle": cid}
    for name, levers in (
        ("F2 push", lev.Levers(family_changes={"F2": 10.0}, demand_to="2026-10")),
        ("Price up", lev.Levers(price_change_pct=5.0)),
        ("December push", lev.Levers(sku_changes={"A": 20.0}, demand_from="2026-12")),
    ):
        ids[name], _ = scenarios.save_scenario(engine, cid, name, levers, "fiona", None)
    seen = plan.promotion_seen(engine, plan.load_scenario(engine, ids["F2 push"]).cycle_id)
    plan.promote(engine, ids["F2 push"], "fiona", seen)
    for text, scenario, family in (
        ("Push F2 through October", "F2 push", "*"),
        ("Prepare a 5 % price rise", "Price up", "*"),
        ("Prepare a 5 % price rise on F2", "Price up", "F2"),
        ("Watch F1", None, "F1"),
        ("Push A in December", "December push", "*"),
    ):
        decisions.add_decision(engine, cid, text, "eric", SEP + dt.timedelta(days=30), "eric",
                              scenario_id=ids[scenario] if scenario else None, family=family)
    froze = [signoff.sign_off(engine, cid, role, user) for user, role in USERS]
    assert froze == [False, False, False, True]
    ids["now"] = _cycle_with_forecast(engine, NOV, "demand_review", {"A": 110.0, "B": 50.0, "C": 30.0})
    return ids


def test_past_decisions_are_measured_on_their_scenario_scope(engine: Engine, september: dict[str, int]) -> None:
    past = decisions.past_decisions(engine, september["now"]).set_index("decision")
    assert set(past["cycle"]) == {"2026-09"}

    push = past.loc["Push F2 through October"]  # the signed scenario: C only, September and October
    assert (push["changes"], push["scope"], push["months"]) == ("F2 demand +10 % (to 2026-10)", "family F2",
                                                                "2026-09, 2026-10")
    assert push["planned_qty"] == pytest.approx(66.0)  # 30 · 1.1 twice
    assert push["planned_revenue"] == pytest.approx(1320.0)  # 66 · 20
    assert (push["actual_qty"], push["actual_revenue"]) == (65.0, 1265.0)  # 30 · 20 + 35 · 19
    assert push["actual_vs_plan"] == pytest.approx(1265 / 1320 - 1)
    assert push["volume_vs_plan"] == pytest.approx(65 / 66 - 1)
    assert push["result"] == "actuals for 2 months"

    price = past.loc["Prepare a 5 % price rise"]  # a draft scenario: its own plan, every SKU
    assert (price["changes"], price["scope"]) == ("price +5 % (elasticity learned per family)", "all SKUs")
    assert price["planned_qty"] == pytest.approx(380.0)  # (110 + 50 + 30) · 2: too little history to learn one
    assert price["planned_revenue"] == pytest.approx(4620.0)  # (160 · 10.5 + 30 · 21) · 2
    assert (price["actual_qty"], price["actual_revenue"]) == (375.0, 4365.0)
    assert price["actual_vs_plan"] == pytest.approx(4365 / 4620 - 1)

    narrowed = past.loc["Prepare a 5 % price rise on F2"]  # the decision's family narrows a plan-wide scenario
    assert narrowed["scope"] == "family F2"
    assert (narrowed["planned_revenue"], narrowed["actual_revenue"]) == (pytest.approx(1260.0), 1265.0)

    watch = past.loc["Watch F1"]  # no scenario: the signed plan of the family
    assert (watch["changes"], watch["scope"]) == ("", "family F1")
    assert (watch["planned_qty"], watch["planned_revenue"]) == (pytest.approx(320.0), pytest.approx(3200.0))
    assert (watch["actual_qty"], watch["actual_revenue"]) == (310.0, 3100.0)
    assert watch["actual_vs_plan"] == pytest.approx(-0.03125)

    later = past.loc["Push A in December"]  # its change starts after the last actual month
    assert (later["changes"], later["scope"]) == ("A demand +20 % (from 2026-12)", "SKU A")
    assert later["result"] == "no actuals yet" and later["months"] == ""
    assert later[["planned_revenue", "actual_revenue", "actual_vs_plan"]].isna().all()


def test_a_decision_without_a_signed_plan_says_so(engine: Engine) -> None:
    _company(engine)
    cid = _cycle_with_forecast(engine, SEP, "reconciliation", {"A": 110.0, "B": 50.0, "C": 30.0})
    decisions.add_decision(engine, cid, "Hold prices", "fiona", None, "eric")
    now = _cycle_with_forecast(engine, NOV, "draft", {"A": 1.0})
    row = decisions.past_decisions(engine, now).iloc[0]
    assert (row["scope"], row["result"]) == ("whole plan", "no signed plan")
    assert pd.isna(row["planned_revenue"])


def test_headline_margin_against_the_margin_budget_by_hand(engine: Engine) -> None:
    _company(engine)
    cid = _cycle_with_forecast(engine, NOV, "reconciliation", {"A": 110.0, "B": 50.0, "C": 30.0})
    with session_scope(engine) as s:
        # F1 and F2 budget a margin for November; F1's December budget has none; F2 has no December row
        repo.upsert_frame(s, "budget", pd.DataFrame({
            "family": ["F1", "F2", "F1"], "period": [NOV, NOV, DEC], "volume": [150.0, 30.0, 150.0],
            "revenue": [1500.0, 600.0, 1500.0], "margin": [700.0, 200.0, None],
        }))
    sid, _ = scenarios.save_scenario(engine, cid, "Base", lev.Levers(), "fiona", None)
    plan.promote(engine, sid, "fiona", plan.promotion_seen(engine, plan.load_scenario(engine, sid).cycle_id))
    head = executive_service.headline(engine, cid)
    # November plan margin: A 110 · (10 − 6) + B 50 · 4 = 640 (F1), C 30 · (20 − 12) = 240 (F2); holding rate 0
    assert head["plan_margin_budget_months"] == pytest.approx(880.0)
    assert head["budget_margin"] == pytest.approx(900.0)
    assert head["margin_vs_budget"] == pytest.approx(-20.0)
    assert head["margin_budget_months"] == 1
    # revenue is compared over both budgeted months: Nov 1100 + 500 + 600, Dec 1100 + 500 + 600
    assert head["budget_revenue"] == pytest.approx(3600.0) and head["budget_gap"] == pytest.approx(800.0)


def test_headline_without_a_margin_budget(engine: Engine) -> None:
    _company(engine)
    cid = _cycle_with_forecast(engine, NOV, "reconciliation", {"A": 110.0})
    with session_scope(engine) as s:  # a budget imported before margins existed: no margin column
        repo.upsert_frame(s, "budget", pd.DataFrame({"family": ["F1"], "period": [NOV], "volume": [1.0],
                                                     "revenue": [10.0]}))
    head = executive_service.headline(engine, cid)
    assert head["budget_revenue"] == pytest.approx(10.0)
    assert (head["budget_margin"], head["margin_vs_budget"], head["margin_budget_months"]) == (None, None, 0)


def test_demo_headline_margin_vs_budget_from_the_signed_plan_lines(demo_engine: Engine) -> None:
    """The signed 2026-10 plan (Oct 2026 – Mar 2028) against the margin budget of Oct 2026 – Dec 2027."""
    oct_id = cycle_service.cycle_by_month(demo_engine, "2026-10").id
    head = executive_service.headline(demo_engine, oct_id)
    with session_scope(demo_engine) as s:
        lines = repo.read_frame(s, m.PlanLine, m.PlanLine.cycle_id == oct_id, m.PlanLine.plan_version == 1)
        families = repo.read_frame(s, m.Product)[["sku", "family"]]
        budget = repo.read_frame(s, m.Budget)
    lines = lines.merge(families, on="sku")
    budget = budget[budget["period"].between(lines["period"].min(), lines["period"].max())]
    assert sorted(budget["period"].dt.strftime("%Y-%m").unique()) == [
        f"{p:%Y-%m}" for p in pd.date_range("2026-10-01", "2027-12-01", freq="MS")]
    budgeted = set(zip(budget["family"], budget["period"], strict=True))
    in_budget = lines[[k in budgeted for k in zip(lines["family"], lines["period"], strict=True)]]
    plan_margin = float((in_budget["revenue"] - in_budget["cost"]).sum())
    assert in_budget["period"].nunique() == head["margin_budget_months"] == 15
    assert head["plan_margin_budget_months"] == pytest.approx(plan_margin, rel=1e-12)
    assert head["budget_margin"] == pytest.approx(float(budget["margin"].sum()), rel=1e-12)
    assert head["margin_vs_budget"] == pytest.approx(plan_margin - float(budget["margin"].sum()), rel=1e-9)
    # the budget is last year's actuals plus growth: the plan lands within a few per cent of it
    assert abs(head["margin_vs_budget"]) < 0.1 * head["budget_margin"]
