"""Who may do what: the one permission table (role × action) and the check every service write makes.

:data:`GRANTS` lists, per action, the roles (:data:`sop_core.units.ROLES`) allowed to do it; :func:`require`
loads the acting user and raises :class:`~sop_core.errors.NotAllowed` for a user that does not exist, is
disabled, or whose role the action does not list. Pages ask :func:`access` what the signed-in user may do and
show no edit control the user may not use; the services check again, whatever a page shows.

Two actions have a second rule besides the table:

* ``sign_off``: a user signs for their own role (an admin for any role), and the roles sign in the order of
  :data:`sop_core.units.SIGNOFF_ROLES` (:mod:`sop_core.services.signoff`);
* ``cycle_move``: a cycle moves from one state to another only by the owner of either state
  (:data:`STEP_OWNERS`) or an admin (:func:`require_move`).

The demo user ``demo`` is an admin.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from sop_core.db import user_repo
from sop_core.db.engine import session_scope
from sop_core.errors import NotAllowed
from sop_core.units import ROLES, SIGNOFF_ROLES

_PLANNERS = ("demand_planner", "supply_planner")

#: The actions a role may be granted, and what each means (in the refusal's words).
ACTIONS: dict[str, str] = {
    "read": "read the plans",
    "forecast": "run the forecast",
    "override": "change forecast overrides",
    "import": "import data",
    "scenario_save": "save scenarios",
    "scenario_promote": "promote a scenario to the proposed plan",
    "cycle_move": "move the plan cycle",
    "sign_off": "sign off the plan",
    "decisions": "log or change decisions",
    "targets": "change KPI targets",
    "users": "administer users",
    "monitor": "run the KPI monitor",
    "reset": "reset the database to the demo company",
    "audit": "read the audit trail",
}

#: The permission table: action → the roles allowed (the admin role holds every action).
GRANTS: dict[str, tuple[str, ...]] = {
    "read": ROLES,
    "forecast": ("demand_planner", "admin"),
    "override": ("demand_planner", "admin"),
    "import": (*_PLANNERS, "admin"),
    "scenario_save": (*_PLANNERS, "finance", "admin"),
    "scenario_promote": ("supply_planner", "finance", "admin"),
    "cycle_move": (*SIGNOFF_ROLES, "admin"),
    "sign_off": (*SIGNOFF_ROLES, "admin"),
    "decisions": (*SIGNOFF_ROLES, "admin"),
    "targets": (*_PLANNERS, "executive", "admin"),
    "users": ("admin",),
    "monitor": (*_PLANNERS, "admin"),
    "reset": ("admin",),
    "audit": ("executive", "admin"),
}

#: The role that owns each cycle state: it finishes the step (moves the cycle on) and may be handed it.
STEP_OWNERS: dict[str, str] = {
    "draft": "demand_planner",
    "demand_review": "demand_planner",
    "supply_review": "supply_planner",
    "reconciliation": "finance",
    "executive_review": "executive",
    "signed": "executive",
    "closed": "executive",
}

_ARTICLES = {"admin": "an admin", "executive": "an executive", "viewer": "a viewer", "finance": "finance"}


def role_label(role: str) -> str:
    """``a demand planner``, ``an admin``: a role in a sentence."""
    return _ARTICLES.get(role, "a " + role.replace("_", " "))


def _who(roles: tuple[str, ...]) -> str:
    names = [role_label(r) for r in roles]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


@dataclass(frozen=True)
class Access:
    """What one user may do: their role and the actions :data:`GRANTS` gives it (none when the user does not
    exist or is disabled)."""

    username: str
    role: str | None
    actions: frozenset[str]

    def can(self, action: str) -> bool:
        """True when the user may do ``action`` (an action of :data:`ACTIONS`)."""
        return action in self.actions

    def may_sign_as(self, role: str) -> bool:
        """True when the user may sign off as ``role`` (their own role; an admin any)."""
        return self.can("sign_off") and self.role in (role, "admin")

    def may_move(self, from_state: str, to_state: str) -> bool:
        """True when the user may move a cycle from ``from_state`` to ``to_state`` (:func:`require_move`)."""
        return self.can("cycle_move") and self.role in ("admin", STEP_OWNERS.get(from_state),
                                                        STEP_OWNERS.get(to_state))


def actions_of(role: str) -> frozenset[str]:
    """The actions :data:`GRANTS` gives ``role``."""
    return frozenset(action for action, roles in GRANTS.items() if role in roles)


def _access(session: Session, username: str) -> Access:
    user = user_repo.user_by_name(session, username)
    if user is None or user.disabled:
        return Access(username, user.role if user is not None else None, frozenset())
    return Access(username, user.role, actions_of(user.role))


def access(engine: Engine, username: str) -> Access:
    """What ``username`` may do now (for pages: which edit controls to show)."""
    with session_scope(engine) as s:
        return _access(s, username)


def require(source: Session | Engine, user: str, action: str, what: str | None = None) -> str:
    """Check that ``user`` exists, is enabled and has a role :data:`GRANTS` allows ``action``; returns the role.

    ``source``: the session of the write (the check and the write see the same row) or an engine. ``what``:
    the action in the refusal's words (default: :data:`ACTIONS`).

    Raises:
        NotAllowed: an unknown or disabled user, or a role without the action; the message names who, what
            and the roles needed.
    """
    if action not in GRANTS:
        raise KeyError(f"unknown action {action!r}; actions: {', '.join(GRANTS)}")
    if isinstance(source, Engine):
        with session_scope(source) as s:
            return require(s, user, action, what)
    words = what or ACTIONS[action]
    who = _who(GRANTS[action])
    account = user_repo.user_by_name(source, user)
    if account is None:
        raise NotAllowed(f"{user!r} is not a user of S&OP Studio: only {who} may {words}")
    if account.disabled:
        raise NotAllowed(f"{user!r} is disabled: only an enabled account of {who} may {words}")
    if account.role not in GRANTS[action]:
        raise NotAllowed(f"{user!r} has the role {account.role}: only {who} may {words}")
    return account.role


def require_sign_off(source: Session | Engine, user: str, role: str) -> None:
    """Check that ``user`` may sign off as ``role``: the ``sign_off`` action and their own role (an admin any).

    Raises:
        NotAllowed: see :func:`require`, or a user of another role.
    """
    own = require(source, user, "sign_off")
    if own not in (role, "admin"):
        raise NotAllowed(f"{user!r} has the role {own}: only {role_label(role)} (or an admin) may sign off as "
                         f"{role.replace('_', ' ')}")


def require_move(source: Session | Engine, user: str, from_state: str, to_state: str) -> None:
    """Check that ``user`` may move a cycle from ``from_state`` to ``to_state``: the ``cycle_move`` action and
    the role owning either state (:data:`STEP_OWNERS`), or an admin.

    Raises:
        NotAllowed: see :func:`require`, or a role that owns neither state.
    """
    own = require(source, user, "cycle_move")
    owners = tuple(dict.fromkeys(r for r in (STEP_OWNERS.get(from_state), STEP_OWNERS.get(to_state)) if r))
    if own != "admin" and own not in owners:
        raise NotAllowed(f"{user!r} has the role {own}: only {_who((*owners, 'admin'))} may move the cycle from "
                         f"{from_state.replace('_', ' ')} to {to_state.replace('_', ' ')}")
