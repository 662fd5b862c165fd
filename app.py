"""S&OP Studio — the frame: page config, navigation that follows the cycle, and the sidebar selectors."""

from __future__ import annotations

import logging
import secrets

import streamlit as st

from sop_core import config
from sop_core.errors import SopError
from sop_core.services import bootstrap, figures
from sop_core.services import cycle as cycle_service
from sop_core.services import sign_in as sign_in_service
from views import state, ui

st.set_page_config(page_title="S&OP Studio", page_icon=":material/insights:", layout="wide")
state.init()
state.check_session()

# Each page file is named after its URL path: a first request (or an AppTest switch before its first run) names
# the page by its file, and the files live in views/, not pages/ (see README, Layout).
PAGES = {
    "Prepare": [
        st.Page("views/data.py", title="Data", icon=":material/database:", url_path="data"),
    ],
    "Review": [
        st.Page(
            "views/demand.py", title="Demand review", icon=":material/trending_up:", url_path="demand",
            default=True,
        ),
        st.Page("views/supply.py", title="Supply review", icon=":material/factory:", url_path="supply"),
    ],
    "Decide": [
        st.Page("views/reconciliation.py", title="Reconciliation", icon=":material/tune:", url_path="reconciliation"),
        st.Page(
            "views/executive.py", title="Executive review", icon=":material/verified:", url_path="executive"
        ),
    ],
    "Monitor": [
        st.Page("views/kpis.py", title="KPIs", icon=":material/monitoring:", url_path="kpis"),
    ],
}

#: Only admins see it (and the page refuses anyone else).
ADMIN_PAGE = st.Page("views/admin.py", title="Users and roles", icon=":material/group:", url_path="admin")
#: Only executives and admins see it (and the page refuses anyone else).
AUDIT_PAGE = st.Page("views/audit.py", title="Audit trail", icon=":material/history:", url_path="audit")

engine = state.get_engine()
log = logging.getLogger("sop_studio")
for _name in ("sop_studio", "sop_core"):  # failures and refused sign-ins reach the server's log, with the time
    _logger = logging.getLogger(_name)
    if not _logger.handlers:
        _handler = logging.StreamHandler()
        _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        _logger.addHandler(_handler)


def sign_in() -> None:
    """Team mode: sign in against app_user before any page is shown."""
    st.title("S&OP Studio — sign in")
    note = st.session_state.get(state.KEY_SIGN_IN_NOTE)
    if note:
        st.info(note, icon=":material/schedule:")
    with st.form("sign_in"):
        username = st.text_input("User name", key="sign_in_user")
        password = st.text_input("Password", type="password", key="sign_in_password")
        if st.form_submit_button("Sign in", type="primary"):
            try:
                who = sign_in_service.sign_in(engine, username, password, client=state.client_address())
            except sign_in_service.SignInRefused as err:
                st.error(ui.md(err))
            except Exception as exc:  # noqa: BLE001 - e.g. the database restarting: one friendly message
                show_failure(exc)
            else:
                state.start_session(who.username)
                st.rerun()
    st.caption("Team mode: an admin adds accounts on the page Users and roles, or with "
               "`python -m sop_core user add NAME --role ROLE`.")


def show_failure(exc: Exception) -> None:
    """A page failed: one friendly message with a reference; the log holds the traceback under that reference.
    With ``client.showErrorDetails`` at "full" (a developer's setting; the project's config says "none") the
    exception is raised again, and Streamlit shows it."""
    if isinstance(exc, SopError):  # a refusal meant for the user: its one sentence
        st.error(ui.md(exc))
        return
    if bootstrap.database_unreachable(exc):  # a server restarting: the next action reconnects
        log.warning("database unreachable: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        st.warning(bootstrap.UNREACHABLE, icon=":material/cloud_off:")
        return
    reference = secrets.token_hex(4).upper()
    log.error("page failed, reference %s", reference, exc_info=exc)
    if st.get_option("client.showErrorDetails") in ("full", True, "true", "True"):
        raise exc
    st.error(f"Something went wrong on this page. If it happens again, tell an admin the reference "
             f"**{reference}**: the server's log has the details under it.", icon=":material/error:")


try:  # the session's check and the user's roles read the database
    signed_in = state.signed_in()
    if signed_in:
        state.current_user()
except Exception as exc:
    if not bootstrap.database_unreachable(exc):
        raise
    show_failure(exc)  # the database does not answer: one friendly sentence, the next run tries again
    st.stop()

if not signed_in:
    st.navigation([st.Page(sign_in, title="Sign in", icon=":material/login:", url_path="sign-in")]).run()
    st.stop()

pages = dict(PAGES)
admin_pages = [page for page, action in ((ADMIN_PAGE, "users"), (AUDIT_PAGE, "audit"))
               if state.current_user().can(action)]
if admin_pages:
    pages["Admin"] = admin_pages
navigation = st.navigation(pages)


def sidebar() -> None:
    with st.sidebar:
        st.markdown("### S&OP Studio")
        cycles = state.cycles()
        labels = [c.label for c in cycles]
        if labels:
            if st.session_state.get(state.KEY_CYCLE) not in labels:
                st.session_state[state.KEY_CYCLE] = labels[0]
            st.selectbox("Cycle (month)", labels, key=state.KEY_CYCLE)
            chosen = state.current_cycle()
            st.caption(f"State: **{chosen.status.replace('_', ' ')}** · plan version {chosen.plan_version}")
            scenarios = cycle_service.scenario_names(engine, chosen.id)
            scenario_labels = {state.BASELINE: "Baseline", **scenarios}
            options = list(scenario_labels)
            if st.session_state.get(state.KEY_SCENARIO) not in options:
                st.session_state[state.KEY_SCENARIO] = state.BASELINE
            st.selectbox(
                "Scenario",
                options,
                key=state.KEY_SCENARIO,
                format_func=scenario_labels.get,
            )
        st.toggle("Meeting mode", key=state.KEY_MEETING, help="Large type, no editing controls: for the screen share.")
        if not config.auth_enabled():
            st.info("Demo mode: signed in as **demo** with every role.", icon=":material/person:")
        else:
            user = state.current_user()
            st.caption(f"Signed in as **{ui.md(user.username)}** ({user.role.replace('_', ' ')})")
            if st.button("Sign out", key="sign_out"):
                state.end_session()
                st.rerun()


ui.page_style(state.meeting_mode())

try:
    sidebar()
    with figures.held_stamps():  # one version of the data per page run: each table stamped once
        navigation.run()
except Exception as exc:  # noqa: BLE001 - the frame's contract: a friendly message, the details in the log
    show_failure(exc)
