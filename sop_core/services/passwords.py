"""Passwords: hashing with argon2id (argon2-cffi), the password policy, and the legacy PBKDF2 hashes.

* Hashes are argon2id strings (``$argon2id$v=19$m=…,t=…,p=…$salt$hash``) made by argon2-cffi's
  :class:`~argon2.PasswordHasher` with its default parameters (RFC 9106, low-memory profile).
* Hashes written before argon2 (``pbkdf2_sha256$<iterations>$<salt>$<hex digest>``) are still verified, once:
  :func:`verify` says that such a hash needs a rehash, and the sign-in stores an argon2 hash in its place.
* Every check costs the same whether the account exists or not: with no stored hash, :func:`verify` checks the
  password against a fixed argon2 hash of the same parameters (:func:`verify` then returns False).
* The policy (:func:`policy_problem`): at least :data:`MIN_LENGTH` characters, not the user name, and not one of
  the common passwords shipped in ``common_passwords.txt`` (nor one of them with digits and symbols around it).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sop_core.errors import SopError

#: The fewest characters of a password.
MIN_LENGTH = 12
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
LEGACY_PREFIX = "pbkdf2_sha256$"

HASHER = PasswordHasher()


class PasswordRejected(SopError):
    """A new password breaks the password policy; the message says which rule."""


@dataclass(frozen=True)
class Verified:
    """The result of a password check: ``ok`` when it matches; ``needs_rehash`` when the stored hash should be
    replaced by a fresh argon2 hash (a legacy PBKDF2 hash, or argon2 parameters below the current ones)."""

    ok: bool
    needs_rehash: bool = False


def hash_password(password: str) -> str:
    """A fresh argon2id hash of ``password`` (a new random salt each time)."""
    return HASHER.hash(password)


@functools.cache
def _stand_in_hash() -> str:
    """An argon2 hash, with the current parameters, that no typed password matches in practice: checked when
    there is no stored hash, so that an unknown user costs what a known one does."""
    return HASHER.hash("no account has this password: " + hashlib.sha256(b"sop-studio").hexdigest())


def _verify_legacy(password: str, stored: str) -> bool:
    """Check a ``pbkdf2_sha256$<iterations>$<salt>$<hex digest>`` hash."""
    parts = stored.split("$")
    if len(parts) != 4 or not parts[1].isdigit():
        return False
    _scheme, iterations, salt, digest = parts
    computed = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(iterations)).hex()
    return hmac.compare_digest(computed, digest)


def verify(password: str, stored: str | None) -> Verified:
    """Check ``password`` against the stored hash (argon2 or legacy PBKDF2). With no usable hash (None: an
    unknown or disabled account, or one without a password) the same argon2 work is done and the check fails."""
    if stored and stored.startswith(LEGACY_PREFIX):
        ok = _verify_legacy(password, stored)
        return Verified(ok=ok, needs_rehash=ok)
    target = stored if stored and stored.startswith("$argon2") else None
    try:
        HASHER.verify(target or _stand_in_hash(), password)
    except (VerificationError, InvalidHashError):
        return Verified(ok=False)
    if target is None:
        return Verified(ok=False)
    return Verified(ok=True, needs_rehash=HASHER.check_needs_rehash(target))


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords and the words they are built on (lower case)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _core(text: str) -> str:
    """``text`` without the digits, symbols and spaces at its start and end: "2026Password!!" → "password"."""
    start, end = 0, len(text)
    while start < end and not text[start].isalpha():
        start += 1
    while end > start and not text[end - 1].isalpha():
        end -= 1
    return text[start:end]


def policy_problem(password: str, username: str) -> str | None:
    """Why ``password`` may not be the password of ``username``, or None when it may.

    >>> policy_problem("short", "ann")
    'a password needs at least 12 characters (this one has 5)'
    >>> policy_problem("ann.gray.2026", "ann.gray")
    'a password may not be the user name'
    >>> policy_problem("Password2026!", "ann")
    'this password is on the list of common passwords: choose another one'
    >>> policy_problem("kettle lorry umbrella", "ann") is None
    True
    """
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters (this one has {len(password)})"
    lower, name = password.lower(), username.lower()
    if name and (lower == name or _core(lower) == name or _core(lower) == _core(name)):
        return "a password may not be the user name"
    common = common_passwords()
    if lower in common or _core(lower) in common or lower.replace(" ", "") in common:
        return "this password is on the list of common passwords: choose another one"
    return None


def check_policy(password: str, username: str) -> None:
    """Raise :class:`PasswordRejected` when ``password`` breaks the policy (see :func:`policy_problem`)."""
    problem = policy_problem(password, username)
    if problem:
        raise PasswordRejected(problem)
