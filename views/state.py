"""Session state and the shared engine: the one place pages read global selections from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import streamlit as st
from sqlalchemy import Engine

from sop_core import config
from sop_core.services import bootstrap, executive, plan, whatif
from sop_core.services import cycle as cycle_service
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
#: The scenario selector's value for "no scenario" (a selectbox treats None as "nothing chosen").
BASELINE = 0


@dataclass(frozen=True)
class UserInfo:
    username: str
    display_name: str
    roles: tuple[str, ...]


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
    return executive.review(_engine, cycle_id, load_inputs=lambda: scenario_inputs(cycle_id))


def executive_review(cycle_id: int) -> ExecutiveReview:
    """The cycle's executive review, shared read only by every session while what it reads stays as it is
    (:func:`sop_core.services.executive.review_stamp`: a sign-off, a decision or a promotion shows at once).

    Raises:
        PlanError: the cycle does not exist or has no forecast to plan on.
    """
    engine = get_engine()
    return _executive_review(engine, _url(engine), cycle_id, executive.review_stamp(engine, cycle_id))


def init() -> None:
    """Initialise every session key once (picklable values only)."""
    st.session_state.setdefault(KEY_CYCLE, None)
    st.session_state.setdefault(KEY_SCENARIO, BASELINE)
    st.session_state.setdefault(KEY_MEETING, False)
    st.session_state.setdefault(KEY_USER, "demo")
    st.session_state.setdefault(KEY_SIGNED_IN, False)


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


def current_user() -> UserInfo:
    username = st.session_state.get(KEY_USER) or "demo"
    roles = cycle_service.user_roles(get_engine(), username)
    return UserInfo(username=username, display_name=username, roles=roles)


def meeting_mode() -> bool:
    return bool(st.session_state.get(KEY_MEETING, False))


def today() -> dt.date:
    return dt.date.today()
