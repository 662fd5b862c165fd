"""Users and roles (admins only): the accounts, the roles, and every change an admin made, with who and when."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from sop_core.errors import EditConflict, SopError
from sop_core.services import passwords, users
from sop_core.units import ROLES
from views import conflicts, state, ui

#: What each role may do, beyond reading every page (the table: README, Roles).
ROLE_NOTES = {
    "viewer": "reads every page, changes nothing",
    "demand_planner": "runs forecasts, overrides, imports, saves scenarios, sets KPI targets, runs the monitor, "
                      "moves the cycle through demand review, logs decisions, signs off for demand",
    "supply_planner": "imports, saves and promotes scenarios, sets KPI targets, runs the monitor, moves the cycle "
                      "through supply review, logs decisions, signs off for supply",
    "finance": "saves and promotes scenarios, moves the cycle through reconciliation, logs decisions, signs off "
               "for finance",
    "executive": "sets KPI targets, moves the cycle through executive review, logs decisions, signs off as the "
                 "executive, reads the audit trail",
    "admin": "everything above, for every role, and this page: users, roles, passwords",
}

KEY_NOTICE = "admin_notice"  # the last change's confirmation, shown after the rerun

st.title("Users and roles")
engine = state.get_engine()
actor = state.current_user()
if not actor.can("users"):
    st.error("Only an admin may see this page.")
    st.stop()

notice = st.session_state.pop(KEY_NOTICE, None)
if notice:
    st.success(ui.md(notice), icon=":material/check:")


KEY_ROLE_SEEN, ROLE_CONFLICT = "admin_role_seen", "admin_role"


def _apply(what: str, change: Callable[[], object], mine: object = None) -> None:
    """Run ``change``; on success rerun with ``what`` confirmed, on a refusal show its sentence (a conflict with
    another admin's change: theirs against ``mine``, with keep theirs / save mine)."""
    try:
        change()
    except EditConflict as err:
        conflicts.remember(ROLE_CONFLICT, err, mine)
    except SopError as err:
        st.error(ui.md(err))
    else:
        st.session_state[KEY_NOTICE] = what
        st.rerun()


accounts = users.list_users(engine, actor.username)
ui.dataframe(
    pd.DataFrame([{"User": a.username, "Name": a.display_name, "Role": a.role, "Status": a.status}
                  for a in accounts], columns=["User", "Name", "Role", "Status"]),
    hide_index=True, width="stretch",
)

left, right = st.columns(2)
with left, st.form("admin_add", clear_on_submit=True):
    st.markdown("**Add a user**")
    new_name = st.text_input("User name", key="admin_add_name", help="letters, digits, '.' and '_'")
    new_display = st.text_input("Name shown", key="admin_add_display")
    new_role = st.selectbox("Role", ROLES, key="admin_add_role")
    new_password = st.text_input(
        "Password", type="password", key="admin_add_password",
        help=f"at least {passwords.MIN_LENGTH} characters, not the user name, not a common password",
    )
    if st.form_submit_button("Add user", type="primary"):
        _apply(f"User {new_name} added with the role {new_role}.",
               lambda: users.add_user(engine, actor.username, new_name.strip(), new_role,
                                      password=new_password or None, display_name=new_display.strip()))

with right:
    names = [a.username for a in accounts]
    chosen = st.selectbox("Change the user", names, key="admin_user")
    account = next((a for a in accounts if a.username == chosen), None)
    if account is not None:
        st.caption(f"Role **{account.role}** · {account.status}")
        shown = st.session_state.get(KEY_ROLE_SEEN)  # the user as this page showed it before this run
        seen = shown[1] if shown and shown[0] == account.username else account.version
        with st.form("admin_role"):
            role = st.selectbox("Role", ROLES, index=ROLES.index(account.role), key="admin_role_value")
            if st.form_submit_button("Save role"):
                _apply(f"{account.username} has the role {role}.",
                       lambda: users.set_role(engine, actor.username, account.username, role, seen),
                       (account.username, role))
        st.session_state[KEY_ROLE_SEEN] = (account.username, account.version)
        conflicts.offer(ROLE_CONFLICT, lambda mine, fresh: users.set_role(engine, actor.username, *mine, fresh),
                        lambda: None)
        with st.form("admin_password", clear_on_submit=True):
            password = st.text_input("New password", type="password", key="admin_password_value")
            if st.form_submit_button("Set password"):
                _apply(f"Password of {account.username} set.",
                       lambda: users.set_password(engine, actor.username, account.username, password))
        cols = st.columns(2)
        if account.disabled:
            if cols[0].button("Enable", key="admin_enable"):
                _apply(f"{account.username} enabled.",
                       lambda: users.enable_user(engine, actor.username, account.username))
        else:
            if cols[0].button("Disable", key="admin_disable"):
                _apply(f"{account.username} disabled: it cannot sign in.",
                       lambda: users.disable_user(engine, actor.username, account.username))
            if cols[0].button("Lift a sign-in lock", key="admin_unlock",
                              help="forget the failed sign-ins counted against this user name"):
                _apply(f"Failed sign-ins of {account.username} forgotten.",
                       lambda: users.enable_user(engine, actor.username, account.username))
        confirm = cols[1].checkbox("Confirm the deletion", key="admin_delete_confirm")
        if cols[1].button("Delete", key="admin_delete", disabled=not confirm):
            _apply(f"{account.username} deleted.", lambda: users.delete_user(engine, actor.username, account.username))

st.subheader("Roles")
ui.dataframe(pd.DataFrame({"Role": list(ROLE_NOTES), "May": list(ROLE_NOTES.values())}), hide_index=True,
             width="stretch")

st.subheader("Changes of users")
st.caption("Every change made here or with `python -m sop_core user …`: who made it, to which user, when (UTC).")
ui.dataframe(users.user_changes(engine, actor.username, limit=200), hide_index=True, width="stretch")
