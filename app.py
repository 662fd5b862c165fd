"""S&OP Studio — the frame: page config, navigation that follows the cycle, and the sidebar selectors."""

from __future__ import annotations

import streamlit as st

from sop_core import config
from sop_core.services import cycle as cycle_service
from sop_core.services import figures, users
from views import state

st.set_page_config(page_title="S&OP Studio", page_icon=":material/insights:", layout="wide")
state.init()

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

engine = state.get_engine()



def sign_in() -> None:
    """Team mode: sign in against app_user before any page is shown."""
    st.title("S&OP Studio — sign in")
    with st.form("sign_in"):
        username = st.text_input("User name", key="sign_in_user")
        password = st.text_input("Password", type="password", key="sign_in_password")
        if st.form_submit_button("Sign in", type="primary"):
            if users.authenticate(engine, username, password):
                st.session_state[state.KEY_USER] = username
                st.session_state[state.KEY_SIGNED_IN] = True
                st.rerun()
            st.error("Unknown user name or wrong password.")
    st.caption("Team mode: an admin adds accounts with `python -m sop_core user add NAME --role ROLE`.")


if not state.signed_in():
    st.navigation([st.Page(sign_in, title="Sign in", icon=":material/login:", url_path="sign-in")]).run()
    st.stop()

navigation = st.navigation(PAGES)

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
        st.caption(f"Signed in as **{user.username}** ({', '.join(user.roles)})")
        if st.button("Sign out", key="sign_out"):
            st.session_state[state.KEY_SIGNED_IN] = False
            st.rerun()

if state.meeting_mode():
    st.markdown(
        "<style>html, body, [data-testid='stAppViewContainer'] {font-size: 1.2rem;}"
        " [data-testid='stMetricValue'] {font-size: 2.6rem;}</style>",
        unsafe_allow_html=True,
    )

with figures.held_stamps():  # one version of the data per page run: each table stamped once
    navigation.run()
