"""User administration for team mode: add, list, change role or password, disable, enable, delete.

Every function takes the acting user (``actor``) and raises :class:`~sop_core.errors.NotAllowed` unless the
actor is an enabled admin. Two exceptions: anyone may change their own password, and while no admin can sign in
(no enabled admin with a password), the first admin may be added by anyone — how a new team database gets its
first admin (``python -m sop_core user add NAME --role admin``). The last admin who can sign in cannot be
demoted, disabled or deleted, and no admin can demote, disable or delete themselves.

Every change is written to the audit log with the actor as its user and the changed account as its entity
(``app_user``, the user name); passwords and hashes are never written there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from sop_core.db import audit_repo, locking, throttle_repo, user_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.errors import Change, EditConflict, NotAllowed, SopError
from sop_core.services import passwords, permissions
from sop_core.text_checks import checked
from sop_core.units import ROLES

#: The audit log's entity of user administration.
ENTITY = "app_user"


class UserError(SopError):
    """A user cannot be added or changed as asked (bad name or role, no such user, the user exists)."""


@dataclass(frozen=True)
class Account:
    """A user as an admin sees it (never the password hash)."""

    username: str
    display_name: str
    role: str
    disabled: bool
    has_password: bool
    created_at: dt.datetime | None
    version: int = 1  # of the stored row: what an admin saw, for :func:`set_role`

    @property
    def status(self) -> str:
        """``disabled``, ``no password`` (cannot sign in yet) or ``active``."""
        if self.disabled:
            return "disabled"
        return "active" if self.has_password else "no password"


def _account(user: m.AppUser) -> Account:
    return Account(user.username, user.display_name, user.role, bool(user.disabled), user.password_hash is not None,
                   user.created_at, user.version)


def _check_name(username: str) -> None:
    if not username or len(username) > 64 or not username.replace("_", "").replace(".", "").isalnum():
        raise UserError(f"user name {username!r}: use letters, digits, '.' and '_' only (at most 64)")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")


def _require_admin(session: Session, actor: str, action: str) -> None:
    """Raise :class:`NotAllowed` unless ``actor`` is an enabled admin (the ``users`` action of
    :data:`sop_core.services.permissions.GRANTS`)."""
    permissions.require(session, actor, "users", action)


def _target(session: Session, username: str) -> m.AppUser:
    user = user_repo.user_by_name(session, username)
    if user is None:
        raise UserError(f"no user named {username!r}")
    return user


def _keep_an_admin(session: Session, actor: str, target: m.AppUser, change: str) -> None:
    """Refuse to ``change`` (demote, disable, delete) the actor's own account or the last admin who can sign in."""
    if target.username == actor:
        raise NotAllowed(f"an admin may not {change} their own account: another admin must")
    can_sign_in = user_repo.admins_who_can_sign_in(session)
    if can_sign_in == [target.username]:
        raise NotAllowed(f"{target.username!r} is the last admin who can sign in: add another admin first")


def _audit(session: Session, actor: str, action: str, target: str, detail: dict[str, object], *,
           before: dict[str, object] | None = None, after: dict[str, object] | None = None) -> None:
    """The audit row of a change of ``target`` by ``actor`` (never a password or its hash)."""
    audit_repo.audit(session, actor, action, ENTITY, target, detail, before=before, after=after)


# --------------------------------------------------------------------------- reading
def list_users(engine: Engine, actor: str) -> list[Account]:
    """Every user, by name (admins only)."""
    with session_scope(engine) as s:
        _require_admin(s, actor, "list the users")
        return [_account(u) for u in user_repo.all_users(s)]


def version_of(engine: Engine, username: str) -> int:
    """The version of the user's row now (0: no such user): what a command line change of it has seen."""
    with session_scope(engine) as s:
        user = user_repo.user_by_name(s, username)
        return user.version if user is not None else 0


def user_changes(engine: Engine, actor: str, limit: int = 200) -> pd.DataFrame:
    """The newest changes of users (admins only): ``at, actor, action, user, detail``."""
    with session_scope(engine) as s:
        _require_admin(s, actor, "read the changes of users")
        rows = audit_repo.entries(s, ENTITY, limit)
        records = [{"at": r.at, "actor": r.username, "action": r.action, "user": r.entity_id,
                    "detail": ", ".join(f"{k} {v}" for k, v in (r.detail or {}).items())} for r in rows]
    return pd.DataFrame(records, columns=["at", "actor", "action", "user", "detail"])


# --------------------------------------------------------------------------- changing
def add_user(engine: Engine, actor: str, username: str, role: str, password: str | None = None,
             display_name: str = "") -> Account:
    """Add the user ``username`` with ``role`` (and ``password``, which must meet the policy; without one the
    account cannot sign in until an admin sets a password). While no admin can sign in, anyone may add an admin."""
    _check_name(username)
    _check_role(role)
    checked("display name", display_name, single_line=True)
    if password is not None:
        passwords.check_policy(password, username)
    with session_scope(engine) as s:
        bootstrap = role == "admin" and not user_repo.admins_who_can_sign_in(s)
        if not bootstrap:
            _require_admin(s, actor, "add users")
        if user_repo.user_by_name(s, username) is not None:
            raise UserError(f"user {username!r} exists: change its role or password instead")
        hashed = passwords.hash_password(password) if password is not None else None
        user = user_repo.add_user(s, username, role, display_name, hashed)
        detail: dict[str, object] = {"role": role, "password": "set" if hashed else "none"}
        if bootstrap:
            detail["first_admin"] = "yes"
        _audit(s, actor, "user_added", username, detail,
               after={"role": role, "display_name": user.display_name, "disabled": False,
                      "password": "set" if hashed else "none"})
        return _account(user)


def set_role(engine: Engine, actor: str, username: str, role: str, seen: int) -> None:
    """Give ``username`` the role ``role`` (admins only), unless the user was changed since an admin read it at
    version ``seen`` (:attr:`Account.version`).

    Raises:
        EditConflict: another admin changed the user since: their role against the one asked for, and the version
            to pass to save over it.
    """
    _check_role(role)
    with session_scope(engine) as s:
        _require_admin(s, actor, "change roles")
        user = _target(s, username)
        if user.version == seen and user.role == role:
            return
        if user.role == "admin":
            _keep_an_admin(s, actor, user, "demote")
        before = user.role
        if user.version == seen and locking.bump(s, m.AppUser, user.id, seen, role=role):
            _audit(s, actor, "user_role", username, {"from": before, "to": role}, before={"role": before},
                   after={"role": role})
            return
    with session_scope(engine) as s:
        now = _target(s, username)
        last = audit_repo.last_entry(s, "user_role", ENTITY, username)
    who, when = (last.username, last.at) if last is not None else ("someone", None)
    raise EditConflict(f"{who} changed the user {username} since you read it (now {now.role}); nothing was saved: "
                       "keep theirs or save yours over it", [Change(f"role of {username}", who, when, now.role, role)],
                       now.version)


def set_password(engine: Engine, actor: str, username: str, password: str) -> None:
    """Set the password of ``username`` (an admin for anyone; any user for themselves); it must meet the policy."""
    with session_scope(engine) as s:
        if actor != username:
            _require_admin(s, actor, "set another user's password")
        user = _target(s, username)
        passwords.check_policy(password, username)
        had = "set" if user.password_hash is not None else "none"
        user.password_hash = passwords.hash_password(password)
        _audit(s, actor, "user_password", username, {"password": "set"}, before={"password": had},
               after={"password": "set"})


def disable_user(engine: Engine, actor: str, username: str) -> None:
    """Disable ``username``: it cannot sign in, and a signed-in session of it ends at its next action."""
    with session_scope(engine) as s:
        _require_admin(s, actor, "disable users")
        user = _target(s, username)
        if user.disabled:
            return
        _keep_an_admin(s, actor, user, "disable")
        user.disabled = True
        _audit(s, actor, "user_disabled", username, {}, before={"disabled": False}, after={"disabled": True})


def enable_user(engine: Engine, actor: str, username: str) -> int:
    """Enable ``username`` again and lift a sign-in lock of its name; returns how many failed sign-ins were
    forgotten."""
    with session_scope(engine) as s:
        _require_admin(s, actor, "enable users")
        user = _target(s, username)
        was_disabled, user.disabled = user.disabled, False
        cleared = throttle_repo.clear_failures(s, "user", username.strip().lower())
        if was_disabled or cleared:
            _audit(s, actor, "user_enabled", username, {"failed_sign_ins_cleared": cleared},
                   before={"disabled": was_disabled}, after={"disabled": False})
    return cleared


def delete_user(engine: Engine, actor: str, username: str) -> None:
    """Delete ``username`` (what it did stays in the audit log and the sign-offs, by name)."""
    with session_scope(engine) as s:
        _require_admin(s, actor, "delete users")
        user = _target(s, username)
        if user.role == "admin":
            _keep_an_admin(s, actor, user, "delete")
        elif user.username == actor:
            raise NotAllowed("an admin may not delete their own account: another admin must")
        role, display_name, disabled = user.role, user.display_name, bool(user.disabled)
        user_repo.delete_user(s, user)
        _audit(s, actor, "user_deleted", username, {"role": role},
               before={"role": role, "display_name": display_name, "disabled": disabled})
