"""Users and sign-in for team mode. Passwords are stored as salted PBKDF2-SHA256 hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import Engine

from sop_core.db import user_repo
from sop_core.db.engine import session_scope
from sop_core.errors import SopError
from sop_core.units import ROLES

_ITERATIONS = 200_000


class UserError(SopError):
    """A user cannot be added or signed in; the message says why."""


def hash_password(password: str, *, salt: str | None = None, iterations: int = _ITERATIONS) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<hex digest>``."""
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()
    return f"pbkdf2_sha256${iterations}${salt}${digest}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or stored.count("$") != 3:
        return False
    _scheme, iterations, salt, _digest = stored.split("$")
    return hmac.compare_digest(hash_password(password, salt=salt, iterations=int(iterations)), stored)


def add_user(engine: Engine, username: str, role: str, password: str | None = None, display_name: str = "") -> None:
    """Create a user, or change the role/password of an existing one (the change is audited)."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if not username or not username.replace("_", "").replace(".", "").isalnum():
        raise UserError(f"user name {username!r}: use letters, digits, '.' and '_' only")
    password_hash = hash_password(password) if password is not None else None
    with session_scope(engine) as s:
        user_repo.save_user(s, username, role, display_name, password_hash)


def authenticate(engine: Engine, username: str, password: str) -> str | None:
    """The user's role when the password matches, else None."""
    with session_scope(engine) as s:
        user = user_repo.user_by_name(s, username)
        if user is None or not verify_password(password, user.password_hash):
            return None
        return user.role
