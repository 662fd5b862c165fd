"""Executive review: headline figures, risks, the plan diff, scenarios, decisions and sign-off by role.

In meeting mode (sidebar toggle) the page shows the same figures in large type without any editing
control; downloads of the meeting pack and the deck stay available. A user sees only the controls their role
may use (:mod:`sop_core.services.permissions`): a viewer sees none.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from sop_core import formatting
from sop_core.errors import EditConflict, SopError
from sop_core.services import cycle as cycle_service
from sop_core.services import decisions, executive, plan, plan_changes, signoff
from views import conflicts, state, ui
from views import executive_sections as sections

st.title("Executive review")

engine = state.get_engine()
cycle = state.current_cycle()
user = state.current_user()
KEY_FLASH = "exec_flash"
#: The past decisions' figures: each row over its own scope and months with actuals.
PAST_HELP = {
    "planned_qty": "Units the plan of the decision's cycle put on the scope, over the months that now have actuals",
    "actual_qty": "Units sold on the scope over the same months",
    "volume_vs_plan": "Actual ÷ planned units − 1, over the scope and months of the row",
    "planned_revenue": "Revenue of the plan on the scope over the months that now have actuals",
    "actual_revenue": "Revenue of the actual sales on the scope over the same months",
    "actual_vs_plan": "Actual ÷ planned revenue − 1, over the scope and months of the row",
}


def _flash(kind: str, text: str) -> None:
    st.session_state[KEY_FLASH] = (kind, text)


def sign(role: str) -> None:
    """Button callback: store the sign-off before the page is drawn again."""
    try:
        froze = signoff.sign_off(engine, cycle.id, role, user.username, st.session_state.get("signoff_comment", ""))
    except SopError as err:
        _flash("error", str(err))
    else:
        text = f"Signed off as {plan.ROLE_LABELS[role]}."
        if froze:
            text += " Every role has signed: the plan version is frozen."
        _flash("success", text)
        st.session_state["signoff_comment"] = ""


def add_decision() -> None:
    """Button callback: log a decision."""
    scenario_id = st.session_state.get("decision_scenario") or None
    try:
        decisions.add_decision(
            engine,
            cycle.id,
            st.session_state.get("decision_text", ""),
            st.session_state.get("decision_owner", ""),
            st.session_state.get("decision_due"),
            user.username,
            scenario_id=scenario_id,
        )
    except SopError as err:
        _flash("error", str(err))
    else:
        _flash("success", "Decision logged.")
        st.session_state["decision_text"] = ""


KEY_OUTCOME_SEEN, OUTCOME = "outcome_seen", f"outcome_{cycle.id}"


def store_outcome(mine: tuple[int, str, str], seen: int) -> None:
    """Store a past decision's status and outcome over its version ``seen``; a note for the next run."""
    decision_id, status, outcome = mine
    try:
        decisions.update_decision(engine, decision_id, status, outcome, user.username, seen)
    except EditConflict as err:
        conflicts.remember(OUTCOME, err, mine)
    except SopError as err:
        _flash("error", str(err))
    else:
        _flash("success", "Outcome saved.")


def save_outcome() -> None:
    """Button callback: store a past decision's status and outcome over the version the page showed."""
    decision_id = int(st.session_state["outcome_decision"])
    mine = (decision_id, st.session_state.get("outcome_status", "done"), st.session_state.get("outcome_text", ""))
    store_outcome(mine, st.session_state[KEY_OUTCOME_SEEN][decision_id])


def advance() -> None:
    """Button callback: move the cycle to the chosen state."""
    target = st.session_state.get("cycle_advance_to")
    try:
        cycle_service.advance(engine, cycle.id, target, user.username)
    except SopError as err:
        _flash("error", str(err))
    else:
        _flash("success", f"Cycle {cycle.label} moved to {cycle_service.STATE_LABELS[target]}.")


def new_version() -> None:
    try:
        version = signoff.new_version(engine, cycle.id, user.username)
    except SopError as err:
        _flash("error", str(err))
    else:
        _flash("success", f"Plan version {version} started; the signed version stays frozen.")


try:
    review = state.executive_review(cycle.id)
except plan.PlanError as err:
    st.error(ui.md(err))
    st.stop()
head = review.headline

sections.plan_caption(review)
flash = st.session_state.pop(KEY_FLASH, None)
if flash:
    getattr(st, flash[0])(ui.md(flash[1]))

sections.headline_cards(review)

# ---------------------------------------------------------------- risks and opportunities
st.subheader("Top risks and opportunities")
sections.risks(review)

# ---------------------------------------------------------------- capacity
st.subheader("Capacity")
sections.capacity(review)

# ---------------------------------------------------------------- plan diff
st.subheader("What changed between two plans")
KEY_DIFF_SOURCE, KEY_DIFF_BEFORE, KEY_DIFF_AFTER = "diff_source", "diff_before", "diff_after"
diff_labels = dict(zip(review.diff_choices["key"], review.diff_choices["label"], strict=True))
# the sidebar's cycle sets the default pair: its last signed plan before it → its current plan
default_pair = review.default_pair
if (
    st.session_state.get(KEY_DIFF_SOURCE) != cycle.id
    or st.session_state.get(KEY_DIFF_AFTER) not in diff_labels
    or st.session_state.get(KEY_DIFF_BEFORE, "") not in (*diff_labels, None)
):
    st.session_state[KEY_DIFF_BEFORE], st.session_state[KEY_DIFF_AFTER] = default_pair
    st.session_state[KEY_DIFF_SOURCE] = cycle.id
# choosing what to compare changes nothing stored: the pickers stay in meeting mode, like the other views
c_before, c_after = st.columns(2)
before_key = c_before.selectbox("Compare", list(diff_labels), format_func=diff_labels.get, key=KEY_DIFF_BEFORE,
                                placeholder="Choose a plan", help="The plan before (default: the last signed plan)")
after_key = c_after.selectbox("with", list(diff_labels), format_func=diff_labels.get, key=KEY_DIFF_AFTER,
                              help="The plan after (default: the cycle's current plan version)")
diff = None
is_default = (before_key, after_key) == default_pair and review.diff is not None
if before_key is None:
    st.info("No earlier signed plan to compare with: choose the plan to compare above.")
elif is_default:
    diff = review.diff  # the revenue vs last plan of the headline
else:
    try:
        diff = plan_changes.compare_keys(engine, after_key, before_key)
    except plan.PlanError as err:
        st.info(ui.md(err))
if diff is not None:
    sections.waterfall(diff, is_default)

# ---------------------------------------------------------------- plan by family and month
st.subheader("By family and month")
sections.family_table(review)

# ---------------------------------------------------------------- scenarios
st.subheader("Scenarios proposed")
sections.scenarios(review)
scen = review.proposed_scenarios

# ---------------------------------------------------------------- decisions
st.subheader("Decisions")
log_frame = review.decisions
if log_frame.empty:
    st.caption("No decision logged in this cycle yet.")
else:
    ui.dataframe(log_frame[["decision", "owner", "due_date", "scenario", "status", "outcome"]], hide_index=True,
                 width="stretch", key="decision_log")
if state.editing("decisions") and head["state"] not in ("signed", "closed"):
    with st.expander("Log a decision", expanded=False):
        names = {0: "(none)", **{int(r.id): r.name for r in scen.itertuples(index=False)}} if not scen.empty else {
            0: "(none)"}
        st.text_input("Decision", key="decision_text")
        c1, c2, c3 = st.columns(3)
        c1.text_input("Owner", key="decision_owner")
        c2.date_input("Due date", value=dt.date.today() + dt.timedelta(days=30), key="decision_due")
        c3.selectbox("Linked scenario", list(names), format_func=names.get, key="decision_scenario")
        st.button("Log decision", key="decision_add", on_click=add_decision)
past = review.past
if not past.empty:
    st.markdown("**Past decisions and their outcome**")
    st.caption(
        "Outcome over the months that now have actuals, for what the linked scenario changed (its scope): "
        "planned demand and revenue against actual sales."
    )
    shown = past.assign(actual_vs_plan=past["actual_vs_plan"].map(formatting.percent),
                        volume_vs_plan=past["volume_vs_plan"].map(formatting.percent))
    ui.dataframe(
        shown[["cycle", "decision", "owner", "due_date", "status", "outcome", "scenario", "changes", "scope",
               "months", "planned_qty", "actual_qty", "volume_vs_plan", "planned_revenue", "actual_revenue",
               "actual_vs_plan", "result"]],
        hide_index=True, width="stretch", key="past_decisions",
        column_config={c: st.column_config.NumberColumn(help=PAST_HELP[c])  # units and money in their kind's format
                       for c in ("planned_qty", "actual_qty", "planned_revenue", "actual_revenue")}
        | {c: st.column_config.TextColumn(help=PAST_HELP[c]) for c in ("volume_vs_plan", "actual_vs_plan")},
    )

    # an outcome is recorded once, while the decision is open; afterwards it stays as recorded
    open_past = past[(past["status"] == "open") & (past["outcome"].fillna("") == "")]
    if state.editing("decisions") and not open_past.empty:
        with st.expander("Record a decision's outcome"):
            choices = {int(r.id): f"[{r.cycle}] {r.decision}" for r in open_past.itertuples(index=False)}
            st.selectbox("Decision", list(choices), format_func=choices.get, key="outcome_decision")
            c1, c2 = st.columns([1, 3])
            c1.selectbox("Status", ["open", "done", "dropped"], key="outcome_status")
            c2.text_input("Outcome", key="outcome_text")
            st.session_state[KEY_OUTCOME_SEEN] = {int(r.id): int(r.version) for r in past.itertuples(index=False)}
            st.button("Save outcome", key="outcome_save", on_click=save_outcome)
            conflicts.offer(OUTCOME, store_outcome, lambda: None)

# ---------------------------------------------------------------- sign-off
st.subheader("Sign-off")
status = review.signoff
if status["signed"].all():
    st.success(f"Plan version {head['plan_version']} of cycle {cycle.label} is signed off by every role and frozen.")
may_sign = [r for r in status["role"] if user.access.may_sign_as(r)] if state.editing("sign_off") else []
next_role = signoff.next_to_sign(status)
if may_sign and next_role is not None:
    st.text_input("Comment (optional)", key="signoff_comment")
for row in status.itertuples(index=False):
    c_role, c_who, c_button = st.columns([2, 3, 2])
    c_role.markdown(f"**{row.label}**")
    c_who.markdown(
        f":material/check_circle: {row.username} · {row.signed_at:%Y-%m-%d %H:%M}" if row.signed else "Not signed yet"
    )
    if row.role in may_sign and not row.signed:  # sign-offs follow the cycle: only the next role's is enabled
        c_button.button(
            f"Sign off as {row.label}",
            key=f"signoff_{row.role}",
            on_click=sign,
            args=(row.role,),
            disabled=row.role != next_role,
            help=None if row.role == next_role else f"{plan.ROLE_LABELS[str(next_role)]} signs off first",
        )

with st.expander(f"Cycle state: {review.state_label}"):
    ui.dataframe(review.state_history, hide_index=True, width="stretch",
                 column_config={"username": "By", "from_state": "From", "to_state": "To"})
    moves = [s for s in cycle_service.STATE_LABELS if s != head["state"] and user.access.may_move(head["state"], s)]
    if state.editing("cycle_move") and moves:
        c1, c2 = st.columns([3, 2])
        c1.selectbox("Move the cycle to", moves, format_func=cycle_service.STATE_LABELS.get, key="cycle_advance_to")
        c2.button("Move cycle", key="cycle_advance", on_click=advance)
    if (head["frozen"] and head["state"] != "closed" and state.editing("cycle_move")
            and user.access.may_move(head["state"], "reconciliation")):
        st.button("Start a new plan version", key="new_version", on_click=new_version,
                  help="The signed version stays frozen; changes go into the new version")

# ---------------------------------------------------------------- downloads
st.subheader("Meeting pack")
if st.button("Prepare the meeting pack, deck and summary", key="prepare_exports"):
    with st.spinner("Building the Excel pack, the deck and the summary…"):
        st.session_state["exec_exports"] = (cycle.id, *executive.meeting_files(review))
ready = st.session_state.get("exec_exports")
if ready and ready[0] == cycle.id:
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "Download meeting pack (.xlsx)", ready[1], file_name=f"sop-{cycle.label}-pack.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="download_pack",
    )
    c2.download_button(
        "Download deck (.pptx)", ready[2], file_name=f"sop-{cycle.label}-deck.pptx",
        mime="application/vnd.openxmlformats-officedocument.presentationml.presentation", key="download_deck",
    )
    c3.download_button(
        "Download summary for print (.pdf)", ready[3], file_name=f"sop-{cycle.label}-summary.pdf",
        mime="application/pdf", key="download_summary",
        help="A4 landscape: the headline figures, the sign-off and the decisions",
    )
st.caption("Printing this page (the browser's Print) lays it out on A4 landscape without the sidebar and the "
           "controls.")
