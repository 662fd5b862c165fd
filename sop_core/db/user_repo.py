"""Queries of the app's users (``app_user``). Functions take a session and never commit.

Vocabulary: ``username`` is the sign-in name, ``role`` one of :data:`sop_core.units.ROLES`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from sop_core.db import audit_repo
from sop_core.db import models as m


def user_by_name(session: Session, username: str) -> m.AppUser | None:
    """The user row of ``username`` (an ORM row to change in the same session), or None."""
    return session.scalar(select(m.AppUser).where(m.AppUser.username == username))


def user_role(session: Session, username: str) -> str | None:
    """The role of an app user, or None when there is no such user."""
    return session.scalar(select(m.AppUser.role).where(m.AppUser.username == username))


def save_user(
    session: Session, username: str, role: str, display_name: str = "", password_hash: str | None = None
) -> None:
    """Create the user ``username`` or change its role (and its display name / password hash when given);
    the change is written to the audit log."""
    user = user_by_name(session, username)
    if user is None:
        user = m.AppUser(username=username, role=role, display_name=display_name or username)
        session.add(user)
    user.role = role
    if display_name:
        user.display_name = display_name
    if password_hash is not None:
        user.password_hash = password_hash
    audit_repo.audit(session, username, "user_saved", "app_user", username, {"role": role})


def add_missing_users(session: Session, users: Iterable[tuple[str, str, str]]) -> None:
    """Add each ``(username, display_name, role)`` that does not exist yet; existing users stay as they are."""
    for username, display_name, role in users:
        if user_by_name(session, username) is None:
            session.add(m.AppUser(username=username, display_name=display_name, role=role))
