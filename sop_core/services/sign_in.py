"""Sign-in for team mode: password check, throttling of repeated failures, and the expiry of a session.

Throttling counts the failed sign-ins of the last :data:`WINDOW` twice: against the user name typed (whether
such a user exists or not) and against the client's address. Each count has its :class:`Throttle`: after
``free`` failures every further attempt waits (2 s, then twice as long after each failure, at most
:data:`MAX_DELAY`); after ``lock_after`` failures the key is locked for :data:`LOCK`. A refused attempt checks no
password and counts no failure. A successful sign-in clears the user name's count (not the client's). The
failures live in the database (``sign_in_failure``), so every app process sees the same counts.

An unknown user costs what a known one does: the same password check (:func:`passwords.verify` checks a stand-in
hash), the same failure rows, the same message.

A session ends after :func:`~sop_core.config.session_idle_minutes` without any action, and
:func:`~sop_core.config.session_max_hours` after its sign-in whatever happens, and as soon as its user is
disabled, deleted or loses the password.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine

from sop_core import config
from sop_core.db import throttle_repo, user_repo
from sop_core.db.engine import session_scope
from sop_core.errors import SopError
from sop_core.services import passwords
from sop_core.text_checks import LIMITS, problem, storable

log = logging.getLogger(__name__)

#: Failures older than this no longer count.
WINDOW = dt.timedelta(hours=1)
#: The first wait after the free failures; each further failure doubles it, up to MAX_DELAY.
FIRST_DELAY = dt.timedelta(seconds=2)
MAX_DELAY = dt.timedelta(seconds=60)
#: How long a key stays locked after its last failure once it reached ``lock_after`` failures.
LOCK = dt.timedelta(minutes=15)
#: The message of a wrong password, an unknown user and a disabled account alike.
WRONG = "Unknown user name or wrong password."
UNKNOWN_CLIENT = "unknown"


@dataclass(frozen=True)
class Throttle:
    """``free`` failures without a wait; locked for :data:`LOCK` from ``lock_after`` failures on."""

    kind: str
    free: int
    lock_after: int


#: Per user name: 3 free failures, then 2 s, 4 s, … 60 s; the 10th failure locks the name for 15 minutes.
PER_USER = Throttle("user", free=3, lock_after=10)
#: Per client address (a whole office may share one): 10 free failures, locked at the 30th.
PER_CLIENT = Throttle("client", free=10, lock_after=30)


class SignInRefused(SopError):
    """A sign-in was refused: wrong credentials, or too many failures (the message says how long to wait)."""


@dataclass(frozen=True)
class SignedIn:
    username: str
    role: str
    #: The stored hash was replaced by a fresh argon2 hash (a legacy PBKDF2 hash, or older parameters).
    rehashed: bool = False


def now() -> dt.datetime:
    """The clock of sign-in and sessions: the current UTC time, naive, to the second."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def wait_needed(failures: list[dt.datetime], rule: Throttle, at: dt.datetime) -> dt.timedelta:
    """How long an attempt at ``at`` must still wait after ``failures`` (the counted failures' times, oldest
    first); zero when it may go ahead.

    >>> t0 = dt.datetime(2026, 12, 1, 9, 0, 0)
    >>> fails = [t0 + dt.timedelta(seconds=s) for s in range(4)]      # 4 failures, the last at 09:00:03
    >>> wait_needed(fails[:3], PER_USER, t0 + dt.timedelta(seconds=3))   # 3rd failure: wait 2 s after it
    datetime.timedelta(seconds=1)
    >>> wait_needed(fails, PER_USER, t0 + dt.timedelta(seconds=3))       # 4th: 4 s
    datetime.timedelta(seconds=4)
    >>> wait_needed(fails[:2], PER_USER, t0 + dt.timedelta(seconds=2))   # 2 failures are free
    datetime.timedelta(0)
    """
    n = len(failures)
    if n < rule.free:
        return dt.timedelta(0)
    if n >= rule.lock_after:
        hold = LOCK
    else:
        hold = min(FIRST_DELAY * 2 ** (n - rule.free), MAX_DELAY)
    return max(failures[-1] + hold - at, dt.timedelta(0))


#: The longest throttle key stored (the column `sign_in_failure.key` holds 200 characters).
KEY_LENGTH = 200


def _keys(username: str, client: str) -> tuple[tuple[Throttle, str], ...]:
    key = storable(username.strip().lower())[:KEY_LENGTH]  # whatever was typed: a NUL cannot be stored
    return (PER_USER, key), (PER_CLIENT, storable(client or UNKNOWN_CLIENT)[:KEY_LENGTH])


def _spoken(wait: dt.timedelta) -> str:
    seconds = max(int(wait.total_seconds() + 0.999), 1)
    return f"{seconds} s" if seconds < 120 else f"{(seconds + 59) // 60} min"


def throttle_wait(engine: Engine, username: str, client: str, at: dt.datetime | None = None) -> dt.timedelta:
    """How long a sign-in of ``username`` from ``client`` must wait (the longer of both keys' waits)."""
    at = at or now()
    with session_scope(engine) as s:
        waits = [wait_needed(throttle_repo.failures_since(s, rule.kind, key, at - WINDOW), rule, at)
                 for rule, key in _keys(username, client)]
    return max(waits)


def sign_in(engine: Engine, username: str, password: str, client: str, at: dt.datetime | None = None) -> SignedIn:
    """Check a sign-in of ``username`` with ``password`` from ``client`` (its address). Returns who signed in;
    raises :class:`SignInRefused` when throttled (no password is checked then) or when the user is unknown,
    disabled, without a password, or the password is wrong (one message for all of these)."""
    at = at or now()
    username = username.strip()
    wait = throttle_wait(engine, username, client, at)
    if wait > dt.timedelta(0):
        raise SignInRefused(f"Too many failed sign-ins: wait {_spoken(wait)}, then try again.")
    result: SignedIn | None = None
    with session_scope(engine) as s:
        possible = bool(username) and problem(username, LIMITS["user name"], single_line=True) is None
        user = user_repo.user_by_name(s, username) if possible else None  # no such name can be stored
        stored = user.password_hash if user is not None and not user.disabled else None
        checked = passwords.verify(password, stored)
        if user is not None and checked.ok:
            if checked.needs_rehash:
                user.password_hash = passwords.hash_password(password)
            throttle_repo.clear_failures(s, PER_USER.kind, _keys(username, client)[0][1])
            result = SignedIn(user.username, user.role, rehashed=checked.needs_rehash)
        else:
            throttle_repo.delete_failures_before(s, at - WINDOW)
            for rule, key in _keys(username, client):
                throttle_repo.add_failure(s, rule.kind, key, at)
    if result is None:
        log.warning("failed sign-in for user name %r from %s", username[:64], client)
        raise SignInRefused(WRONG)
    if result.rehashed:
        log.info("password hash of %s upgraded to argon2id", result.username)
    return result


# --------------------------------------------------------------------------- sessions
@dataclass(frozen=True)
class SessionLimits:
    idle: dt.timedelta
    absolute: dt.timedelta


def session_limits() -> SessionLimits:
    """The configured limits (``SOP_SESSION_IDLE_MINUTES``, default 30; ``SOP_SESSION_MAX_HOURS``, default 12)."""
    return SessionLimits(idle=dt.timedelta(minutes=config.session_idle_minutes()),
                         absolute=dt.timedelta(hours=config.session_max_hours()))


def session_end(signed_in_at: dt.datetime, last_seen: dt.datetime, at: dt.datetime,
                limits: SessionLimits) -> str | None:
    """Why a session signed in at ``signed_in_at`` and last active at ``last_seen`` has ended at ``at``, or None.

    >>> limits = SessionLimits(idle=dt.timedelta(minutes=30), absolute=dt.timedelta(hours=12))
    >>> t0 = dt.datetime(2026, 12, 1, 8, 0)
    >>> session_end(t0, t0 + dt.timedelta(minutes=10), t0 + dt.timedelta(minutes=39), limits) is None
    True
    >>> session_end(t0, t0 + dt.timedelta(minutes=10), t0 + dt.timedelta(minutes=41), limits)
    'Your session ended after 30 min without activity: sign in again.'
    >>> session_end(t0, t0 + dt.timedelta(hours=11, minutes=59), t0 + dt.timedelta(hours=12, minutes=1), limits)
    'Your session ended 12 h after its sign-in: sign in again.'
    """
    if at - signed_in_at > limits.absolute:
        return f"Your session ended {_hours(limits.absolute)} after its sign-in: sign in again."
    if at - last_seen > limits.idle:
        return f"Your session ended after {_minutes(limits.idle)} without activity: sign in again."
    return None


def _minutes(span: dt.timedelta) -> str:
    return f"{span.total_seconds() / 60:g} min"


def _hours(span: dt.timedelta) -> str:
    return f"{span.total_seconds() / 3600:g} h"


def account_usable(engine: Engine, username: str) -> bool:
    """True while ``username`` exists, is enabled and has a password (a signed-in session needs all three)."""
    with session_scope(engine) as s:
        user = user_repo.user_by_name(s, username)
        return user is not None and not user.disabled and user.password_hash is not None


def client_address(ip_address: str | None, headers: Mapping[str, str]) -> str:
    """The client's address for throttling: the connection's address; for a connection from this machine (a
    reverse proxy in front of the app, see the README), the address the proxy names in ``X-Real-IP`` or last in
    ``X-Forwarded-For``; else ``"unknown"``.

    >>> client_address("203.0.113.9", {"X-Forwarded-For": "198.51.100.1"})
    '203.0.113.9'
    >>> client_address(None, {"X-Forwarded-For": "10.0.0.1, 198.51.100.7"})
    '198.51.100.7'
    >>> client_address(None, {})
    'unknown'
    """
    if ip_address:
        return ip_address
    lowered = {k.lower(): v for k, v in headers.items()}
    real = lowered.get("x-real-ip", "").strip()
    if real:
        return real[:200]
    forwarded = [part.strip() for part in lowered.get("x-forwarded-for", "").split(",") if part.strip()]
    return forwarded[-1][:200] if forwarded else UNKNOWN_CLIENT
