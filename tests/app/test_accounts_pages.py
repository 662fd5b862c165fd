"""Team mode in the app: sign-in (and its throttle), the session's idle and absolute expiry on an injected
clock, the admin page (users and roles) for admins only, and the friendly message of a failing page."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from sqlalchemy import Engine
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from sop_core.services import sign_in, users

PW = "kettle lorry umbrella"
ADMIN_PW = "Tr0mb0ne-Avalanche"
T0 = dt.datetime(2026, 12, 1, 8, 0, 0)

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


class Clock:
    """The sign-in service's clock, moved by the test."""

    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(sign_in, "now", c)
    return c


@pytest.fixture
def team_app(app_env: str, demo_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> str:
    """The app in team mode on a demo copy with an admin ``ada`` and a finance user ``fiona.f``."""
    users.add_user(demo_engine, "demo", "ada", "admin", password=ADMIN_PW)
    users.add_user(demo_engine, "ada", "fiona.f", "finance", password=PW)
    monkeypatch.setenv("SOP_AUTH", "on")
    return app_env


def _signed_in(app: str, username: str, password: str) -> AppTest:
    at = AppTest.from_file(app, default_timeout=120)
    at.run()
    assert [t.value for t in at.title] == ["S&OP Studio — sign in"]
    at.text_input(key="sign_in_user").input(username)
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click().run()
    return at


def _titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def test_team_mode_requires_sign_in(team_app: str) -> None:
    at = _signed_in(team_app, "fiona.f", "wrong password")
    assert at.error[0].value == "Unknown user name or wrong password."
    at.text_input(key="sign_in_user").input("fiona.f")
    at.text_input(key="sign_in_password").input(PW)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert _titles(at)[0] == "Demand review"
    assert any("fiona.f" in c.value for c in at.sidebar.caption)


def test_repeated_failures_are_throttled_on_the_page(team_app: str, clock: Clock) -> None:
    at = _signed_in(team_app, "fiona.f", "wrong password")
    for _ in range(2):
        at.button[0].click().run()
    assert [e.value for e in at.error] == ["Unknown user name or wrong password."]
    at.text_input(key="sign_in_password").input(PW)
    at.button[0].click().run()  # the 4th attempt, at once: must wait 2 s even with the right password
    assert at.error[0].value == "Too many failed sign-ins: wait 2 s, then try again."
    clock.advance(seconds=2)
    at.button[0].click().run()
    assert _titles(at)[0] == "Demand review"


def test_idle_session_ends_after_30_minutes(team_app: str, clock: Clock) -> None:
    at = _signed_in(team_app, "fiona.f", PW)
    assert _titles(at)[0] == "Demand review"
    clock.advance(minutes=29)
    at.run()
    assert _titles(at)[0] == "Demand review"
    clock.advance(minutes=30, seconds=1)
    at.run()
    assert _titles(at) == ["S&OP Studio — sign in"]
    assert at.info[0].value == "Your session ended after 30 min without activity: sign in again."


def test_session_ends_at_its_absolute_limit(team_app: str, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOP_SESSION_MAX_HOURS", "1")
    at = _signed_in(team_app, "fiona.f", PW)
    for _ in range(3):  # active every 20 minutes: at 0:20, 0:40, 1:00
        clock.advance(minutes=20)
        at.run()
        assert _titles(at)[0] == "Demand review"
    clock.advance(seconds=1)
    at.run()
    assert _titles(at) == ["S&OP Studio — sign in"]
    assert at.info[0].value == "Your session ended 1 h after its sign-in: sign in again."


def test_a_disabled_user_is_signed_out_at_the_next_action(team_app: str, demo_engine: Engine) -> None:
    at = _signed_in(team_app, "fiona.f", PW)
    assert _titles(at)[0] == "Demand review"
    users.disable_user(demo_engine, "ada", "fiona.f")
    at.run()
    assert _titles(at) == ["S&OP Studio — sign in"]
    assert at.info[0].value == "Your account can no longer sign in: ask an admin."


def test_only_admins_see_the_admin_page(team_app: str) -> None:
    at = _signed_in(team_app, "fiona.f", PW)
    assert _titles(at)[0] == "Demand review"
    with pytest.raises(ValueError, match="Could not find a navigation page for .*admin.py"):
        at.switch_page("views/admin.py")  # not in fiona's navigation
    page = AppTest.from_file(str(Path(team_app).parent / "views" / "admin.py"), default_timeout=120)
    page.session_state["username"] = "fiona.f"  # the page itself refuses a non-admin, however it is reached
    page.run()
    assert [e.value for e in page.error] == ["Only an admin may see this page."]
    assert not page.dataframe
    admin = _signed_in(team_app, "ada", ADMIN_PW)
    admin.switch_page("views/admin.py").run()
    assert not admin.exception, [e.message for e in admin.exception]
    assert _titles(admin) == ["Users and roles"]


def test_admin_page_adds_a_user_and_records_the_actor(team_app: str, demo_engine: Engine) -> None:
    at = _signed_in(team_app, "ada", ADMIN_PW)
    at.switch_page("views/admin.py").run()
    listed = at.dataframe[0].value
    assert {"ada", "fiona.f", "demo"} <= set(listed["User"])
    at.text_input(key="admin_add_name").input("sam.s")
    at.selectbox(key="admin_add_role").select("supply_planner")
    at.text_input(key="admin_add_password").input("short")
    at.button(key="FormSubmitter:admin_add-Add user").click().run()
    assert at.error[0].value == "a password needs at least 12 characters (this one has 5)"
    at.text_input(key="admin_add_name").input("sam.s")
    at.selectbox(key="admin_add_role").select("supply_planner")
    at.text_input(key="admin_add_password").input("forklift pallet harbour")
    at.button(key="FormSubmitter:admin_add-Add user").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.success[0].value == "User sam.s added with the role supply_planner."
    assert "sam.s" in set(at.dataframe[0].value["User"])
    changes = users.user_changes(demo_engine, "ada")
    assert changes.iloc[0][["actor", "action", "user"]].tolist() == ["ada", "user_added", "sam.s"]
    # another admin gives sam a role while ada's page shows sam as supply planner: ada's change shows theirs
    at.selectbox(key="admin_user").select("sam.s").run()
    users.set_role(demo_engine, "demo", "sam.s", "finance", users.version_of(demo_engine, "sam.s"))
    at.selectbox(key="admin_role_value").select("executive")
    at.button(key="FormSubmitter:admin_role-Save role").click().run()
    assert not at.exception, [e.message for e in at.exception]
    conflict = next(d.value for d in at.dataframe if "Changed by" in d.value.columns)
    assert conflict[["What", "Changed by", "Their value", "Your value"]].values.tolist() == [
        ["role of sam.s", "demo", "finance", "executive"]]
    assert next(a for a in users.list_users(demo_engine, "ada") if a.username == "sam.s").role == "finance"
    at.button(key="admin_role_save_mine").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert next(a for a in users.list_users(demo_engine, "ada") if a.username == "sam.s").role == "executive"


def test_demo_mode_shows_the_admin_page_to_the_demo_admin(shared_app_env: str) -> None:
    at = AppTest.from_file(shared_app_env, default_timeout=120)
    at.run()
    at.switch_page("views/admin.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert _titles(at) == ["Users and roles"]


def test_a_failing_page_shows_a_reference_the_log_has(
    shared_app_env: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sop_core.services import cycle

    def broken(_engine: Engine) -> list[object]:
        raise RuntimeError("connection string postgresql://secret@db")

    monkeypatch.setattr(cycle, "list_cycles", broken)
    before = st_config.get_option("client.showErrorDetails")
    st_config.set_option("client.showErrorDetails", "none")
    try:
        at = AppTest.from_file(shared_app_env, default_timeout=120)
        with caplog.at_level(logging.ERROR, logger="sop_studio"):
            at.run()
    finally:
        st_config.set_option("client.showErrorDetails", before)
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "secret" not in shown and "RuntimeError" not in shown
    reference = shown.split("reference **")[1].split("**")[0]
    assert len(reference) == 8
    record = next(r for r in caplog.records if r.name == "sop_studio")
    assert record.getMessage() == f"page failed, reference {reference}"
    assert record.exc_info is not None and "secret" in str(record.exc_info[1])


def test_a_database_down_at_sign_in_shows_one_friendly_message(team_app: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database stops answering as the form is sent: one friendly sentence, no error page; once it answers
    again the same form signs in."""
    from sqlalchemy.exc import OperationalError

    from sop_core.services import bootstrap

    real = sign_in.sign_in

    def down(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(sign_in, "sign_in", down)
    at = _signed_in(team_app, "fiona.f", PW)
    assert not at.exception, [e.message for e in at.exception]
    assert [w.value for w in at.warning] == [bootstrap.UNREACHABLE]
    assert _titles(at) == ["S&OP Studio — sign in"]
    monkeypatch.setattr(sign_in, "sign_in", real)
    at.button[0].click().run()
    assert _titles(at)[0] == "Demand review"
