"""No lost or doubled edits, on SQLite (the file database with write-ahead logging, as the app) and PostgreSQL.

Twenty writers save the same object at the same moment, for every object two people can edit
(bench/reliability_writers.py): exactly one is told "saved", the nineteen others get an EditConflict naming the
other person's change, and the database holds the saved value once (one override row for the month, one proposed
scenario with one set of plan lines). Before the unique key, the version checks and the promotion's check of
what the user saw, the same races lost 20 of 20 first overrides (13 rows for one month), proposed two scenarios
with every plan line twice, and lost 19 of 20 decision outcomes without a conflict.

Then, one conflict at a time, what each conflict tells the user: who changed what, when, their value against
theirs, and the ``seen`` that saves over it. Every writer is a user whose role allows the save (the demo users,
the benchmark company's admins).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
from alembic import command
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError

from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.db.migrate import alembic_config, upgrade
from sop_core.errors import EditConflict
from sop_core.planning import levers as lev
from sop_core.services import decisions, kpi_targets, plan, scenarios, users

ROOT = Path(__file__).resolve().parents[2]
WRITERS = 20


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reliability_writers", ROOT / "bench" / "reliability_writers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _bench()


def test_twenty_writers_on_every_object_lose_nothing(db_url: str, bench: ModuleType) -> None:
    results = {r["object"]: r for r in bench.run(db_url, writers=WRITERS)}
    assert list(results) == ["override (first of a month)", "override (change)", "scenario", "promotion",
                             "decision outcome", "KPI target (first of a segment)", "user role"]
    for name, r in results.items():
        figures = (r["writers"], r["saved"], r["conflicts"], r["reported"], r["lost"], r["rows"], r["errors"])
        assert figures == (WRITERS, 1, WRITERS - 1, WRITERS - 1, 0, 1, []), name
    # one proposed plan: the scenario of the one writer told "saved", with its 2 SKUs × 3 months of plan lines once
    assert results["promotion"]["plan_lines"] == 6
    assert sum(r["seconds"] for r in results.values()) < 45


# --------------------------------------------------------------------------- what a conflict tells the user
def _company(engine: Engine) -> tuple[Any, int]:
    co = _bench().Company(engine, 2)
    return co, co.cycle_id


@pytest.mark.usefixtures("demo_users")
def test_a_promotion_over_another_names_who_promoted_what(engine: Engine) -> None:
    co, cycle_id = _company(engine)
    first, second = co.scenario_ids
    seen = plan.promotion_seen(engine, cycle_id)
    assert seen == plan.PromotionSeen(None, None)
    plan.promote(engine, first, "fiona", seen)
    with pytest.raises(EditConflict, match=r"fiona changed the proposed plan at .* \(now scenario 'RW\d+ writer 0'\)"
                       ) as err:
        plan.promote(engine, second, "sam", seen)  # sam's page still showed no proposed plan
    change = err.value.changes[0]
    assert (change.what, change.who, change.theirs, change.mine) == (
        "proposed plan", "fiona", f"scenario '{co.tag} writer 0'", f"scenario '{co.tag} writer 1'")
    assert isinstance(change.when, dt.datetime)
    with session_scope(engine) as s:
        proposed = s.scalars(select(m.Scenario.id).where(m.Scenario.status == "proposed")).all()
        sets = set(s.scalars(select(m.PlanLine.scenario_id).where(m.PlanLine.cycle_id == cycle_id)))
    assert (proposed, sets) == ([first], {first})
    # save mine: over the plan sam now has seen
    plan.promote(engine, second, "sam", err.value.seen)
    with session_scope(engine) as s:
        assert s.scalars(select(m.Scenario.id).where(m.Scenario.status == "proposed")).all() == [second]
        assert set(s.scalars(select(m.PlanLine.scenario_id).where(m.PlanLine.cycle_id == cycle_id))) == {second}


def test_the_database_holds_one_proposed_scenario_per_cycle(engine: Engine) -> None:
    co, cycle_id = _company(engine)
    with pytest.raises(IntegrityError, match="(?i)unique"), session_scope(engine) as s:
        for sid in co.scenario_ids:
            s.get(m.Scenario, sid).status = "proposed"
            s.flush()
    with session_scope(engine) as s:  # nothing of it was stored
        assert s.scalars(select(m.Scenario.status).where(m.Scenario.cycle_id == cycle_id)).all() == ["draft"] * 2


@pytest.mark.usefixtures("demo_users")
def test_a_decision_outcome_over_another_shows_theirs_and_can_save_mine(engine: Engine) -> None:
    co, _ = _company(engine)
    did = co.decision_id
    decisions.update_decision(engine, did, "done", "range launched", "eric", 1)
    with pytest.raises(EditConflict, match="eric changed this decision since you opened it") as err:
        decisions.update_decision(engine, did, "dropped", "no budget", "fiona", 1)
    change = err.value.changes[0]
    assert (change.who, change.theirs, change.mine, err.value.seen) == ("eric", "done: range launched",
                                                                         "dropped: no budget", 2)
    decisions.update_decision(engine, did, "dropped", "no budget", "fiona", err.value.seen)
    row = decisions.decisions(engine, co.cycle_id).iloc[0]
    assert (row["status"], row["outcome"], row["updated_by"], row["version"]) == ("dropped", "no budget", "fiona", 3)


def test_a_role_change_over_another_admins_shows_theirs(engine: Engine) -> None:
    co, _ = _company(engine)
    first, second = co.writer("admin", 0), co.writer("admin", 1)  # two admins of the company
    users.set_role(engine, first, co.user, "finance", 1)
    with pytest.raises(EditConflict, match=rf"{first} changed the user {co.user} since you read it \(now finance\)"
                       ) as err:
        users.set_role(engine, second, co.user, "executive", 1)
    assert [(c.who, c.theirs, c.mine) for c in err.value.changes] == [(first, "finance", "executive")]
    users.set_role(engine, second, co.user, "executive", err.value.seen)
    account = next(a for a in users.list_users(engine, co.admin) if a.username == co.user)
    assert (account.role, account.version) == ("executive", 3)


@pytest.mark.usefixtures("demo_users")
def test_a_kpi_target_over_another_shows_theirs_and_can_save_mine(engine: Engine) -> None:
    co, _ = _company(engine)
    segment = f"family:{co.family}"

    def edit(target: float, version: int) -> pd.DataFrame:
        return pd.DataFrame({"key": ["fill_rate"], "target": [target], "version": [version]})

    kpi_targets.save_kpi_targets(engine, segment, edit(91.0, 0), "eric")
    with pytest.raises(EditConflict, match=r"Fill rate \(projected\) \(now 91 by eric\)") as err:
        kpi_targets.save_kpi_targets(engine, segment, edit(93.0, 0), "sam")  # both saw no target of the family
    assert [(c.who, c.theirs, c.mine) for c in err.value.changes] == [("eric", "91", "93")]
    assert err.value.seen == {"fill_rate": 1}
    kpi_targets.save_kpi_targets(engine, segment, edit(93.0, err.value.seen["fill_rate"]), "sam")
    stored = kpi_targets.kpi_targets(engine, segment).loc["fill_rate"]
    assert (stored["target"], stored["updated_by"], stored["version"]) == (93.0, "sam", 2)


@pytest.mark.usefixtures("demo_users")
def test_a_scenario_save_over_another_shows_their_levers(engine: Engine) -> None:
    co, cycle_id = _company(engine)
    name = f"{co.tag} writer 0"
    scenarios.save_scenario(engine, cycle_id, name, lev.Levers(demand_change_pct=7), "dana", 1)
    with pytest.raises(EditConflict, match=f"scenario '{name}' was changed by dana") as err:
        scenarios.save_scenario(engine, cycle_id, name, lev.Levers(demand_change_pct=3), "fiona", 1)
    change = err.value.changes[0]
    assert (change.who, change.theirs, change.mine, err.value.seen) == (
        "dana", "demand_change_pct=7.0", "demand_change_pct=3.0", 2)


def test_the_migration_keeps_the_latest_of_doubled_overrides_and_proposed_scenarios(engine: Engine) -> None:
    """0007 → 0008: the doubled rows the races left keep the latest (the one the consensus and the pages used)."""
    command.downgrade(alembic_config(engine), "0007")
    jan, t1, t2 = dt.date(2027, 1, 1), dt.datetime(2026, 12, 2, 9), dt.datetime(2026, 12, 2, 10)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO plan_cycle (id, month, status, status_by, plan_version, version) "
                          "VALUES (1, :m, 'reconciliation', '', 1, 1)"), {"m": dt.date(2026, 12, 1)})
        for value, at in ((130.0, t1), (120.0, t2), (110.0, t1)):
            conn.execute(text("INSERT INTO forecast_override (cycle_id, level, item, period, value, reason, comment, "
                              "author, created_at, version) VALUES (1, 'sku', 'A', :p, :v, 'promotion', '', 'ann', "
                              ":at, 1)"), {"p": jan, "v": value, "at": at})
        for name, at in (("early", t1), ("late", t2), ("draft", t2)):
            conn.execute(text("INSERT INTO scenario (cycle_id, name, levers, results, status, author, created_at, "
                              "updated_at, version) VALUES (1, :n, '{}', '{}', :st, 'ann', :at, :at, 1)"),
                         {"n": name, "st": "draft" if name == "draft" else "proposed", "at": at})
    assert upgrade(engine) is True
    with session_scope(engine) as s:
        kept = s.execute(select(m.ForecastOverride.value, m.ForecastOverride.created_at)).all()
        statuses = dict(s.execute(select(m.Scenario.name, m.Scenario.status)).all())
    assert [(v, at) for v, at in kept] == [(120.0, t2)]
    assert statuses == {"early": "draft", "late": "proposed", "draft": "draft"}
