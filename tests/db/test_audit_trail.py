"""The audit trail: every write records its actor, time, object and the values before and after; the trail is
filtered by who, what and when, and read by executives and admins only.

The storage tests run on SQLite and PostgreSQL; the service tests on a private copy of the seeded demo company.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select

from sop_core.cli import main as cli
from sop_core.db import audit_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.errors import NotAllowed
from sop_core.io import ingest
from sop_core.planning import levers as lev
from sop_core.services import audit_trail, bootstrap, decisions, overrides, plan, scenarios, users
from sop_core.services import cycle as cycle_service

T = dt.datetime(2026, 11, 20, 9, 0)


def _last(engine: Engine, action: str) -> m.AuditLog:
    with session_scope(engine) as s:
        row = s.scalars(select(m.AuditLog).where(m.AuditLog.action == action).order_by(m.AuditLog.id.desc())).first()
        assert row is not None, action
        s.expunge(row)
        return row


# --------------------------------------------------------------------------- storage, on both databases
@pytest.mark.usefixtures("demo_users")
def test_rows_keep_before_and_after_and_the_trail_filters(engine: Engine) -> None:
    with session_scope(engine) as s:
        audit_repo.audit(s, "dana", "override_save", "forecast_override", 7, {"n": 1},
                         before={"2026-12-01": None}, after={"2026-12-01": {"pct": 10.0, "at": dt.date(2026, 12, 1)}})
        audit_repo.audit(s, "sam", "scenario_saved", "scenario", 3, {}, before={"levers": {"x": float("nan")}},
                         after={"levers": {"x": 1.0}})
        s.flush()
        rows = s.scalars(select(m.AuditLog).order_by(m.AuditLog.id)).all()
        rows[0].at, rows[1].at = T - dt.timedelta(days=40), T  # one old change, one of today
    trail = audit_trail.trail(engine, "demo")
    assert trail[["user", "action", "entity_id"]].values.tolist() == [["sam", "scenario_saved", "3"],
                                                                      ["dana", "override_save", "7"]]
    # JSON as stored: a date as ISO text, NaN as null
    assert trail["after"].iloc[1] == '{"2026-12-01": {"at": "2026-12-01", "pct": 10.0}}'
    assert trail["before"].iloc[0] == '{"levers": {"x": null}}'
    assert audit_trail.trail(engine, "eric", users=["dana"])["action"].tolist() == ["override_save"]
    assert audit_trail.trail(engine, "demo", actions=["scenario_saved"])["user"].tolist() == ["sam"]
    days = audit_trail.trail(engine, "demo", first_day=T.date() - dt.timedelta(days=7), last_day=T.date())
    assert days["user"].tolist() == ["sam"]  # the last day counts whole
    choices = audit_trail.choices(engine, "demo")
    assert (choices.users, choices.actions) == (["dana", "sam"], ["override_save", "scenario_saved"])
    csv = audit_trail.trail_csv(trail).decode()
    assert csv.splitlines()[0] == "at,user,action,entity,entity_id,detail,before,after"
    assert csv.splitlines()[1].startswith("2026-11-20 09:00:00,sam,scenario_saved,scenario,3,")
    with pytest.raises(NotAllowed, match="'dana' has the role demand_planner: only an executive or an admin may "
                                         "read the audit trail"):
        audit_trail.trail(engine, "dana")


# --------------------------------------------------------------------------- every write, before and after
def test_an_override_change_records_the_value_it_replaced(demo_engine: Engine) -> None:
    cid = cycle_service.cycle_by_month(demo_engine, "2026-11").id
    month = overrides.override_grid(demo_engine, cid, "total", "Total")["period"].iloc[2]
    edit = pd.DataFrame({"period": [month], "value": [None], "pct": [10.0], "reason": ["promotion"], "comment": [""]})

    def seen() -> dict[pd.Timestamp, int | None]:  # the row versions of the grid as each user opens it
        grid = overrides.override_grid(demo_engine, cid, "total", "Total")
        return overrides.grid_edits(grid, grid)[1]

    overrides.save_overrides(demo_engine, cid, "total", "Total", edit, "dana", seen())
    overrides.save_overrides(demo_engine, cid, "total", "Total", edit.assign(pct=12.5, comment="bigger"), "demo",
                             seen())
    row = _last(demo_engine, "override_save")
    key = f"{month:%Y-%m-%d}"
    assert (row.username, row.entity, row.entity_id) == ("demo", "forecast_override", str(cid))
    assert row.before == {key: {"value": None, "pct": 10.0, "reason": "promotion", "comment": "", "author": "dana"}}
    assert row.after == {key: {"value": None, "pct": 12.5, "reason": "promotion", "comment": "bigger",
                               "author": "demo"}}
    overrides.save_overrides(demo_engine, cid, "total", "Total", edit.assign(pct=None), "dana", seen())  # removed
    assert _last(demo_engine, "override_save").after == {key: None}


def test_a_promotion_records_the_plan_it_replaced(demo_engine: Engine) -> None:
    cid = cycle_service.cycle_by_month(demo_engine, "2026-11").id
    first, _ = scenarios.save_scenario(demo_engine, cid, "First", lev.Levers(demand_change_pct=2), "dana", None)
    second, _ = scenarios.save_scenario(demo_engine, cid, "Second", lev.Levers(demand_change_pct=-3), "sam", None)
    plan.promote(demo_engine, first, "fiona", plan.promotion_seen(demo_engine, cid))
    row = _last(demo_engine, "plan_promoted")
    assert (row.username, row.before["scenario"], row.before["lines"], row.after["scenario"]) == (
        "fiona", None, 0, "First")
    first_revenue = row.after["revenue"]
    plan.promote(demo_engine, second, "sam", plan.promotion_seen(demo_engine, cid))
    row = _last(demo_engine, "plan_promoted")
    assert (row.username, row.before["scenario_id"], row.before["scenario"], row.after["scenario_id"]) == (
        "sam", first, "First", second)
    assert row.before["revenue"] == pytest.approx(first_revenue)
    assert row.before["lines"] == row.after["lines"] > 0
    assert row.after["revenue"] < row.before["revenue"]  # −3 % demand after +2 %


def test_a_decision_outcome_change_records_the_one_it_replaced(demo_engine: Engine) -> None:
    sep = cycle_service.cycle_by_month(demo_engine, "2026-09").id
    log = decisions.decisions(demo_engine, sep).set_index("decision")
    decision = log.loc["Add a Saturday shift on the sewing line in November"]
    decision_id = int(decision["id"])
    decisions.update_decision(demo_engine, decision_id, "done", "Shift added from 7 November", "sam",
                              int(decision["version"]))
    row = _last(demo_engine, "decision_updated")
    assert (row.username, row.entity, row.entity_id) == ("sam", "decision", str(decision_id))
    assert (row.before, row.after) == ({"status": "open", "outcome": ""},
                                       {"status": "done", "outcome": "Shift added from 7 November"})


def test_a_role_change_names_the_actor_and_the_target(demo_engine: Engine) -> None:
    users.set_role(demo_engine, "demo", "dana", "viewer", users.version_of(demo_engine, "dana"))
    row = _last(demo_engine, "user_role")
    assert (row.username, row.entity, row.entity_id) == ("demo", "app_user", "dana")
    assert (row.before, row.after) == ({"role": "demand_planner"}, {"role": "viewer"})


def test_an_import_records_the_rows_it_changed_and_their_previous_values(demo_engine: Engine,
                                                                          tmp_path: Path) -> None:
    with session_scope(demo_engine) as s:
        old = s.scalars(select(m.Product).order_by(m.Product.sku)).first()
        assert old is not None
        sku, name, family, category, price, cost = (old.sku, old.name, old.family, old.category, old.unit_price,
                                                    old.unit_cost)
    path = tmp_path / "product.csv"
    pd.DataFrame({"sku": [sku, "NEW-1"], "name": [name, "New one"], "family": family, "category": category,
                  "unit_price": [price + 1, 10.0], "unit_cost": [cost, 5.0]}).to_csv(path, index=False)
    # the first row changes a price; the second is new: counted, not listed
    ingest.import_files(demo_engine, [path], user="sam")
    row = _last(demo_engine, "import")
    assert row.username == "sam" and row.detail["rows_changed"] == {"product.csv": 1}
    assert row.before == {"product.csv": [{"sku": sku, "name": name, "family": family, "category": category,
                                           "unit_price": price, "unit_cost": cost}]}
    assert row.after["product.csv"][0]["unit_price"] == pytest.approx(price + 1)


def test_a_cycle_move_from_the_command_line_names_who_acted(demo_url: str, demo_engine: Engine,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOP_DATABASE_URL", demo_url)
    assert cli.main(["cycle", "advance", "--cycle", "2026-11", "--to", "supply_review", "--as", "sam"]) == 0
    row = _last(demo_engine, "cycle_state")
    assert (row.username, row.before["status"], row.after["status"], row.after["status_by"]) == (
        "sam", "demand_review", "supply_review", "sam")


def test_a_reset_by_a_viewer_is_refused_before_anything_changes(demo_engine: Engine) -> None:
    users.add_user(demo_engine, "demo", "vic", "viewer")
    with pytest.raises(NotAllowed, match="'vic' has the role viewer: only an admin may reset the database"):
        bootstrap.seed_demo_company(demo_engine, reset=True, user="vic", workers=1)
    with session_scope(demo_engine) as s:
        assert s.scalar(select(m.AuditLog.id).where(m.AuditLog.action == "demo_reset")) is None


@pytest.mark.slow
def test_a_reset_is_recorded_with_who_and_what_the_tables_held(demo_engine: Engine) -> None:
    with session_scope(demo_engine) as s:
        products = s.query(m.Product).count()
        audit_rows = s.query(m.AuditLog).count()
    bootstrap.seed_demo_company(demo_engine, reset=True, user="demo", workers=1)
    with session_scope(demo_engine) as s:
        first = s.scalars(select(m.AuditLog).order_by(m.AuditLog.id)).first()
        assert first is not None
        assert (first.username, first.action, first.entity) == ("demo", "demo_reset", "database")
        assert first.before["product"] == products and first.before["audit_log"] == audit_rows
        assert first.after["written"]["product"] == products
