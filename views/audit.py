"""Audit trail (executives and admins): every write with who, when, what and the values before and after,
filtered by who, what and when, and downloaded as CSV."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from sop_core import formatting
from sop_core.services import audit_trail
from views import state, ui

st.title("Audit trail")
engine = state.get_engine()
actor = state.current_user()
if not actor.can("audit"):
    st.error("Only an executive or an admin may read the audit trail.")
    st.stop()

offered = audit_trail.choices(engine, actor.username)
c_who, c_what, c_when = st.columns([2, 2, 2])
who = c_who.multiselect("Who", offered.users, key="audit_users", placeholder="everyone")
what = c_what.multiselect("What", offered.actions, key="audit_actions", placeholder="every action")
today = state.today()
when = c_when.date_input("When", value=(today - dt.timedelta(days=30), today), key="audit_days",
                         format="YYYY-MM-DD")
first_day, last_day = (when[0], when[-1]) if isinstance(when, tuple) and when else (None, None)
frame = audit_trail.trail(engine, actor.username, users=who, actions=what, first_day=first_day, last_day=last_day)
st.caption(f"{formatting.plural(len(frame), 'change')}, newest first (at most {audit_trail.MAX_ROWS:,}); *before* and "
           "*after* hold the values each change replaced and wrote.")
ui.dataframe(
    frame, hide_index=True, width="stretch", key="audit_table",
    column_config={"at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm:ss"), "user": "Who",
                   "action": "What", "entity": "Object", "entity_id": "ID",
                   "before": st.column_config.TextColumn("Before", width="large"),
                   "after": st.column_config.TextColumn("After", width="large")},
)
st.download_button("Download as CSV", audit_trail.trail_csv(frame), file_name=f"audit-{today:%Y-%m-%d}.csv",
                   mime="text/csv", key="audit_csv")
