"""Passwords: argon2id hashes, the legacy PBKDF2 hashes (verified, then due for a rehash), the policy, and the
same work for an account without a hash as for one with a hash."""

from __future__ import annotations

import hashlib
import re
from typing import Literal

import pytest
from argon2 import PasswordHasher

from sop_core.services import passwords


def _legacy(password: str, salt: str = "salt", iterations: int = 1) -> str:
    """A hash as the project stored them before argon2."""
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()
    return f"pbkdf2_sha256${iterations}${salt}${digest}"


def test_argon2id_hash_with_a_fresh_salt() -> None:
    first, second = passwords.hash_password("kettle lorry umbrella"), passwords.hash_password("kettle lorry umbrella")
    assert first.startswith("$argon2id$v=19$") and first != second
    assert passwords.verify("kettle lorry umbrella", first) == passwords.Verified(ok=True, needs_rehash=False)
    assert passwords.verify("Kettle lorry umbrella", first).ok is False
    assert passwords.verify("kettle lorry umbrella", None).ok is False


def test_legacy_pbkdf2_hash_verifies_and_asks_for_a_rehash() -> None:
    stored = _legacy("password")
    # RFC 6070-style vector: PBKDF2-HMAC-SHA256("password", "salt", 1 iteration)
    assert stored.endswith("120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b")
    assert passwords.verify("password", stored) == passwords.Verified(ok=True, needs_rehash=True)
    assert passwords.verify("Password", stored) == passwords.Verified(ok=False, needs_rehash=False)
    assert passwords.verify("password", "pbkdf2_sha256$x$salt$00").ok is False  # malformed: refused, no error


def test_argon2_hash_with_weaker_parameters_asks_for_a_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("kettle lorry umbrella")
    assert passwords.verify("kettle lorry umbrella", weak) == passwords.Verified(ok=True, needs_rehash=True)


def test_no_stored_hash_costs_one_argon2_check_like_a_stored_one(monkeypatch: pytest.MonkeyPatch) -> None:
    stored = passwords.hash_password("kettle lorry umbrella")
    checked: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:  # noqa: A002 - argon2's name
            checked.append(str(hash).split("$")[3])  # the parameters m=…,t=…,p=…
            return super().verify(hash, password)

    monkeypatch.setattr(passwords, "HASHER", Counting())
    passwords.verify("a wrong password", stored)
    passwords.verify("a wrong password", None)
    assert len(checked) == 2 and checked[0] == checked[1]  # one check each, the same parameters


@pytest.mark.parametrize(("password", "username", "problem"), [
    ("", "ann", "at least 12 characters (this one has 0)"),
    ("x", "ann", "at least 12 characters (this one has 1)"),
    ("elevenchars", "ann", "at least 12 characters (this one has 11)"),
    ("ann.gray.smith", "ann.gray.smith", "may not be the user name"),
    ("ANN.GRAY.SMITH", "ann.gray.smith", "may not be the user name"),
    ("2026ann.gray.smith!", "ann.gray.smith", "may not be the user name"),
    ("password1234", "ann", "common passwords"),
    ("Password2026!", "ann", "common passwords"),
    ("qwertyuiop12", "ann", "common passwords"),
    ("123456789012", "ann", "common passwords"),
    ("correct horse battery staple", "ann", "common passwords"),
])
def test_policy_refuses(password: str, username: str, problem: str) -> None:
    with pytest.raises(passwords.PasswordRejected, match=re.escape(problem)):
        passwords.check_policy(password, username)


@pytest.mark.parametrize("password", ["kettle lorry umbrella", "Tr0mb0ne-Avalanche", "twelve chars"])
def test_policy_accepts(password: str) -> None:
    assert passwords.policy_problem(password, "ann") is None


def test_common_password_list_is_shipped_and_lower_case() -> None:
    common = passwords.common_passwords()
    assert len(common) > 300
    assert all(word == word.lower() and word.strip() == word for word in common)
    assert {"password", "qwerty", "iloveyou", "letmein"} <= common
