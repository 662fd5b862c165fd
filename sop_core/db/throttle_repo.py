"""Queries of the failed sign-ins (``sign_in_failure``). Functions take a session and never commit.

Vocabulary: ``kind`` is ``user`` or ``client``; ``key`` the user name typed (lower case) or the client's
address; ``at`` a naive UTC time.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sop_core.db.models_accounts import SignInFailure


def add_failure(session: Session, kind: str, key: str, at: dt.datetime) -> None:
    session.add(SignInFailure(kind=kind, key=key[:200], at=at))


def failures_since(session: Session, kind: str, key: str, since: dt.datetime) -> list[dt.datetime]:
    """The times of the failures of ``(kind, key)`` after ``since``, oldest first."""
    return list(session.scalars(
        select(SignInFailure.at)
        .where(SignInFailure.kind == kind, SignInFailure.key == key[:200], SignInFailure.at > since)
        .order_by(SignInFailure.at)
    ))


def clear_failures(session: Session, kind: str, key: str) -> int:
    """Forget the failures of ``(kind, key)``; returns how many there were."""
    result = session.execute(delete(SignInFailure).where(SignInFailure.kind == kind, SignInFailure.key == key[:200]))
    return int(getattr(result, "rowcount", 0) or 0)


def delete_failures_before(session: Session, before: dt.datetime) -> None:
    """Forget the failures older than ``before`` (they no longer count)."""
    session.execute(delete(SignInFailure).where(SignInFailure.at <= before))
