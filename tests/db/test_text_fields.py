"""Free texts are checked before the database: a 10,001-character scenario name, a NUL byte or a lone surrogate
in a decision, an outcome, a note, a comment or a user name is refused with one sentence (TextRejected, a
SopError) naming the field, never with the driver's error, and nothing is stored. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.db.models_cycle import Decision
from sop_core.planning import levers as lev
from sop_core.services import cycle as cycle_service
from sop_core.services import decisions, overrides, scenarios, sign_in, signoff, users
from sop_core.text_checks import TextRejected

LONG = "n" * 10_001
NUL = "Promo\x00push"
SURROGATE = "Promo \ud800 push"


@pytest.fixture
def cycle_id(engine: Engine) -> int:
    with session_scope(engine) as s:
        row = m.PlanCycle(month=dt.date(2026, 11, 1), status="demand_review", status_at=dt.datetime(2026, 11, 2))
        s.add(row)
        s.flush()
        return row.id


def _count(engine: Engine, model: type) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(("text", "reason"), [
    (LONG, "the scenario name is 10,001 characters long; at most 200 are allowed"),
    (NUL, "the scenario name holds a NUL character (at position 6); remove it"),
    (SURROGATE, "the scenario name holds a lone surrogate U+D800 (at position 7), which is not valid Unicode; type or "
                "paste the text again"),
])
@pytest.mark.usefixtures("demo_users")
def test_a_bad_scenario_name_is_refused_with_a_sentence(engine: Engine, cycle_id: int, text: str, reason: str) -> None:
    with pytest.raises(TextRejected) as err:
        scenarios.save_scenario(engine, cycle_id, text, lev.Levers(), "dana", None)  # a demand planner may save
    assert str(err.value) == reason
    assert _count(engine, m.Scenario) == 0


@pytest.mark.parametrize("text", [LONG, NUL, SURROGATE, "bell\x07"])
@pytest.mark.usefixtures("demo_users")
def test_a_bad_decision_text_owner_or_outcome_is_refused(engine: Engine, cycle_id: int, text: str) -> None:
    # fiona (finance) may log and change decisions
    with pytest.raises(TextRejected, match="^the decision "):
        decisions.add_decision(engine, cycle_id, text, "dana", None, "fiona")
    with pytest.raises(TextRejected, match="^the owner "):
        decisions.add_decision(engine, cycle_id, "Build ahead", text, None, "fiona")
    assert _count(engine, Decision) == 0
    decision_id = decisions.add_decision(engine, cycle_id, "Build ahead", "dana", None, "fiona")
    with pytest.raises(TextRejected, match="^the outcome "):
        seen = int(decisions.decisions(engine, cycle_id)["version"].iloc[0])
        decisions.update_decision(engine, decision_id, "done", text, "fiona", seen)
    assert decisions.decisions(engine, cycle_id)["outcome"].tolist() == [""]


def test_a_bad_note_or_comment_is_refused(engine: Engine, cycle_id: int) -> None:
    with pytest.raises(TextRejected, match="^the note holds a NUL character"):
        cycle_service.advance(engine, cycle_id, "draft", "demo", NUL)
    assert cycle_service.cycle_info(engine, cycle_id).status == "demand_review"
    with pytest.raises(TextRejected, match="^the comment is 10,001 characters long"):
        signoff.sign_off(engine, cycle_id, "finance", "demo", LONG)
    edits = pd.DataFrame({"period": [dt.date(2026, 12, 1)], "value": [10.0], "pct": [None], "reason": ["promo"],
                          "comment": [SURROGATE]})
    with pytest.raises(TextRejected, match="^the comment holds a lone surrogate U\\+D800"):
        overrides.save_overrides(engine, cycle_id, "total", "Total", edits, "demo", seen={})


def test_a_bad_display_name_is_refused_and_a_bad_user_name_signs_nobody_in(engine: Engine) -> None:
    with pytest.raises(TextRejected, match="^the display name holds a NUL character"):
        users.add_user(engine, "root", "admin1", "admin", display_name=NUL)
    assert _count(engine, m.AppUser) == 0
    for name in (NUL, LONG, SURROGATE):
        with pytest.raises(sign_in.SignInRefused) as err:
            sign_in.sign_in(engine, name, "whatever-password", "10.0.0.1")
        assert str(err.value) == sign_in.WRONG
