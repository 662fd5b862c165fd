"""Accounts on SQLite and PostgreSQL: who may administer users, the audit of each change (actor and target),
the password policy, throttling of failed sign-ins per user and per client, the same work for an unknown user,
and the rehash of a legacy PBKDF2 hash at the next sign-in."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Literal

import pytest
from alembic import command
from argon2 import PasswordHasher
from sqlalchemy import Engine, inspect, text

from sop_core.db import models as m
from sop_core.db import user_repo
from sop_core.db.engine import session_scope
from sop_core.db.migrate import alembic_config, current_revision, heads, upgrade
from sop_core.db.models_accounts import SignInFailure
from sop_core.errors import NotAllowed
from sop_core.services import passwords, sign_in, users

T0 = dt.datetime(2026, 12, 1, 9, 0, 0)
PW = "kettle lorry umbrella"
ADMIN_PW = "Tr0mb0ne-Avalanche"


def _seconds(n: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=n)


pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


@pytest.fixture
def team(engine: Engine) -> Engine:
    """An admin ``ada`` (the first admin, added by anyone) and a viewer ``vic``, both with passwords."""
    users.add_user(engine, "installer", "ada", "admin", password=ADMIN_PW)
    users.add_user(engine, "ada", "vic", "viewer", password=PW)
    return engine


def _audit(engine: Engine) -> list[tuple[str, str, str, str, dict[str, object]]]:
    with session_scope(engine) as s:
        rows = s.query(m.AuditLog).filter(m.AuditLog.entity == "app_user").order_by(m.AuditLog.id).all()
        return [(r.username, r.action, r.entity, r.entity_id, r.detail) for r in rows]


def _seen(engine: Engine, username: str) -> int:
    """The version of the user's row, as an admin reading it now sees it."""
    with session_scope(engine) as s:
        user = user_repo.user_by_name(s, username)
        return 0 if user is None else user.version


def _hash_of(engine: Engine, username: str) -> str | None:
    with session_scope(engine) as s:
        user = user_repo.user_by_name(s, username)
        return None if user is None else user.password_hash


# --------------------------------------------------------------------------- who may administer users
def test_a_viewer_cannot_make_anyone_an_admin(team: Engine) -> None:
    with pytest.raises(NotAllowed, match="'vic' has the role viewer: only an admin may change roles"):
        users.set_role(team, "vic", "vic", "admin", _seen(team, "vic"))
    with pytest.raises(NotAllowed, match="only an admin may add users"):
        users.add_user(team, "vic", "mallory", "admin", password=PW)
    with pytest.raises(NotAllowed, match="'nobody' is not a user"):
        users.add_user(team, "nobody", "mallory", "viewer")
    for act in (lambda: users.disable_user(team, "vic", "ada"), lambda: users.delete_user(team, "vic", "ada"),
                lambda: users.set_password(team, "vic", "ada", "a new long password"),
                lambda: users.list_users(team, "vic")):
        with pytest.raises(NotAllowed):
            act()
    assert [(a.username, a.role) for a in users.list_users(team, "ada")] == [("ada", "admin"), ("vic", "viewer")]


def test_the_first_admin_is_added_by_anyone_and_only_the_first(engine: Engine) -> None:
    users.add_user(engine, "root", "ada", "admin", password=ADMIN_PW)
    with pytest.raises(NotAllowed, match="only an admin may add users"):
        users.add_user(engine, "root", "eve", "admin", password=PW)
    assert _audit(engine) == [("root", "user_added", "app_user", "ada",
                               {"role": "admin", "password": "set", "first_admin": "yes"})]


def test_an_admin_without_a_password_does_not_end_the_first_admin_rule(engine: Engine) -> None:
    """The demo company's ``demo`` admin has no password: a team database seeded with it still gets its first
    admin who can sign in from anyone; a second one needs an admin."""
    with session_scope(engine) as s:
        user_repo.add_missing_users(s, [("demo", "Demo user", "admin")])
    users.add_user(engine, "root", "ada", "admin", password=ADMIN_PW)
    with pytest.raises(NotAllowed):
        users.add_user(engine, "root", "bea", "admin", password=PW)
    users.add_user(engine, "demo", "bea", "admin", password=PW)  # an admin acts: allowed


def test_every_change_is_audited_with_actor_and_target(team: Engine) -> None:
    users.set_role(team, "ada", "vic", "finance", _seen(team, "vic"))
    users.set_password(team, "ada", "vic", "another long password")
    users.disable_user(team, "ada", "vic")
    users.enable_user(team, "ada", "vic")
    users.set_password(team, "vic", "vic", "vic's own long password")  # anyone may change their own
    users.delete_user(team, "ada", "vic")
    assert _audit(team)[1:] == [
        ("ada", "user_added", "app_user", "vic", {"role": "viewer", "password": "set"}),
        ("ada", "user_role", "app_user", "vic", {"from": "viewer", "to": "finance"}),
        ("ada", "user_password", "app_user", "vic", {"password": "set"}),
        ("ada", "user_disabled", "app_user", "vic", {}),
        ("ada", "user_enabled", "app_user", "vic", {"failed_sign_ins_cleared": 0}),
        ("vic", "user_password", "app_user", "vic", {"password": "set"}),
        ("ada", "user_deleted", "app_user", "vic", {"role": "finance"}),
    ]
    changes = users.user_changes(team, "ada")
    assert list(changes.columns) == ["at", "actor", "action", "user", "detail"]
    assert changes.iloc[0][["actor", "action", "user"]].tolist() == ["ada", "user_deleted", "vic"]  # newest first
    assert all(PW not in str(d) and "argon2" not in str(d) for d in changes["detail"])


def test_the_last_admin_who_can_sign_in_stays(team: Engine) -> None:
    users.add_user(team, "ada", "bea", "admin", password=PW)
    with pytest.raises(NotAllowed, match="may not disable their own account"):
        users.disable_user(team, "ada", "ada")
    users.disable_user(team, "bea", "ada")  # another admin may
    with pytest.raises(NotAllowed, match="'ada' is disabled"):  # and a disabled admin may not act at all
        users.add_user(team, "ada", "carl", "viewer")
    with pytest.raises(NotAllowed, match="may not delete their own account"):
        users.delete_user(team, "bea", "bea")
    with pytest.raises(NotAllowed, match="may not demote their own account"):
        users.set_role(team, "bea", "bea", "viewer", _seen(team, "bea"))
    with session_scope(team) as s:  # an admin without a password (the demo company's) acts from the command line
        user_repo.add_missing_users(s, [("demo", "Demo user", "admin")])
    for act in (lambda: users.set_role(team, "demo", "bea", "viewer", _seen(team, "bea")),
                lambda: users.disable_user(team, "demo", "bea"),
                lambda: users.delete_user(team, "demo", "bea")):
        with pytest.raises(NotAllowed, match="'bea' is the last admin who can sign in: add another admin first"):
            act()
    users.enable_user(team, "demo", "ada")
    users.set_role(team, "demo", "bea", "viewer", _seen(team, "bea"))  # now there is another


def test_passwords_follow_the_policy(team: Engine) -> None:
    for weak in ("", "x", "elevenchars", "password1234", "carl.jones.1"):
        with pytest.raises(passwords.PasswordRejected):
            users.add_user(team, "ada", "carl.jones", "viewer", password=weak)
        with pytest.raises(passwords.PasswordRejected):
            users.set_password(team, "ada", "vic", weak if weak != "carl.jones.1" else "vic123456789")
    assert [a.username for a in users.list_users(team, "ada")] == ["ada", "vic"]
    account = users.add_user(team, "ada", "carl.jones", "viewer")  # no password: cannot sign in
    assert account.status == "no password"
    with pytest.raises(sign_in.SignInRefused, match="Unknown user name or wrong password"):
        sign_in.sign_in(team, "carl.jones", "", client="203.0.113.5", at=T0)


# --------------------------------------------------------------------------- sign-in and throttling
def test_sign_in_returns_the_role(team: Engine) -> None:
    assert sign_in.sign_in(team, "vic", PW, client="203.0.113.5", at=T0) == sign_in.SignedIn("vic", "viewer")
    users.disable_user(team, "ada", "vic")
    with pytest.raises(sign_in.SignInRefused, match="Unknown user name or wrong password"):
        sign_in.sign_in(team, "vic", PW, client="203.0.113.5", at=_seconds(1))
    assert not sign_in.account_usable(team, "vic") and sign_in.account_usable(team, "ada")


def test_twenty_wrong_passwords_lock_the_user(team: Engine) -> None:
    at = T0
    outcomes = []
    for _ in range(20):
        try:
            sign_in.sign_in(team, "vic", "not the password", client="203.0.113.5", at=at)
        except sign_in.SignInRefused as err:
            outcomes.append(str(err))
        at += dt.timedelta(seconds=61)  # longer than any delay: only the lock stops the attempts
    assert outcomes[:10] == [sign_in.WRONG] * 10
    assert all(o.startswith("Too many failed sign-ins: wait") for o in outcomes[10:])
    with pytest.raises(sign_in.SignInRefused, match="Too many failed sign-ins"):
        sign_in.sign_in(team, "vic", PW, client="203.0.113.5", at=at)  # the right password: still locked
    last_failure = T0 + 9 * dt.timedelta(seconds=61)
    assert sign_in.throttle_wait(team, "vic", "203.0.113.5", at) == last_failure + sign_in.LOCK - at
    assert sign_in.sign_in(team, "vic", PW, client="203.0.113.5", at=last_failure + sign_in.LOCK).role == "viewer"


def test_delays_grow_after_the_free_failures(team: Engine) -> None:
    for i in range(3):  # three free failures, one a second
        with pytest.raises(sign_in.SignInRefused, match="wrong password"):
            sign_in.sign_in(team, "vic", "nope", client="203.0.113.5", at=_seconds(i))
    waits = []
    at = _seconds(2)
    for _ in range(5):
        wait = sign_in.throttle_wait(team, "vic", "203.0.113.5", at)
        waits.append(wait.total_seconds())
        with pytest.raises(sign_in.SignInRefused, match="Too many failed sign-ins: wait"):
            sign_in.sign_in(team, "vic", PW, client="203.0.113.5", at=at)  # too early: refused, not counted
        at += wait
        with pytest.raises(sign_in.SignInRefused, match="wrong password"):
            sign_in.sign_in(team, "vic", "nope", client="203.0.113.5", at=at)
    assert waits == [2, 4, 8, 16, 32]
    # the right password after the wait succeeds and clears the user's count
    at += sign_in.throttle_wait(team, "vic", "203.0.113.5", at)
    assert sign_in.sign_in(team, "vic", PW, client="203.0.113.5", at=at).username == "vic"
    assert sign_in.throttle_wait(team, "vic", "198.51.100.1", at) == dt.timedelta(0)


def test_one_client_trying_many_user_names_is_locked(team: Engine) -> None:
    at = T0
    for i in range(sign_in.PER_CLIENT.lock_after):
        with pytest.raises(sign_in.SignInRefused, match="wrong password"):
            sign_in.sign_in(team, f"guess{i}", "nope", client="203.0.113.66", at=at)
        at += dt.timedelta(seconds=61)
    with pytest.raises(sign_in.SignInRefused, match="Too many failed sign-ins"):
        sign_in.sign_in(team, "vic", PW, client="203.0.113.66", at=at)
    assert sign_in.sign_in(team, "vic", PW, client="198.51.100.2", at=at).username == "vic"  # another client


def test_enable_lifts_a_lock(team: Engine) -> None:
    for i in range(sign_in.PER_USER.lock_after):
        with pytest.raises(sign_in.SignInRefused):
            sign_in.sign_in(team, "vic", "nope", client=f"198.51.100.{i}", at=_seconds(61 * i))
    at = _seconds(61 * 10)
    assert sign_in.throttle_wait(team, "vic", "203.0.113.5", at) == _seconds(61 * 9) + sign_in.LOCK - at
    assert users.enable_user(team, "ada", "vic") == 10
    assert sign_in.sign_in(team, "vic", PW, client="203.0.113.5", at=at).username == "vic"


def test_an_unknown_user_costs_what_a_known_one_does(team: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:  # noqa: A002 - argon2's name
            checked.append(str(hash).split("$")[3])
            return super().verify(hash, password)

    monkeypatch.setattr(passwords, "HASHER", Counting(time_cost=1, memory_cost=1024, parallelism=1))  # as vic's
    passwords._stand_in_hash.cache_clear()
    for name in ("vic", "nobody"):
        with pytest.raises(sign_in.SignInRefused) as refused:
            sign_in.sign_in(team, name, "nope", client="203.0.113.5", at=T0)
        assert str(refused.value) == sign_in.WRONG
    assert len(checked) == 2 and checked[0] == checked[1]  # one argon2 check each, same parameters
    with session_scope(team) as s:
        rows = sorted((r.kind, r.key) for r in s.query(SignInFailure))
    assert rows == [("client", "203.0.113.5"), ("client", "203.0.113.5"), ("user", "nobody"), ("user", "vic")]


def test_a_legacy_pbkdf2_hash_is_verified_once_then_replaced(team: Engine) -> None:
    legacy = "pbkdf2_sha256$1000$abcd$" + hashlib.pbkdf2_hmac("sha256", PW.encode(), b"abcd", 1000).hex()
    with session_scope(team) as s:
        user_repo.user_by_name(s, "vic").password_hash = legacy  # type: ignore[union-attr]
    with pytest.raises(sign_in.SignInRefused):
        sign_in.sign_in(team, "vic", "nope", client="203.0.113.5", at=T0)
    assert _hash_of(team, "vic") == legacy  # a failure changes nothing
    first = sign_in.sign_in(team, "vic", PW, client="203.0.113.5", at=_seconds(1))
    assert first.rehashed is True
    stored = _hash_of(team, "vic")
    assert stored is not None and stored.startswith("$argon2id$")
    second = sign_in.sign_in(team, "vic", PW, client="203.0.113.5", at=_seconds(2))
    assert second.rehashed is False and _hash_of(team, "vic") == stored


def test_old_failures_are_forgotten(team: Engine) -> None:
    for i in range(5):
        with pytest.raises(sign_in.SignInRefused):
            sign_in.sign_in(team, "vic", "nope", client="203.0.113.5", at=_seconds(61 * i))
    later = _seconds(61 * 4) + sign_in.WINDOW + dt.timedelta(seconds=1)
    assert sign_in.throttle_wait(team, "vic", "203.0.113.5", later) == dt.timedelta(0)
    with pytest.raises(sign_in.SignInRefused):
        sign_in.sign_in(team, "nobody", "nope", client="198.51.100.9", at=later)  # a new failure purges the old
    with session_scope(team) as s:
        assert sorted(r.key for r in s.query(SignInFailure)) == ["198.51.100.9", "nobody"]


def test_accounts_migration_keeps_users_enabled(engine: Engine) -> None:
    """0005 → 0006 adds ``app_user.disabled`` (false for every user) and the table ``sign_in_failure``."""
    command.downgrade(alembic_config(engine), "0005")
    assert "sign_in_failure" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO app_user (username, display_name, role, password_hash) "
                          "VALUES ('old', 'Old', 'admin', 'pbkdf2_sha256$1$salt$00')"))
    assert upgrade(engine) is True and current_revision(engine) == heads()[0]
    with session_scope(engine) as s:
        old = user_repo.user_by_name(s, "old")
        assert old is not None and old.disabled is False
    with session_scope(engine) as s:
        assert user_repo.admins_who_can_sign_in(s) == ["old"]
