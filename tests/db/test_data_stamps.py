"""The data stamps that key the pages' shared caches of a cycle's plan inputs and executive review (SQLite and
PostgreSQL): each change of what they are read from moves the stamp, and the inputs read after it differ; reading
leaves it where it was.

The constructed company: A (family F1, made on R) and B (family F2, bought from S in 20 days), price 10, cost 6, 100
of A and 30 of B on hand, a forecast of 50 a month for November 2026 to February 2027.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import pytest
from sqlalchemy import Engine, update

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.engine import session_scope
from sop_core.planning import levers as lev
from sop_core.services import decisions, demand, executive, overrides, plan, plan_changes, scenarios, signoff

NOV = dt.date(2026, 11, 1)


def _company(engine: Engine) -> int:
    with session_scope(engine) as s:
        repo.upsert_frame(s, "product", pd.DataFrame({
            "sku": ["A", "B"], "name": ["Alpha", "Beta"], "family": ["F1", "F2"], "category": "K",
            "unit_price": 10.0, "unit_cost": 6.0, "holding_rate": 0.2,
        }))
        repo.upsert_frame(s, "inventory", pd.DataFrame({"sku": ["A", "B"], "as_of": dt.date(2026, 10, 31),
                                                         "on_hand": [100.0, 30.0]}))
        repo.upsert_frame(s, "resource", pd.DataFrame({"resource": ["R"], "name": ["Line"], "plant": ["P"],
                                                        "capacity_hours": [100.0], "overtime_hours": [10.0],
                                                        "overtime_cost_per_hour": [5.0]}))
        repo.upsert_frame(s, "routing", pd.DataFrame({"sku": ["A"], "resource": ["R"], "hours_per_unit": [1.0]}))
        repo.upsert_frame(s, "supplier", pd.DataFrame({"supplier": ["S"], "name": ["Supplier"]}))
        repo.upsert_frame(s, "supplier_item", pd.DataFrame({"supplier": ["S"], "sku": ["B"], "lead_time_days": [20.0],
                                                             "unit_cost": [6.0], "priority": [1]}))
        s.add(m.AppUser(username="dana", display_name="Dana", role="admin"))
        cyc = m.PlanCycle(month=NOV, status="demand_review", status_by="dana",
                          status_at=dt.datetime.combine(NOV, dt.time()))
        s.add(cyc)
        s.flush()
        run = m.ForecastRun(cycle_id=cyc.id, engine="statistical", horizon=4, created_by="dana")
        s.add(run)
        s.flush()
        periods = pd.date_range(NOV, periods=4, freq="MS")
        repo.insert_frame(s, m.Forecast, pd.DataFrame(
            [{"sku": k, "period": p, "yhat": 50.0, "model": "test"} for k in ("A", "B") for p in periods]
        ), run_id=run.id)
        return int(cyc.id)


def _open_order(engine: Engine, cycle_id: int) -> None:  # noqa: ARG001
    with session_scope(engine) as s:
        repo.upsert_frame(s, "open_order", pd.DataFrame({"sku": ["A"], "due_period": [NOV], "quantity": [40.0],
                                                          "source": ["production"], "supplier": [""]}))


def _stock_counted_again(engine: Engine, cycle_id: int) -> None:  # noqa: ARG001
    with session_scope(engine) as s:  # the same row, a new count: changed in place
        s.execute(update(m.Inventory).where(m.Inventory.sku == "B").values(on_hand=10.0))


def _price_changed(engine: Engine, cycle_id: int) -> None:  # noqa: ARG001
    with session_scope(engine) as s:
        s.execute(update(m.Product).where(m.Product.sku == "A").values(unit_price=12.0))


def _capacity_cut(engine: Engine, cycle_id: int) -> None:  # noqa: ARG001
    with session_scope(engine) as s:
        s.execute(update(m.Resource).where(m.Resource.resource == "R").values(capacity_hours=20.0))


def _supplier_slower(engine: Engine, cycle_id: int) -> None:  # noqa: ARG001
    with session_scope(engine) as s:
        s.execute(update(m.SupplierItem).where(m.SupplierItem.sku == "B").values(lead_time_days=70.0))


def _override(engine: Engine, cycle_id: int) -> None:
    edits = pd.DataFrame({"period": [dt.date(2026, 12, 1)], "value": [90.0], "reason": [overrides.REASON_CODES[0]]})
    overrides.save_overrides(engine, cycle_id, "sku", "A", edits, "dana", {})


CHANGES: dict[str, Callable[[Engine, int], None]] = {
    "an open order": _open_order,
    "a stock count changed in place": _stock_counted_again,
    "a price changed in place": _price_changed,
    "a capacity cut": _capacity_cut,
    "a longer supplier lead time": _supplier_slower,
    "a forecast override": _override,
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_of_the_inputs_moves_the_stamp_and_the_plan(engine: Engine, change: str) -> None:
    cycle_id = _company(engine)
    stamp = plan.inputs_stamp(engine, cycle_id)
    before = plan.evaluate(plan.scenario_inputs(engine, cycle_id), lev.Levers()).kpis
    assert plan.inputs_stamp(engine, cycle_id) == stamp  # reading changes nothing
    CHANGES[change](engine, cycle_id)
    assert plan.inputs_stamp(engine, cycle_id) != stamp, change
    after = plan.evaluate(plan.scenario_inputs(engine, cycle_id), lev.Levers()).kpis
    assert after != before, change  # what a cache keyed on the stamp would have hidden


def test_what_the_executive_review_shows_moves_its_stamp(engine: Engine) -> None:
    cycle_id = _company(engine)
    stamps = [plan_changes.review_stamp(engine, cycle_id)]
    assert plan_changes.review_stamp(engine, cycle_id) == stamps[-1]

    def moved(what: str) -> None:
        stamps.append(plan_changes.review_stamp(engine, cycle_id))
        assert stamps[-1] != stamps[-2], what

    sid, _ = scenarios.save_scenario(engine, cycle_id, "Push", lev.Levers(demand_change_pct=10), "dana", None)
    moved("a scenario saved")
    scenarios.save_scenario(engine, cycle_id, "Push", lev.Levers(demand_change_pct=20), "dana", 1)
    moved("a scenario saved again")
    plan.promote(engine, sid, "dana", plan.promotion_seen(engine, plan.load_scenario(engine, sid).cycle_id))
    moved("a scenario promoted")
    did = decisions.add_decision(engine, cycle_id, "Push A", "dana", None, "dana")
    moved("a decision logged")
    decisions.update_decision(engine, did, "done", "pushed", "dana", 1)
    moved("a decision's outcome")
    signoff.sign_off(engine, cycle_id, "demand_planner", "dana")
    moved("a sign-off")
    with session_scope(engine) as s:
        repo.upsert_frame(s, "budget", pd.DataFrame({"family": ["F1"], "period": [NOV], "volume": [50.0],
                                                     "revenue": [500.0]}))
    moved("a budget row")
    with session_scope(engine) as s:
        s.execute(update(m.Budget).values(revenue=600.0))
    moved("a budget row changed in place")
    assert executive.review(engine, cycle_id).headline["budget_revenue"] == pytest.approx(600.0)


def test_an_override_added_edited_or_removed_moves_the_demand_review_stamp(engine: Engine) -> None:
    """The demand review's stamp (the key of the Demand review's and Reconciliation's caches) moves on each change of
    an override, a comment alone included (its row version grows), and stays while nothing is written; with the
    override removed again it is the stamp of the start (the same rows: a cache keyed on it is right)."""
    cycle_id = _company(engine)
    dec = pd.Timestamp("2026-12-01")
    stamps = [demand.review_stamp(engine, cycle_id)]

    def save(value: float | None, comment: str, seen: int | None) -> int | None:
        edits = pd.DataFrame({"period": [dec], "value": [value], "pct": [None], "reason": [overrides.REASON_CODES[0]],
                              "comment": [comment]})
        stored = overrides.save_overrides(engine, cycle_id, "sku", "A", edits, "dana", {dec: seen})
        assert demand.review_stamp(engine, cycle_id) == demand.review_stamp(engine, cycle_id)  # reading keeps it
        stamps.append(demand.review_stamp(engine, cycle_id))
        assert stamps[-1] != stamps[-2], (value, comment)
        return int(stored["version"].iloc[0]) if len(stored) else None

    version = save(90.0, "", None)  # added
    version = save(90.0, "promotion confirmed", version)  # the comment alone
    version = save(70.0, "promotion confirmed", version)  # the value
    assert save(None, "", version) is None  # removed
    assert len(set(stamps[:4])) == 4 and stamps[4] == stamps[0]  # removed: the same (no override) as at the start
