"""Executive review: headline figures, risks, the plan diff, scenarios, decisions and sign-off by role.

In meeting mode (sidebar toggle) the page shows the same figures in large type without any editing
control; downloads of the meeting pack and the deck stay available.
"""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import streamlit as st

from sop_core.io import export
from sop_core.planning import plan_diff as diff_math
from sop_core.services import plan, workflow
from sop_core.services import supply as supply_service
from views import state, ui

st.title("Executive review")

engine = state.get_engine()
cycle = state.current_cycle()
user = state.current_user()
meeting = state.meeting_mode()
KEY_FLASH = "exec_flash"
MEASURES = {
    "revenue": "Revenue",
    "margin": "Margin",
    "demand_qty": "Demand (units)",
    "inventory_qty": "Inventory (units)",
}


def _flash(kind: str, text: str) -> None:
    st.session_state[KEY_FLASH] = (kind, text)


def sign(role: str) -> None:
    """Button callback: store the sign-off before the page is drawn again."""
    try:
        froze = workflow.sign_off(engine, cycle.id, role, user.username, st.session_state.get("signoff_comment", ""))
    except (plan.PlanError, workflow.FrozenPlanError) as err:
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
        workflow.add_decision(
            engine,
            cycle.id,
            st.session_state.get("decision_text", ""),
            st.session_state.get("decision_owner", ""),
            st.session_state.get("decision_due"),
            user.username,
            scenario_id=scenario_id,
        )
    except plan.PlanError as err:
        _flash("error", str(err))
    else:
        _flash("success", "Decision logged.")
        st.session_state["decision_text"] = ""


def save_outcome() -> None:
    """Button callback: store a past decision's status and outcome."""
    try:
        workflow.update_decision(
            engine,
            int(st.session_state["outcome_decision"]),
            st.session_state.get("outcome_status", "done"),
            st.session_state.get("outcome_text", ""),
            user.username,
        )
    except plan.PlanError as err:
        _flash("error", str(err))
    else:
        _flash("success", "Outcome saved.")


def advance() -> None:
    """Button callback: move the cycle to the chosen state."""
    target = st.session_state.get("cycle_advance_to")
    try:
        workflow.advance(engine, cycle.id, target, user.username)
    except (plan.PlanError, workflow.FrozenPlanError) as err:
        _flash("error", str(err))
    else:
        _flash("success", f"Cycle {cycle.label} moved to {workflow.STATE_LABELS[target]}.")


def new_version() -> None:
    try:
        version = workflow.new_version(engine, cycle.id, user.username)
    except plan.PlanError as err:
        _flash("error", str(err))
    else:
        _flash("success", f"Plan version {version} started; the signed version stays frozen.")


try:
    current = plan.current_plan(engine, cycle.id)  # once: the headline, the risks and the table all show it
    last_plan = workflow.last_plan_change(engine, cycle.id, current=current)  # once: the headline and the waterfall
    head = workflow.headline(engine, cycle.id, current=current, last_plan=last_plan)
except plan.PlanError as err:
    st.error(str(err))
    st.stop()

horizon = f"{ui.month_label(head['first_period'])} – {ui.month_label(head['last_period'])}"
state_label = workflow.STATE_LABELS.get(head["state"], head["state"])
if head["source"] == "proposed":
    st.caption(
        f"Proposed plan **{head['scenario_name']}** · plan version {head['plan_version']} · {horizon} · "
        f"state **{state_label}**" + (" · frozen" if head["frozen"] else "")
    )
else:
    st.warning(
        f"No proposed plan yet for cycle {cycle.label}: the figures show the baseline. "
        "Promote a scenario on the Reconciliation page."
    )
if unsourced_warning := supply_service.unsourced_warning(supply_service.unsourced_skus(engine, cycle.id)):
    st.warning(unsourced_warning)
flash = st.session_state.pop(KEY_FLASH, None)
if flash:
    getattr(st, flash[0])(flash[1])

has_budget = head["budget_revenue"] is not None
has_last = head["last_plan_label"] is not None
cols = st.columns(5)
cols[0].metric(
    "Revenue",
    ui.fmt_money(head["revenue"]),
    f"{ui.fmt_money(head['budget_gap'])} vs budget" if has_budget else None,
    help=(
        f"Plan {ui.fmt_money(head['plan_revenue_budget_months'])} vs budget {ui.fmt_money(head['budget_revenue'])} "
        f"over the {head['budget_months']} budgeted months of the horizon"
        if has_budget
        else "No budget for this horizon"
    ),
)
has_margin_budget = head["budget_margin"] is not None
cols[1].metric(
    "Margin",
    ui.fmt_money(head["margin"]),
    # the same comparison as the revenue card (budget) where there is one; the other is in the caption below
    f"{ui.fmt_money(head['margin_vs_budget'])} vs budget" if has_margin_budget
    else f"{ui.fmt_money(head['margin_vs_last_plan'])} vs last plan" if has_last else None,
    help=f"{ui.fmt_pct(head['margin_rate'])} of revenue, after holding cost, overtime and alternate-supplier premium"
    + (f"; vs last plan {head['last_plan_label']} over {head['last_plan_margin_basis']}" if has_last else "")
    + (
        f"; plan {ui.fmt_money(head['plan_margin_budget_months'])} vs margin budget "
        f"{ui.fmt_money(head['budget_margin'])} over the {head['margin_budget_months']} budgeted months"
        if has_margin_budget
        else "; no margin budget for this horizon"
    ),
)
cols[2].metric("Fill rate (plan)", ui.fmt_pct(head["fill_rate"]), help="Served ÷ demand of the plan over the horizon")
cols[3].metric("Inventory value", ui.fmt_money(head["inventory_value_end"]), help="At cost, end of the horizon")
cols[4].metric(
    "Capacity risks",
    f"{head['capacity_risks']}",
    help=f"Resource-months above regular capacity in the {supply_service.PLAN_LOAD_BASIS.lower()} (rough-cut check; "
    "the capacity table below)",
)
if has_budget:
    margin_part = (
        f"margin {ui.fmt_money(head['margin_vs_budget'])} (plan line margin "
        f"{ui.fmt_money(head['plan_margin_budget_months'])} vs {ui.fmt_money(head['budget_margin'])})"
        if has_margin_budget
        else "no margin budget"
    )
    st.caption(
        f"Vs budget over the {head['budget_months']} budgeted months: revenue {ui.fmt_money(head['budget_gap'])} "
        f"(plan {ui.fmt_money(head['plan_revenue_budget_months'])} vs {ui.fmt_money(head['budget_revenue'])}), "
        f"{margin_part}."
    )
if has_last:
    split = (
        f" — {ui.fmt_money(head['revenue_vs_last_plan_new_actuals'])} new actuals and "
        f"{ui.fmt_money(head['revenue_vs_last_plan_forecast_months'])} over the months both plans forecast"
        if head["revenue_vs_last_plan_new_actuals"]
        else ""
    )
    st.caption(
        f"Vs last plan {head['last_plan_label']}: revenue {ui.fmt_money(head['revenue_vs_last_plan'])} over "
        f"{head['last_plan_revenue_basis']}, the total of the plan diff below{split}; margin "
        f"{ui.fmt_money(head['margin_vs_last_plan'])} over {head['last_plan_margin_basis']} "
        f"({workflow.LINE_MARGIN_BASIS})."
    )

# ---------------------------------------------------------------- risks and opportunities
st.subheader("Top risks and opportunities")
ro = workflow.risks_opportunities(engine, cycle.id, current=current)
c_risk, c_opp = st.columns(2)
with c_risk:
    st.markdown("**Risks**")
    if ro["risks"].empty:
        st.caption("No risk found.")
    for r in ro["risks"].itertuples(index=False):
        st.markdown(f"- {r.text}" if r.kind == "capacity" else f"- {r.text}: {ui.fmt_money(r.value)}")
    if (ro["risks"]["kind"] == "capacity").any():
        st.caption(f"Capacity risks: {supply_service.PLAN_LOAD_BASIS.lower()}.")
with c_opp:
    st.markdown("**Opportunities**")
    if ro["opportunities"].empty:
        st.caption("No opportunity found.")
    for r in ro["opportunities"].itertuples(index=False):
        st.markdown(f"- {r.text}: +{ui.fmt_money(r.value)}")

# ---------------------------------------------------------------- capacity
st.subheader("Capacity")
bases = {
    "plan": supply_service.PLAN_LOAD_BASIS,
    "demand": supply_service.demand_load_basis(supply_service.plan_demand(engine, cycle.id)[1]),
}
basis = st.radio("Capacity load of", list(bases), format_func=bases.get, horizontal=True, key="exec_capacity_basis")
load = (workflow.capacity_table(engine, cycle.id, current=current) if basis == "plan"
        else supply_service.capacity_load(engine, cycle.id))
if load.empty:
    st.caption("No routing or resource data: nothing to load.")
else:
    st.markdown(f"**{bases[basis]}**: utilisation of regular capacity (%) per resource and month")
    util = supply_service.utilisation_table(load)
    st.dataframe(util, width="stretch", key="exec_capacity",
                 column_config={c: st.column_config.NumberColumn(c, format="%.1f %%") for c in util.columns})
    st.caption(
        f"{supply_service.PLAN_LOAD_BASIS}: the hours of what the plan makes after Reconciliation (the capacity "
        f"risks count its months above regular capacity). {bases['demand']}: the hours the demand would need "
        "before any capacity limit, as on the Supply review page."
    )

# ---------------------------------------------------------------- plan diff
st.subheader("What changed between two plans")
KEY_DIFF_SOURCE, KEY_DIFF_BEFORE, KEY_DIFF_AFTER = "diff_source", "diff_before", "diff_after"
diff_choices = workflow.diff_choices(engine)
diff_labels = dict(zip(diff_choices["key"], diff_choices["label"], strict=True))
# the sidebar's cycle sets the default pair: its last signed plan before it → its current plan
default_pair = workflow.default_diff_pair(engine, cycle.id)
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
is_default = (before_key, after_key) == default_pair and last_plan.diff is not None
if before_key is None:
    st.info("No earlier signed plan to compare with: choose the plan to compare above.")
elif is_default:
    diff = last_plan.diff  # the revenue vs last plan of the headline
else:
    try:
        diff = workflow.plan_diff(engine, workflow.plan_ref(engine, after_key), workflow.plan_ref(engine, before_key))
    except plan.PlanError as err:
        st.info(str(err))
if diff is not None:
    wf = diff.waterfall
    fig = go.Figure(
        go.Waterfall(
            x=wf["label"],
            y=wf["value"],
            measure=wf["kind"].tolist(),
            text=[ui.fmt_money(v) for v in wf["value"]],
            textposition="outside",
            connector={"line": {"color": "#9ca3af"}},
            increasing={"marker": {"color": ui.COLORS["ok"]}},
            decreasing={"marker": {"color": ui.COLORS["bad"]}},
            totals={"marker": {"color": ui.COLORS["actual"]}},
        )
    )
    ui.base_layout(fig, f"Revenue: {diff.before_label} → {diff.after_label}", height=460)
    st.plotly_chart(fig, key="diff_waterfall")
    st.caption(
        f"Total change {ui.fmt_money(diff.total_change)}: {diff.before_label} {ui.fmt_money(wf['value'].iloc[0])} → "
        f"{diff.after_label} {ui.fmt_money(wf['value'].iloc[-1])} over {diff.basis}."
        + (" It is the revenue vs last plan of the headline above." if is_default else "")
    )
    with st.expander("By family, SKU and month"):
        level = st.radio(
            "Level", ["family", "sku", "period"], horizontal=True, key="diff_level",
            format_func={"family": "Family", "sku": "SKU", "period": "Month"}.get,
        )
        table = diff.by(level).rename(columns={k: v for k, v in diff_math.CAUSES.items()})
        if level == "period":
            table["period"] = table["period"].dt.strftime("%Y-%m")
        st.dataframe(table, hide_index=True, width="stretch", key="diff_table",
                     column_config={c: st.column_config.NumberColumn(format="%,.0f")
                                    for c in table.columns if c not in ("family", "sku", "period")})

# ---------------------------------------------------------------- plan by family and month
st.subheader("By family and month")
table = plan.plan_table(engine, cycle.id, current=current)
measure = st.radio("Show", list(MEASURES), horizontal=True, key="exec_measure", format_func=MEASURES.get)
grid = table.assign(month=table["period"].dt.strftime("%Y-%m")).pivot(index="family", columns="month", values=measure)
st.dataframe(
    grid.round(0), width="stretch",
    column_config={c: st.column_config.NumberColumn(format="localized") for c in grid.columns},
)
if measure == "margin":
    st.caption(f"Margin per family and month = {workflow.LINE_MARGIN_BASIS}; over the horizon they add up to "
               "the Margin card above.")

# ---------------------------------------------------------------- scenarios
st.subheader("Scenarios proposed")
scen = workflow.proposed_scenarios(engine, cycle.id)
if scen.empty:
    st.caption("No saved scenario in this cycle.")
else:
    st.dataframe(
        scen[["name", "status", "author", "demand_change_pct", "price_change_pct", "revenue", "margin", "fill_rate"]],
        hide_index=True, width="stretch", key="exec_scenarios",
        column_config={
            "name": "Scenario", "status": "Status", "author": "Author",
            "demand_change_pct": st.column_config.NumberColumn("Demand change", format="%+.0f %%"),
            "price_change_pct": st.column_config.NumberColumn("Price change", format="%+.0f %%"),
            "revenue": st.column_config.NumberColumn("Revenue", format="compact"),
            "margin": st.column_config.NumberColumn("Margin", format="compact"),
            "fill_rate": st.column_config.NumberColumn("Fill rate (plan)", format="percent"),
        },
    )

# ---------------------------------------------------------------- decisions
st.subheader("Decisions")
log_frame = workflow.decisions(engine, cycle.id)
if log_frame.empty:
    st.caption("No decision logged in this cycle yet.")
else:
    st.dataframe(log_frame[["decision", "owner", "due_date", "scenario", "status", "outcome"]], hide_index=True,
                 width="stretch", key="decision_log")
if not meeting:
    with st.expander("Log a decision", expanded=False):
        names = {0: "(none)", **{int(r.id): r.name for r in scen.itertuples(index=False)}} if not scen.empty else {
            0: "(none)"}
        st.text_input("Decision", key="decision_text")
        c1, c2, c3 = st.columns(3)
        c1.text_input("Owner", key="decision_owner")
        c2.date_input("Due date", value=dt.date.today() + dt.timedelta(days=30), key="decision_due")
        c3.selectbox("Linked scenario", list(names), format_func=names.get, key="decision_scenario")
        st.button("Log decision", key="decision_add", on_click=add_decision)
past = workflow.past_decisions(engine, cycle.id)
if not past.empty:
    st.markdown("**Past decisions and their outcome**")
    st.caption(
        "Outcome over the months that now have actuals, for what the linked scenario changed (its scope): "
        "planned demand and revenue against actual sales."
    )
    shown = past.assign(actual_vs_plan=past["actual_vs_plan"].map(ui.fmt_pct),
                        volume_vs_plan=past["volume_vs_plan"].map(ui.fmt_pct))
    st.dataframe(
        shown[["cycle", "decision", "owner", "due_date", "status", "outcome", "scenario", "changes", "scope",
               "months", "planned_qty", "actual_qty", "volume_vs_plan", "planned_revenue", "actual_revenue",
               "actual_vs_plan", "result"]],
        hide_index=True, width="stretch", key="past_decisions",
        column_config={c: st.column_config.NumberColumn(format="%,.0f")
                       for c in ("planned_qty", "actual_qty", "planned_revenue", "actual_revenue")},
    )

    if not meeting:
        with st.expander("Record a decision's outcome"):
            choices = {int(r.id): f"[{r.cycle}] {r.decision}" for r in past.itertuples(index=False)}
            st.selectbox("Decision", list(choices), format_func=choices.get, key="outcome_decision")
            c1, c2 = st.columns([1, 3])
            c1.selectbox("Status", ["open", "done", "dropped"], key="outcome_status")
            c2.text_input("Outcome", key="outcome_text")
            st.button("Save outcome", key="outcome_save", on_click=save_outcome)

# ---------------------------------------------------------------- sign-off
st.subheader("Sign-off")
status = plan.signoff_status(engine, cycle.id)
if status["signed"].all():
    st.success(f"Plan version {head['plan_version']} of cycle {cycle.label} is signed off by every role and frozen.")
if not meeting:
    st.text_input("Comment (optional)", key="signoff_comment")
for row in status.itertuples(index=False):
    c_role, c_who, c_button = st.columns([2, 3, 2])
    c_role.markdown(f"**{row.label}**")
    c_who.markdown(
        f":material/check_circle: {row.username} · {row.signed_at:%Y-%m-%d %H:%M}" if row.signed else "Not signed yet"
    )
    if not meeting:
        c_button.button(
            f"Sign off as {row.label}",
            key=f"signoff_{row.role}",
            on_click=sign,
            args=(row.role,),
            disabled=row.signed or row.role not in user.roles,
            help=None if row.role in user.roles else f"Needs the {row.label.lower()} role",
        )

if not meeting:
    with st.expander(f"Cycle state: {state_label}"):
        st.dataframe(workflow.state_history(engine, cycle.id), hide_index=True, width="stretch")
        c1, c2 = st.columns([3, 2])
        c1.selectbox("Move the cycle to", list(workflow.STATE_LABELS), format_func=workflow.STATE_LABELS.get,
                     key="cycle_advance_to")
        c2.button("Move cycle", key="cycle_advance", on_click=advance)
        if head["frozen"] and head["state"] != "closed":
            st.button("Start a new plan version", key="new_version", on_click=new_version,
                      help="The signed version stays frozen; changes go into the new version")

# ---------------------------------------------------------------- downloads
st.subheader("Meeting pack")
if st.button("Prepare the meeting pack and deck", key="prepare_exports"):
    with st.spinner("Building the Excel pack and the deck…"):
        st.session_state["exec_exports"] = (cycle.id, *export.meeting_files(engine, cycle.id))
ready = st.session_state.get("exec_exports")
if ready and ready[0] == cycle.id:
    c1, c2 = st.columns(2)
    c1.download_button(
        "Download meeting pack (.xlsx)", ready[1], file_name=f"sop-{cycle.label}-pack.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="download_pack",
    )
    c2.download_button(
        "Download deck (.pptx)", ready[2], file_name=f"sop-{cycle.label}-deck.pptx",
        mime="application/vnd.openxmlformats-officedocument.presentationml.presentation", key="download_deck",
    )
