"""Queries of the app's users (``app_user``). Functions take a session and never commit.

Vocabulary: ``username`` is the sign-in name, ``role`` one of :data:`sop_core.units.ROLES`; an admin "can sign
in" when the account is enabled and has a password.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from sop_core.db import models as m


def user_by_name(session: Session, username: str) -> m.AppUser | None:
    """The user row of ``username`` (an ORM row to change in the same session), or None."""
    return session.scalar(select(m.AppUser).where(m.AppUser.username == username))


def user_role(session: Session, username: str) -> str | None:
    """The role of an app user, or None when there is no such user."""
    return session.scalar(select(m.AppUser.role).where(m.AppUser.username == username))


def all_users(session: Session) -> list[m.AppUser]:
    """Every user, by name."""
    return list(session.scalars(select(m.AppUser).order_by(m.AppUser.username)))


def add_user(
    session: Session, username: str, role: str, display_name: str = "", password_hash: str | None = None
) -> m.AppUser:
    """Add the user ``username`` (the caller has checked that the name is free)."""
    user = m.AppUser(username=username, role=role, display_name=display_name or username,
                     password_hash=password_hash, disabled=False)
    session.add(user)
    session.flush()
    return user


def delete_user(session: Session, user: m.AppUser) -> None:
    """Remove the user row (what the user did stays in the audit log and the sign-offs, by name)."""
    session.delete(user)
    session.flush()


def admins_who_can_sign_in(session: Session) -> list[str]:
    """The names of the enabled admins that have a password."""
    return list(session.scalars(
        select(m.AppUser.username)
        .where(m.AppUser.role == "admin", m.AppUser.disabled.is_(False), m.AppUser.password_hash.is_not(None))
        .order_by(m.AppUser.username)
    ))


def add_missing_users(session: Session, users: Iterable[tuple[str, str, str]]) -> None:
    """Add each ``(username, display_name, role)`` that does not exist yet; existing users stay as they are."""
    for username, display_name, role in users:
        if user_by_name(session, username) is None:
            session.add(m.AppUser(username=username, display_name=display_name, role=role))
