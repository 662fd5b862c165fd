"""`python -m sop_core user …`: the acting user (the OS user or --as), the first-admin rule, the password
policy, and each action's effect and audit."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from sop_core.cli.main import main
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.services import sign_in, users

PW = "kettle lorry umbrella"

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


@pytest.fixture
def cli(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run ``python -m sop_core ARGS`` in this process as the OS user ``root``: (exit code, stdout, stderr)."""
    monkeypatch.setenv("SOP_DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr("getpass.getuser", lambda: "root")

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _audit(engine: Engine) -> list[tuple[str, str, str]]:
    with session_scope(engine) as s:
        return [(r.username, r.action, r.entity_id)
                for r in s.query(m.AuditLog).filter(m.AuditLog.entity == "app_user").order_by(m.AuditLog.id)]


def test_empty_and_short_passwords_are_refused(cli, sqlite_engine: Engine) -> None:
    code, out, err = cli("user", "add", "ada", "--role", "admin", "--password", "")
    assert (code, out) == (1, "")
    assert err == "error: a password needs at least 12 characters (this one has 0)\n"
    code, _, err = cli("user", "add", "ada", "--role", "admin", "--password", "x")
    assert code == 1 and "at least 12 characters (this one has 1)" in err
    assert _audit(sqlite_engine) == []


def test_first_admin_then_only_admins_administer(cli, sqlite_engine: Engine) -> None:
    code, out, _ = cli("user", "add", "ada", "--role", "admin", "--password", "Tr0mb0ne-Avalanche")
    assert (code, out) == (0, "user ada added with role admin\n")
    code, _, err = cli("user", "add", "vic", "--role", "viewer", "--password", PW)
    assert code == 1
    assert err == ("error: 'root' is not a user of S&OP Studio: only an admin may add users "
                   "(acting user: root; act as a user with that role with --as NAME)\n")
    assert cli("user", "add", "vic", "--role", "viewer", "--password", PW, "--as", "ada")[0] == 0
    code, _, err = cli("user", "role", "vic", "admin", "--as", "vic")
    assert code == 1 and "'vic' has the role viewer: only an admin may change roles" in err
    assert _audit(sqlite_engine) == [("root", "user_added", "ada"), ("ada", "user_added", "vic")]


def test_each_action_with_its_effect(cli, sqlite_engine: Engine) -> None:
    cli("user", "add", "ada", "--role", "admin", "--password", "Tr0mb0ne-Avalanche")
    code, out, _ = cli("user", "add", "nopw", "--role", "viewer", "--as", "ada")  # no terminal: no password
    assert code == 0 and "no password yet: it cannot sign in until `user passwd` sets one" in out
    with pytest.raises(sign_in.SignInRefused, match="wrong password"):
        sign_in.sign_in(sqlite_engine, "nopw", "", client="x")
    code, out, _ = cli("user", "passwd", "nopw", "--password", PW, "--as", "ada")
    assert (code, out) == (0, "password of nopw set\n")
    assert sign_in.sign_in(sqlite_engine, "nopw", PW, client="x").role == "viewer"
    assert cli("user", "role", "nopw", "finance", "--as", "ada")[1] == "user nopw has the role finance\n"
    assert cli("user", "disable", "nopw", "--as", "ada")[1] == "user nopw disabled: it cannot sign in\n"
    code, out, _ = cli("user", "list", "--as", "ada")
    rows = [line.split() for line in out.strip().splitlines()]
    assert rows[0] == ["user", "name", "role", "status"]
    assert rows[1:] == [["ada", "ada", "admin", "active"], ["nopw", "nopw", "finance", "disabled"]]
    assert cli("user", "enable", "nopw", "--as", "ada")[1] == "user nopw enabled\n"
    assert cli("user", "delete", "nopw", "--as", "ada")[1] == "user nopw deleted\n"
    assert [a.username for a in users.list_users(sqlite_engine, "ada")] == ["ada"]
    assert [action for actor, action, _ in _audit(sqlite_engine) if actor == "ada"] == [
        "user_added", "user_password", "user_role", "user_disabled", "user_enabled", "user_deleted"]


def test_unknown_role_is_a_usage_error(cli) -> None:
    with pytest.raises(SystemExit) as exc:
        cli("user", "add", "ada", "--role", "boss")
    assert exc.value.code == 2
