"""Team-mode users: password hashing, adding users, sign-in; and the sign-in screen."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from sop_core.services import users


def test_password_hash_roundtrip_and_salt() -> None:
    first = users.hash_password("s3cret")
    second = users.hash_password("s3cret")
    assert first != second  # a fresh salt each time
    assert users.verify_password("s3cret", first)
    assert not users.verify_password("S3cret", first)
    assert not users.verify_password("s3cret", None)


def test_known_pbkdf2_vector() -> None:
    # RFC 6070-style check through hashlib: PBKDF2-HMAC-SHA256("password", "salt", 1 iteration)
    stored = users.hash_password("password", salt="salt", iterations=1)
    assert stored.endswith("120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b")


def test_add_user_and_authenticate(sqlite_engine) -> None:
    users.add_user(sqlite_engine, "ann", "finance", password="pw-1")
    assert users.authenticate(sqlite_engine, "ann", "pw-1") == "finance"
    assert users.authenticate(sqlite_engine, "ann", "nope") is None
    assert users.authenticate(sqlite_engine, "bob", "pw-1") is None
    users.add_user(sqlite_engine, "ann", "executive")  # role change keeps the password
    assert users.authenticate(sqlite_engine, "ann", "pw-1") == "executive"
    with pytest.raises(users.UserError, match="unknown role 'boss'"):
        users.add_user(sqlite_engine, "carl", "boss")


def test_team_mode_requires_sign_in(app_env: str, demo_engine, monkeypatch: pytest.MonkeyPatch) -> None:
    users.add_user(demo_engine, "fiona.f", "finance", password="budget")
    monkeypatch.setenv("SOP_AUTH", "on")
    at = AppTest.from_file(app_env, default_timeout=120)
    at.run()
    assert [t.value for t in at.title] == ["S&OP Studio — sign in"]
    at.text_input(key="sign_in_user").input("fiona.f")
    at.text_input(key="sign_in_password").input("wrong")
    at.button[0].click().run()
    assert "wrong password" in at.error[0].value
    at.text_input(key="sign_in_user").input("fiona.f")
    at.text_input(key="sign_in_password").input("budget")
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "Demand review"
    assert any("fiona.f" in c.value for c in at.sidebar.caption)
