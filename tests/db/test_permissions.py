"""Roles in sop_core: the one permission table, checked by every service write against a user that exists and is
enabled; a refusal is one :class:`NotAllowed` with a plain message and writes nothing.

The table tests run on SQLite and PostgreSQL; the service tests on a private copy of the seeded demo company
(SQLite), as a probe in the browser found them: a viewer's writes went through, and so did a user name without
an account.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.db.models_cycle import Decision
from sop_core.db.models_monitor import KpiTarget
from sop_core.errors import NotAllowed
from sop_core.io import ingest
from sop_core.planning import levers as lev
from sop_core.services import cycle as cycle_service
from sop_core.services import decisions, forecasting, monitor, overrides, permissions, plan, scenarios, signoff, users
from sop_core.services import kpi_targets as targets_service
from sop_core.units import ROLES

#: One user per role.
ROLE_USERS = {role: f"user_{role}" for role in ROLES}

#: The permission table as README documents it, written out by hand: action → roles allowed.
EXPECTED_GRANTS = {
    "read": set(ROLES),
    "forecast": {"demand_planner", "admin"},
    "override": {"demand_planner", "admin"},
    "import": {"demand_planner", "supply_planner", "admin"},
    "scenario_save": {"demand_planner", "supply_planner", "finance", "admin"},
    "scenario_promote": {"supply_planner", "finance", "admin"},
    "cycle_move": {"demand_planner", "supply_planner", "finance", "executive", "admin"},
    "sign_off": {"demand_planner", "supply_planner", "finance", "executive", "admin"},
    "decisions": {"demand_planner", "supply_planner", "finance", "executive", "admin"},
    "targets": {"demand_planner", "supply_planner", "executive", "admin"},
    "users": {"admin"},
    "monitor": {"demand_planner", "supply_planner", "admin"},
    "reset": {"admin"},
    "audit": {"executive", "admin"},
}


def test_the_table_is_the_documented_one() -> None:
    assert {a: set(r) for a, r in permissions.GRANTS.items()} == EXPECTED_GRANTS
    assert set(permissions.ACTIONS) == set(EXPECTED_GRANTS)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for action, roles in EXPECTED_GRANTS.items():  # one README row per action, a ✓ per role allowed
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{action}` |"))
        cells = [c.strip() for c in row.strip("|").split("|")[1:]]
        assert [r for r, c in zip(ROLES, cells, strict=True) if c == "✓"] == [r for r in ROLES if r in roles], action


@pytest.fixture
def team(engine: Engine) -> Engine:
    with session_scope(engine) as s:
        for role, name in ROLE_USERS.items():
            s.add(m.AppUser(username=name, display_name=name, role=role))
        s.add(m.AppUser(username="gone", display_name="Gone", role="admin", disabled=True))
    return engine


@pytest.mark.parametrize("action", list(EXPECTED_GRANTS))
def test_require_allows_exactly_the_roles_of_the_table(team: Engine, action: str) -> None:
    for role, name in ROLE_USERS.items():
        if role in EXPECTED_GRANTS[action]:
            assert permissions.require(team, name, action) == role
            assert permissions.access(team, name).can(action)
        else:
            with pytest.raises(NotAllowed, match=f"^'{name}' has the role {role}: only .* may "):
                permissions.require(team, name, action)
            assert not permissions.access(team, name).can(action)
    with pytest.raises(NotAllowed, match="^'ghost' is not a user of S&OP Studio: only "):
        permissions.require(team, "ghost", action)
    with pytest.raises(NotAllowed, match="^'gone' is disabled: "):  # a disabled admin may do nothing
        permissions.require(team, "gone", action)
    assert not permissions.access(team, "gone").actions


def test_sign_off_for_ones_own_role_and_moves_by_the_owner_of_a_step(team: Engine) -> None:
    planner = permissions.access(team, ROLE_USERS["demand_planner"])
    assert planner.may_sign_as("demand_planner") and not planner.may_sign_as("finance")
    assert permissions.access(team, ROLE_USERS["admin"]).may_sign_as("executive")
    with pytest.raises(NotAllowed, match="'user_finance' has the role finance: only an executive \\(or an admin\\)"):
        permissions.require_sign_off(team, ROLE_USERS["finance"], "executive")
    # demand review → supply review: its owner (demand planner) hands over, the supply planner may take it
    assert planner.may_move("demand_review", "supply_review")
    assert permissions.access(team, ROLE_USERS["supply_planner"]).may_move("demand_review", "supply_review")
    assert not permissions.access(team, ROLE_USERS["finance"]).may_move("demand_review", "supply_review")
    with pytest.raises(NotAllowed, match="only an executive or an admin may move the cycle from signed to closed"):
        permissions.require_move(team, ROLE_USERS["finance"], "signed", "closed")


# --------------------------------------------------------------------------- every service write, as a viewer
def _demo(engine: Engine) -> dict[str, int]:
    """The ids the writes need: the open cycle (2026-11), the signed one (2026-10), a scenario and a decision."""
    with session_scope(engine) as s:
        s.add(m.AppUser(username="vic", display_name="Vic Viewer", role="viewer"))
    nov = cycle_service.cycle_by_month(engine, "2026-11").id
    oct_ = cycle_service.cycle_by_month(engine, "2026-10").id
    sid, _ = scenarios.save_scenario(engine, nov, "Prepared", lev.Levers(demand_change_pct=2), "dana", None)
    decision = decisions.decisions(engine, oct_)["id"].iloc[0]
    return {"nov": nov, "oct": oct_, "scenario": sid, "decision": int(decision)}


def _override(engine: Engine, ids: dict[str, int], user: str) -> None:
    grid = overrides.override_grid(engine, ids["nov"], "total", "Total")
    edits = pd.DataFrame({"period": [grid["period"].iloc[0]], "value": [None], "pct": [10.0],
                          "reason": ["promotion"], "comment": [""]})
    overrides.save_overrides(engine, ids["nov"], "total", "Total", edits, user, overrides.grid_edits(grid, grid)[1])


def _decision_version(engine: Engine, cycle_id: int, decision_id: int) -> int:
    """The version of a decision as its page shows it (what an update passes as ``seen``)."""
    return int(decisions.decisions(engine, cycle_id).set_index("id").at[decision_id, "version"])


def _import(engine: Engine, user: str, tmp: Path) -> None:
    path = tmp / "product.csv"
    path.write_text("sku,name,family,category,unit_price,unit_cost\nNEW-1,New,F,C,10,5\n", encoding="utf-8")
    ingest.import_files(engine, [path], user=user)


#: name → the write, as ``(engine, ids, user, tmp_path)``.
WRITES: dict[str, Callable[[Engine, dict[str, int], str, Path], object]] = {
    "import": lambda e, _i, u, t: _import(e, u, t),
    "override": lambda e, i, u, _t: _override(e, i, u),
    "forecast": lambda e, i, u, _t: forecasting.run_forecast(e, cycle_id=i["nov"], horizon=2, user=u),
    "save_scenario": lambda e, i, u, _t: scenarios.save_scenario(e, i["nov"], "Mine", lev.Levers(), u, None),
    "promote": lambda e, i, u, _t: plan.promote(e, i["scenario"], u, plan.promotion_seen(e, i["nov"])),
    "sign_off": lambda e, i, u, _t: signoff.sign_off(e, i["nov"], "demand_planner", u),
    "freeze": lambda e, i, u, _t: signoff.freeze(e, i["nov"], u),
    "new_version": lambda e, i, u, _t: signoff.new_version(e, i["oct"], u),
    "add_decision": lambda e, i, u, _t: decisions.add_decision(e, i["nov"], "Do it", "eric", None, u),
    "update_decision": lambda e, i, u, _t: decisions.update_decision(e, i["decision"], "dropped", "no", u,
                                                                     _decision_version(e, i["oct"], i["decision"])),
    "targets": lambda e, _i, u, _t: targets_service.save_kpi_targets(
        e, "all", pd.DataFrame({"key": ["otif"], "target": [80.0], "version": [0]}), u),
    "advance": lambda e, i, u, _t: cycle_service.advance(e, i["nov"], "supply_review", u),
    "monitor": lambda e, i, u, _t: monitor.run_monitor(e, i["nov"], user=u, today=dt.date(2026, 11, 20)),
    "add_user": lambda e, _i, u, _t: users.add_user(e, u, "newbie", "viewer"),
    "set_role": lambda e, _i, u, _t: users.set_role(e, u, "dana", "viewer", users.version_of(e, "dana")),
}

#: What each write stores, counted before and after: nothing may change when it is refused.
COUNTED = (m.AuditLog, m.ForecastOverride, m.ForecastRun, m.Scenario, m.PlanLine, m.Signoff, Decision, KpiTarget,
           m.AppUser, m.Product)


def _counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        return {t.__tablename__: int(s.scalar(select(func.count()).select_from(t)) or 0) for t in COUNTED}


def _states(engine: Engine) -> list[tuple[str, str, int]]:
    with session_scope(engine) as s:
        return [(str(c.month), c.status, c.plan_version) for c in s.scalars(select(m.PlanCycle).order_by(m.PlanCycle.id))]


@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize("user", ["vic", "ghost"])
def test_a_viewer_or_an_unknown_user_writes_nothing(demo_engine: Engine, tmp_path: Path, write: str,
                                                    user: str) -> None:
    ids = _demo(demo_engine)
    before, states = _counts(demo_engine), _states(demo_engine)
    expected = "'vic' has the role viewer: only " if user == "vic" else "'ghost' is not a user of S&OP Studio: only "
    with pytest.raises(NotAllowed, match=f"^{expected}"):
        WRITES[write](demo_engine, ids, user, tmp_path)
    assert _counts(demo_engine) == before
    assert _states(demo_engine) == states


def test_decisions_of_a_signed_cycle_are_not_rewritten(demo_engine: Engine) -> None:
    ids = _demo(demo_engine)
    sep = cycle_service.cycle_by_month(demo_engine, "2026-09").id  # closed: one decision done, one open
    log = decisions.decisions(demo_engine, sep).set_index("decision")
    done = int(log.loc["Raise list prices 2 % from October", "id"])
    still_open = int(log.loc["Add a Saturday shift on the sewing line in November", "id"])
    with pytest.raises(cycle_service.WorkflowError, match="of the closed cycle 2026-09 has its outcome recorded"):
        decisions.update_decision(demo_engine, done, "dropped", "rewritten", "eric",
                                  _decision_version(demo_engine, sep, done))
    with pytest.raises(cycle_service.WorkflowError, match="cycle 2026-10 is signed: its decisions stay"):
        decisions.add_decision(demo_engine, ids["oct"], "Late addition", "eric", None, "eric")
    # an open decision's outcome is recorded once, then it stays
    decisions.update_decision(demo_engine, still_open, "done", "Shift added", "sam",
                              _decision_version(demo_engine, sep, still_open))
    with pytest.raises(cycle_service.WorkflowError, match="has its outcome recorded \\(done: Shift added\\)"):
        decisions.update_decision(demo_engine, still_open, "done", "Something else", "sam",
                                  _decision_version(demo_engine, sep, still_open))
    after = decisions.decisions(demo_engine, sep).set_index("id")
    assert (after.loc[done, "status"], after.loc[done, "outcome"]) == ("done", "Prices raised on 1 October")
    assert after.loc[still_open, "outcome"] == "Shift added"
    assert len(decisions.decisions(demo_engine, ids["oct"])) == 2


# --------------------------------------------------------------------------- every role, through the services
def _draft_cycle(engine: Engine) -> int:
    with session_scope(engine) as s:
        cyc = m.PlanCycle(month=dt.date(2027, 1, 1), status="draft", status_by="", status_at=dt.datetime(2027, 1, 1))
        s.add(cyc)
        s.flush()
        return int(cyc.id)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_through_the_services_as_the_table_says(team: Engine, role: str) -> None:
    """Targets, decisions and the first cycle move, as each role: allowed exactly where the table (and, for the
    move, the step's owner) says so; a refusal writes nothing."""
    user, cid = ROLE_USERS[role], _draft_cycle(team)
    writes = {
        "targets": lambda: targets_service.save_kpi_targets(
            team, "all", pd.DataFrame({"key": ["otif"], "target": [80.0], "version": [0]}), user),
        "decisions": lambda: decisions.add_decision(team, cid, "Do it", "eric", None, user),
        "cycle_move": lambda: cycle_service.advance(team, cid, "demand_review", user),
    }
    allowed = {"targets": role in EXPECTED_GRANTS["targets"], "decisions": role in EXPECTED_GRANTS["decisions"],
               "cycle_move": role in ("demand_planner", "admin")}  # draft and demand review: the demand planner's
    for action, write in writes.items():
        before = _counts(team)
        if allowed[action]:
            write()
            assert _counts(team)["audit_log"] == before["audit_log"] + 1, action  # and it is audited
        else:
            with pytest.raises(NotAllowed, match=f"^'{user}' has the role {role}: only "):
                write()
            assert _counts(team) == before, action
    assert cycle_service.cycle_info(team, cid).status == ("demand_review" if allowed["cycle_move"] else "draft")
