"""Executive review figures on SQLite and PostgreSQL: margin against the margin budget.

The constructed company: A and B (family F1, price 10, cost 6) and C (family F2, price 20, cost 12), 500 of
each on hand (so every planned month serves its whole demand), actual sales in September and October 2026.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import Engine

from sop_core import scenario as sc
from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.engine import session_scope
from sop_core.services import plan, workflow

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


def test_headline_margin_against_the_margin_budget_by_hand(engine: Engine) -> None:
    _company(engine)
    cid = _cycle_with_forecast(engine, NOV, "reconciliation", {"A": 110.0, "B": 50.0, "C": 30.0})
    with session_scope(engine) as s:
        # F1 and F2 budget a margin for November; F1's December budget has none; F2 has no December row
        repo.upsert_frame(s, "budget", pd.DataFrame({
            "family": ["F1", "F2", "F1"], "period": [NOV, NOV, DEC], "volume": [150.0, 30.0, 150.0],
            "revenue": [1500.0, 600.0, 1500.0], "margin": [700.0, 200.0, None],
        }))
    sid, _ = plan.save_scenario(engine, cid, "Base", sc.Levers(), "fiona", None)
    plan.promote(engine, sid, "fiona")
    head = workflow.headline(engine, cid)
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
    head = workflow.headline(engine, cid)
    assert head["budget_revenue"] == pytest.approx(10.0)
    assert (head["budget_margin"], head["margin_vs_budget"], head["margin_budget_months"]) == (None, None, 0)


def test_demo_headline_margin_vs_budget_from_the_signed_plan_lines(demo_engine: Engine) -> None:
    """The signed 2026-10 plan (Oct 2026 – Mar 2028) against the margin budget of Oct 2026 – Dec 2027."""
    oct_id = workflow.cycle_by_month(demo_engine, "2026-10").id
    head = workflow.headline(demo_engine, oct_id)
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
