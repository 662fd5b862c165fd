"""Cycle workflow: gates, sign-off freezing a plan version, immutability through every path, reproduce.

Runs on a private copy of the seeded demo company (2026-06 and 2026-09 closed, 2026-10 signed, 2026-11 in
demand review).
"""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Engine, delete, func, select, text, update

from sop_core.cli import main as cli
from sop_core.db import models as m
from sop_core.db import plan_repo, repo
from sop_core.db.engine import session_scope
from sop_core.db.guards import FrozenPlanError
from sop_core.db.models_cycle import PlanVersion
from sop_core.db.schema import ALL_MODELS
from sop_core.errors import NotAllowed
from sop_core.planning import levers as lev
from sop_core.services import cycle as cycle_service
from sop_core.services import decisions, plan, plan_changes, scenarios, signoff


def month_id(engine: Engine, month: str) -> int:
    return cycle_service.cycle_by_month(engine, month).id


def test_demo_comes_with_its_last_two_cycles_signed(demo_engine: Engine) -> None:
    frame = cycle_service.cycles_frame(demo_engine).set_index("month")
    # the last two monthly cycles are signed; 2026-06 is the cycle before the summer break
    assert frame["status"].to_dict() == {"2026-11": "demand_review", "2026-10": "signed", "2026-09": "closed",
                                         "2026-06": "closed"}
    assert frame["frozen"].to_dict() == {"2026-11": False, "2026-10": True, "2026-09": True, "2026-06": True}
    assert frame.loc["2026-10", "signed_by"] == "demand_planner, executive, finance, supply_planner"
    oct_id = month_id(demo_engine, "2026-10")
    versions = signoff.plan_versions(demo_engine, oct_id)
    assert versions["version"].tolist() == [1] and len(versions.loc[0, "inputs_hash"]) == 64
    with session_scope(demo_engine) as s:
        pv = s.scalar(select(PlanVersion).where(PlanVersion.cycle_id == oct_id))
        run = s.get(m.ForecastRun, pv.forecast_run_id)
        # the history was cut at the month before the cycle
        assert pv.history_cutoff.isoformat() == "2026-09-01" and run.params["first_forecast"] == "2026-10-01"
        assert set(pv.package_versions) >= {"sop_core", "pandas", "numpy", "statsforecast"}
        assert plan_repo.plan_line_count(s, oct_id, 1) == 176 * 18
    hist = cycle_service.state_history(demo_engine, oct_id)
    assert hist["to_state"].tolist() == ["demand_review", "supply_review", "reconciliation", "executive_review",
                                         "signed"]
    assert len(decisions.decisions(demo_engine, oct_id)) == 2


def test_every_demo_cycle_records_who_moved_it_and_when(demo_engine: Engine) -> None:
    """The open cycle too starts with the step out of draft, by a named user, like the signed ones."""
    nov = cycle_service.state_history(demo_engine, month_id(demo_engine, "2026-11"))
    first = nov.iloc[0]
    assert (first["from_state"], first["to_state"], first["username"]) == ("draft", "demand_review", "dana")
    assert first["at"] == pd.Timestamp("2026-11-02 09:00")
    assert nov["to_state"].tolist() == ["demand_review"]
    cycles = cycle_service.cycles_frame(demo_engine).set_index("month")
    assert (cycles.loc["2026-11", "status_by"], cycles.loc["2026-11", "status_at"]) == (
        "dana", pd.Timestamp("2026-11-02 09:00"))
    for month in ("2026-06", "2026-09", "2026-10"):
        hist = cycle_service.state_history(demo_engine, month_id(demo_engine, month))
        assert hist[["from_state", "to_state"]].iloc[0].tolist() == ["draft", "demand_review"], month
        assert hist["username"].ne("").all() and hist["at"].is_monotonic_increasing, month


def test_a_signed_cycle_takes_no_new_forecast_run(demo_engine: Engine) -> None:
    from sop_core.services import forecasting

    oct_id = month_id(demo_engine, "2026-10")
    with session_scope(demo_engine) as s:
        runs_before = s.scalar(select(func.count()).select_from(m.ForecastRun))
    with pytest.raises(forecasting.DemandError, match="cycle 2026-10 is signed off .*its forecast is frozen"):
        forecasting.run_forecast(demo_engine, cycle_id=oct_id, horizon=3)
    with session_scope(demo_engine) as s:
        assert s.scalar(select(func.count()).select_from(m.ForecastRun)) == runs_before


def test_gates_and_sign_off_freeze_the_version(demo_engine: Engine) -> None:
    cid = month_id(demo_engine, "2026-11")
    with pytest.raises(cycle_service.WorkflowError, match="one step at a time"):
        cycle_service.advance(demo_engine, cid, "executive_review", "demo")
    with pytest.raises(cycle_service.WorkflowError, match="no proposed plan"):
        signoff.sign_off(demo_engine, cid, "finance", "fiona")
    assert cycle_service.advance(demo_engine, cid, "supply_review", "sam") == "supply_review"
    assert cycle_service.advance(demo_engine, cid, "reconciliation", "sam") == "reconciliation"
    with pytest.raises(cycle_service.WorkflowError, match="no proposed plan"):
        cycle_service.advance(demo_engine, cid, "executive_review", "fiona")
    with pytest.raises(cycle_service.WorkflowError, match="not every role has signed"):
        cycle_service.advance(demo_engine, cid, "signed", "eric")
    sid, _ = scenarios.save_scenario(demo_engine, cid, "Board case", lev.Levers(demand_change_pct=5), "dana", None)
    seen = plan.promotion_seen(demo_engine, plan.load_scenario(demo_engine, sid).cycle_id)
    plan.promote(demo_engine, sid, "fiona", seen)
    froze = [signoff.sign_off(demo_engine, cid, role, user) for role, user in
             (("demand_planner", "dana"), ("supply_planner", "sam"), ("finance", "fiona"), ("executive", "eric"))]
    assert froze == [False, False, False, True]
    info = cycle_service.cycle_info(demo_engine, cid)
    assert info.status == "signed" and signoff.is_frozen(demo_engine, cid)
    with pytest.raises(cycle_service.WorkflowError, match="already signed off and frozen"):
        signoff.sign_off(demo_engine, cid, "executive", "eric")
    # the diff against the last signed plan adds up (2026-10 v1 → 2026-11 v1)
    d = plan_changes.plan_diff(demo_engine, (cid, None))
    assert d.before_label == "2026-10 v1" and d.after_label == "2026-11 v1"
    assert d.lines[["new_actuals", "statistical_forecast", "overrides", "price", "capacity",
                    "scenario_levers"]].to_numpy().sum() == pytest.approx(d.total_change, rel=1e-9)
    assert sorted(d.lines.loc[d.lines["new_actuals"] != 0, "period"].dt.strftime("%Y-%m").unique()) == ["2026-10"]
    # the Board case lever (+5 % demand) shows up as a positive scenario-lever part
    assert d.waterfall.set_index("step").loc["scenario_levers", "value"] > 0
    # a change makes a new version; the signed one stays
    with pytest.raises(NotAllowed, match="'dana' has the role demand_planner: only an executive, finance or an admin "
                                         "may move the cycle from signed to reconciliation"):
        signoff.new_version(demo_engine, cid, "dana")
    assert signoff.new_version(demo_engine, cid, "eric") == 2
    assert cycle_service.cycle_info(demo_engine, cid).status == "reconciliation"
    assert signoff.is_frozen(demo_engine, cid, 1) and not signoff.is_frozen(demo_engine, cid, 2)


def test_sign_offs_follow_the_cycle_in_order(demo_engine: Engine) -> None:
    """The fourth sign-off no longer jumps a cycle in demand review to signed: each role signs in its step, after
    the roles before it, and each sign-off moves the cycle to the next role's step."""
    cid = month_id(demo_engine, "2026-11")
    sid, _ = scenarios.save_scenario(demo_engine, cid, "Board case", lev.Levers(), "dana", None)
    seen = plan.promotion_seen(demo_engine, plan.load_scenario(demo_engine, sid).cycle_id)
    plan.promote(demo_engine, sid, "fiona", seen)
    assert cycle_service.cycle_info(demo_engine, cid).status == "demand_review"
    for role, user in (("executive", "eric"), ("finance", "fiona"), ("supply_planner", "sam")):
        with pytest.raises(cycle_service.WorkflowError, match="Demand planner signs off plan version 1 .* first"):
            signoff.sign_off(demo_engine, cid, role, user)
    with pytest.raises(NotAllowed, match="'sam' has the role supply_planner: only a demand planner"):
        signoff.sign_off(demo_engine, cid, "demand_planner", "sam")  # nobody signs for another role
    assert signoff.signoffs(demo_engine, cid).empty
    states = []
    for role, user in (("demand_planner", "dana"), ("supply_planner", "sam"), ("finance", "fiona")):
        assert signoff.sign_off(demo_engine, cid, role, user) is False
        states.append(cycle_service.cycle_info(demo_engine, cid).status)
    assert states == ["supply_review", "reconciliation", "executive_review"]
    assert signoff.sign_off(demo_engine, cid, "executive", "eric") is True
    hist = cycle_service.state_history(demo_engine, cid)
    tail = hist.tail(4)
    assert tail["to_state"].tolist() == ["supply_review", "reconciliation", "executive_review", "signed"]
    assert tail["username"].tolist() == ["dana", "sam", "fiona", "eric"]


def test_a_viewer_or_an_unknown_user_moves_no_cycle(demo_engine: Engine) -> None:
    cid = month_id(demo_engine, "2026-11")
    with session_scope(demo_engine) as s:
        s.add(m.AppUser(username="vic", display_name="Vic", role="viewer"))
    with pytest.raises(NotAllowed, match="'vic' has the role viewer: only .* may move the plan cycle"):
        cycle_service.advance(demo_engine, cid, "supply_review", "vic")
    with pytest.raises(NotAllowed, match="'ghost' is not a user"):
        cycle_service.advance(demo_engine, cid, "supply_review", "ghost")
    with pytest.raises(NotAllowed, match="'fiona' has the role finance: only a demand planner, a supply planner or an "
                                         "admin may move the cycle from demand review to supply review"):
        cycle_service.advance(demo_engine, cid, "supply_review", "fiona")
    assert cycle_service.cycle_info(demo_engine, cid).status == "demand_review"


def test_a_signed_plan_cannot_change_through_any_path(demo_engine: Engine, demo_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cid = month_id(demo_engine, "2026-10")
    with session_scope(demo_engine) as s:
        before = plan_repo.plan_lines(s, cid, 1)
        sid = plan_repo.plan_scenario_id(s, cid, 1)
        override_id = s.scalar(select(m.ForecastOverride.id).where(m.ForecastOverride.cycle_id == cid))

    def refused(action) -> None:  # noqa: ANN001 - a function of a session
        with pytest.raises(FrozenPlanError, match="frozen"), session_scope(demo_engine) as s:
            action(s)

    # repository functions (Core statements through the session)
    refused(lambda s: plan_repo.delete_plan_lines(s, cid, 1))
    refused(lambda s: repo.insert_frame(s, m.PlanLine, before.head(1).drop(columns="id")))
    refused(lambda s: s.execute(update(m.PlanLine).where(m.PlanLine.cycle_id == cid).values(revenue=0.0)))
    refused(lambda s: s.execute(delete(m.Signoff).where(m.Signoff.cycle_id == cid)))
    refused(lambda s: s.execute(update(m.Scenario).where(m.Scenario.id == sid).values(levers={})))
    refused(lambda s: s.execute(update(PlanVersion).where(PlanVersion.cycle_id == cid).values(inputs={})))
    # ORM updates, inserts and deletes (flush)
    refused(lambda s: setattr(s.get(m.PlanLine, int(before["id"].iloc[0])), "revenue", 0.0) or s.flush())
    refused(lambda s: s.delete(s.scalar(select(m.Signoff).where(m.Signoff.cycle_id == cid))) or s.flush())
    refused(lambda s: setattr(s.get(m.ForecastOverride, override_id), "pct", 99.0) or s.flush())
    refused(lambda s: s.add(m.ForecastOverride(cycle_id=cid, level="sku", item="CF-1001", period=pd.Timestamp(
        "2026-12-01").date(), pct=5.0, reason="x", author="dana")) or s.flush())
    refused(lambda s: setattr(s.get(m.Scenario, sid), "levers", {"demand_change_pct": 50.0}) or s.flush())
    refused(lambda s: setattr(s.scalar(select(PlanVersion).where(PlanVersion.cycle_id == cid)), "totals", {})
            or s.flush())
    # services
    with pytest.raises(plan.PlanError, match="proposed plan"):
        scenarios.save_scenario(demo_engine, cid, plan.load_scenario(demo_engine, sid).name,
                           lev.Levers(demand_change_pct=9), "fiona", plan.load_scenario(demo_engine, sid).version)
    with pytest.raises(plan.PlanError):
        signoff.sign_off(demo_engine, cid, "finance", "fiona")
    # the CLI: a closed cycle cannot reopen (exit 1, one line)
    monkeypatch.setenv("SOP_DATABASE_URL", demo_url)
    assert cli.main(["cycle", "advance", "--cycle", "2026-09", "--to", "reconciliation", "--as", "demo"]) == 1
    with session_scope(demo_engine) as s:
        after = plan_repo.plan_lines(s, cid, 1)
        assert s.scalar(select(m.PlanCycle.status).where(m.PlanCycle.month == pd.Timestamp("2026-09-01").date())) \
            == "closed"
    pd.testing.assert_frame_equal(before, after)
    # promoting in a signed cycle makes version 2 and reopens it; version 1 stays as signed
    seen = plan.promotion_seen(demo_engine, plan.load_scenario(demo_engine, sid).cycle_id)
    assert plan.promote(demo_engine, sid, "fiona", seen) == 2
    assert cycle_service.cycle_info(demo_engine, cid).status == "reconciliation"
    with session_scope(demo_engine) as s:
        pd.testing.assert_frame_equal(before, plan_repo.plan_lines(s, cid, 1))


@pytest.mark.slow
def test_reproduce_matches_the_signed_cycle_and_detects_a_tampered_number(
    demo_engine: Engine, demo_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SOP_DATABASE_URL", demo_url)
    assert cli.main(["reproduce", "--cycle", "2026-10"]) == 0
    out = capsys.readouterr().out
    # 176 SKUs × 18 months: 3168 forecast numbers + 5 × 3168 plan numbers + 2 hashes
    assert out.startswith("match: cycle 2026-10 plan version 1: all 19010 numbers match")
    cid = month_id(demo_engine, "2026-10")
    # tamper with one stored number behind the application's back (a raw SQL connection)
    with demo_engine.begin() as conn:
        row = conn.execute(text(
            "SELECT id, sku, period FROM plan_line WHERE cycle_id = :c AND plan_version = 1 ORDER BY sku, period "
            "LIMIT 1"), {"c": cid}).one()
        conn.execute(text("UPDATE plan_line SET revenue = revenue + 1 WHERE id = :i"), {"i": row.id})
    assert cli.main(["reproduce", "--cycle", "2026-10"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith("mismatch: cycle 2026-10 plan version 1: 1 of 19010 numbers differ; first: plan line "
                          f"{row.sku} {str(row.period)[:7]} revenue")
    assert cli.main(["reproduce", "--cycle", "2026-11"]) == 1
    assert "no signed-off plan version" in capsys.readouterr().err


def test_cycle_list_prints_states(demo_url: str, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SOP_DATABASE_URL", demo_url)
    assert cli.main(["cycle", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    body = [ln.split()[:2] for ln in lines if ln[:4] == "2026"]
    assert body == [["2026-11", "demand_review"], ["2026-10", "signed"], ["2026-09", "closed"], ["2026-06", "closed"]]
    assert cli.main(["cycle", "advance", "--cycle", "2026-11", "--to", "supply_review", "--as", "vic"]) == 1
    assert capsys.readouterr().err == ("error: 'vic' is not a user of S&OP Studio: only a demand planner, a supply "
                                       "planner, finance, an executive or an admin may move the plan cycle (acting "
                                       "user: vic; act as a user with that role with --as NAME)\n")
    assert cli.main(["cycle", "advance", "--cycle", "2026-11", "--to", "supply_review", "--as", "sam"]) == 0
    assert "demand_review → supply_review" in capsys.readouterr().out
    assert cli.main(["cycle", "advance", "--cycle", "2026-11", "--to", "signed", "--as", "demo"]) == 1
    assert "not every role has signed" in capsys.readouterr().err


def test_the_freeze_guard_works_on_both_databases(engine: Engine) -> None:
    """A version signed by every role is frozen on SQLite and PostgreSQL; an unsigned one is not."""
    import datetime as dt

    with session_scope(engine) as s:
        s.add(m.Product(sku="A", name="A", family="F", category="C", unit_price=5.0, unit_cost=3.0))
        cyc = m.PlanCycle(month=dt.date(2026, 11, 1), status="executive_review", status_by="x")
        s.add(cyc)
        s.flush()
        cid = cyc.id
        lines = pd.DataFrame({"sku": ["A", "A"], "period": pd.to_datetime(["2026-11-01", "2026-12-01"]),
                              "demand_qty": [10.0, 12.0], "supply_qty": [10.0, 12.0], "inventory_qty": [0.0, 0.0],
                              "revenue": [50.0, 60.0], "cost": [30.0, 36.0]})
        repo.insert_frame(s, m.PlanLine, lines, cycle_id=cid, plan_version=1)
        for role in ("demand_planner", "supply_planner", "finance"):
            s.add(m.Signoff(cycle_id=cid, plan_version=1, role=role, username=role))
    with session_scope(engine) as s:  # three of four roles: still open
        s.execute(update(m.PlanLine).where(m.PlanLine.cycle_id == cid).values(cost=31.0))
        s.add(m.Signoff(cycle_id=cid, plan_version=1, role="executive", username="eric"))
    for action in (
        lambda s: s.execute(update(m.PlanLine).where(m.PlanLine.cycle_id == cid).values(cost=0.0)),
        lambda s: plan_repo.delete_plan_lines(s, cid, 1),
        lambda s: repo.insert_frame(s, m.PlanLine, lines, cycle_id=cid, plan_version=1),
        lambda s: s.delete(s.scalar(select(m.Signoff).where(m.Signoff.role == "finance"))) or s.flush(),
    ):
        with pytest.raises(FrozenPlanError, match="plan version 1 of cycle 2026-11 is signed off"), \
                session_scope(engine) as s:
            action(s)
    with session_scope(engine) as s:  # a new version is open again, the frozen one unchanged
        s.get(m.PlanCycle, cid).plan_version = 2
        repo.insert_frame(s, m.PlanLine, lines, cycle_id=cid, plan_version=2)
    with session_scope(engine) as s:
        assert plan_repo.plan_lines(s, cid, 1)["cost"].tolist() == [31.0, 31.0]
        assert plan_repo.plan_line_count(s, cid, 2) == 2


def test_only_a_full_reset_deletes_signed_plans(demo_engine: Engine) -> None:
    """Emptying every table (what `demo --reset` does) needs the reset flag; without it a signed plan stays."""
    from sop_core.db.guards import RESET_ALL

    with pytest.raises(FrozenPlanError), session_scope(demo_engine) as s:
        repo.clear_tables(s, reversed(ALL_MODELS))
    assert len(cycle_service.cycles_frame(demo_engine)) == 4
    with session_scope(demo_engine) as s:
        s.info[RESET_ALL] = True
        repo.clear_tables(s, reversed(ALL_MODELS))
    assert cycle_service.cycles_frame(demo_engine).empty
