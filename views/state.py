"""Session state and the shared engine: the one place pages read global selections from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st
from sqlalchemy import Engine

from sop_core import config
from sop_core.services import bootstrap, executive, permissions, plan, plan_changes, whatif
from sop_core.services import cycle as cycle_service
from sop_core.services import sign_in as sign_in_service
from sop_core.services.cycle import CycleInfo
from sop_core.services.executive import ExecutiveReview
from sop_core.services.whatif import ScenarioInputs

__all__ = [
    "CycleInfo",
    "UserInfo",
    "current_cycle",
    "current_scenario_id",
    "current_user",
    "executive_review",
    "get_engine",
    "init",
    "meeting_mode",
    "scenario_inputs",
]

KEY_CYCLE = "cycle_month"
KEY_SCENARIO = "scenario_id"
KEY_MEETING = "meeting_mode"
KEY_USER = "username"
KEY_SIGNED_IN = "signed_in"
KEY_SIGNED_IN_AT = "signed_in_at"  # UTC, naive (the sign-in service's clock)
KEY_LAST_SEEN = "last_seen"  # the session's last action, UTC
KEY_SIGN_IN_NOTE = "sign_in_note"  # why the last session ended, shown on the sign-in page
#: The scenario selector's value for "no scenario" (a selectbox treats None as "nothing chosen").
BASELINE = 0


@dataclass(frozen=True)
class UserInfo:
    """The signed-in user: their role and what it allows (:mod:`sop_core.services.permissions`); pages show
    an edit control only when :meth:`can` allows its action."""

    username: str
    display_name: str
    access: permissions.Access

    @property
    def role(self) -> str:
        return self.access.role or "none"

    def can(self, action: str) -> bool:
        return self.access.can(action)


@st.cache_resource(show_spinner="Opening the database (first start seeds the demo company)…")
def _engine(url: str) -> Engine:
    return bootstrap.app_engine(url)


def get_engine() -> Engine:
    """The app's engine: schema at head; the demo company seeded on first start."""
    return _engine(config.database_url())


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


@st.cache_resource(ttl=600, max_entries=2, show_spinner="Loading demand, stock, open orders, capacity and suppliers…")
def _scenario_inputs(_engine: Engine, url: str, cycle_id: int, stamp: str) -> ScenarioInputs:  # noqa: ARG001
    return whatif.load_inputs(_engine, cycle_id)


def scenario_inputs(cycle_id: int) -> ScenarioInputs:
    """The cycle's plan inputs, shared read only by every session and page (with the plans evaluated on them) while
    the data they are read from stay as they are (:func:`sop_core.services.plan.inputs_stamp`).

    Raises:
        PlanError: the cycle has no forecast, or a forecast SKU has no product row.
    """
    engine = get_engine()
    return _scenario_inputs(engine, _url(engine), cycle_id, plan.inputs_stamp(engine, cycle_id))


@st.cache_resource(ttl=600, max_entries=2, show_spinner="Reading the executive review…")
def _executive_review(_engine: Engine, url: str, cycle_id: int, stamp: str) -> ExecutiveReview:  # noqa: ARG001
    return executive.review(_engine, cycle_id, load_inputs=lambda: scenario_inputs(cycle_id), stamp=stamp)


def executive_review(cycle_id: int) -> ExecutiveReview:
    """The cycle's executive review, shared read only by every session while what it reads stays as it is
    (:func:`sop_core.services.plan_changes.review_stamp`: a sign-off, a decision or a promotion shows at once).

    Raises:
        PlanError: the cycle does not exist or has no forecast to plan on.
    """
    engine = get_engine()
    return _executive_review(engine, _url(engine), cycle_id, plan_changes.review_stamp(engine, cycle_id))


def init() -> None:
    """Initialise every session key once (picklable values only)."""
    st.session_state.setdefault(KEY_CYCLE, None)
    st.session_state.setdefault(KEY_SCENARIO, BASELINE)
    st.session_state.setdefault(KEY_MEETING, False)
    st.session_state.setdefault(KEY_USER, "demo")
    st.session_state.setdefault(KEY_SIGNED_IN, False)
    st.session_state.setdefault(KEY_SIGNED_IN_AT, None)
    st.session_state.setdefault(KEY_LAST_SEEN, None)
    st.session_state.setdefault(KEY_SIGN_IN_NOTE, "")


def cycles() -> list[CycleInfo]:
    return cycle_service.list_cycles(get_engine())


def current_cycle() -> CycleInfo:
    """The cycle chosen in the sidebar (default: the newest)."""
    all_cycles = cycles()
    if not all_cycles:
        raise RuntimeError("No plan cycle exists yet: import data or run `python -m sop_core demo`.")
    chosen = st.session_state.get(KEY_CYCLE)
    for c in all_cycles:
        if c.label == chosen:
            return c
    return all_cycles[0]


def current_scenario_id() -> int | None:
    """The scenario chosen in the sidebar; None means the baseline."""
    value = st.session_state.get(KEY_SCENARIO)
    return int(value) if value not in (None, "", 0) else None


def signed_in() -> bool:
    """Demo mode is always signed in; team mode once the sign-in form succeeded."""
    return not config.auth_enabled() or bool(st.session_state.get(KEY_SIGNED_IN))


def client_address() -> str:
    """The client's address for throttling sign-ins (see :func:`sop_core.services.sign_in.client_address`);
    anything but text (a test run has no connection) counts as unknown."""
    ip = st.context.ip_address
    headers = st.context.headers
    pairs = headers.items() if isinstance(headers, Mapping) else ()
    return sign_in_service.client_address(ip if isinstance(ip, str) else None,
                                          {k: v for k, v in pairs if isinstance(k, str) and isinstance(v, str)})


def start_session(username: str) -> None:
    """``username`` has signed in: the session starts now."""
    at = sign_in_service.now()
    st.session_state[KEY_USER] = username
    st.session_state[KEY_SIGNED_IN] = True
    st.session_state[KEY_SIGNED_IN_AT] = at
    st.session_state[KEY_LAST_SEEN] = at
    st.session_state[KEY_SIGN_IN_NOTE] = ""


def end_session(note: str = "") -> None:
    """Sign out; ``note`` (why) is shown on the sign-in page."""
    st.session_state[KEY_SIGNED_IN] = False
    st.session_state[KEY_SIGNED_IN_AT] = None
    st.session_state[KEY_LAST_SEEN] = None
    st.session_state[KEY_SIGN_IN_NOTE] = note


def check_session() -> None:
    """Team mode: end a signed-in session that was idle or open too long, or whose account can no longer sign
    in; else count this run as the session's last action."""
    if not config.auth_enabled() or not st.session_state.get(KEY_SIGNED_IN):
        return
    at = sign_in_service.now()
    signed_in_at = st.session_state.get(KEY_SIGNED_IN_AT) or at
    last_seen = st.session_state.get(KEY_LAST_SEEN) or at
    if not sign_in_service.account_usable(get_engine(), st.session_state.get(KEY_USER) or ""):
        end_session("Your account can no longer sign in: ask an admin.")
        return
    ended = sign_in_service.session_end(signed_in_at, last_seen, at, sign_in_service.session_limits())
    if ended:
        end_session(ended)
    else:
        st.session_state[KEY_LAST_SEEN] = at


def current_user() -> UserInfo:
    """The signed-in user (demo mode: ``demo``, an admin) and what their role allows now."""
    username = st.session_state.get(KEY_USER) or "demo"
    return UserInfo(username=username, display_name=username, access=permissions.access(get_engine(), username))


def editing(action: str) -> bool:
    """True when the page shows the edit controls of ``action``: the user's role allows it and the meeting mode
    (no editing controls) is off."""
    return current_user().can(action) and not meeting_mode()


def meeting_mode() -> bool:
    return bool(st.session_state.get(KEY_MEETING, False))


def today() -> dt.date:
    return dt.date.today()
