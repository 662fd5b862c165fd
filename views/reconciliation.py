"""Reconciliation: what-if levers on the cycle's plan, saved scenarios side by side, the proposed plan."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from sop_core import formatting
from sop_core.config import CURRENCY
from sop_core.errors import EditConflict, SopError
from sop_core.services import demand, plan, scenarios, signoff, whatif
from sop_core.services import supply as supply_service
from views import conflicts, lever_widgets, state, ui

st.title("Reconciliation")

engine = state.get_engine()
cycle = state.current_cycle()
user = state.current_user()
url = engine.url.render_as_string(hide_password=True)

KEY_SOURCE, KEY_LOADED, KEY_NAME, KEY_FLASH = "recon_source", "recon_loaded", "scenario_name", "recon_flash"
KEY_PENDING, KEY_LIST_FLASH = "recon_pending_load", "recon_list_flash"
#: The levers as the page last showed them (:func:`lever_widgets.draw_levers`).
KEY_SHOWN = "recon_levers_shown"
PROFILE_LABELS = {"total": "Total", "family": "Per family"}
KEY_TAB, INVENTORY_TAB, GAP_TAB = "recon_tab", "Projected inventory", "Demand vs constrained supply"


@st.cache_data(ttl=600, show_spinner=False)
def load_unsourced(_engine, db_url: str, cycle_id: int, stamp: str) -> pd.DataFrame:  # noqa: ANN001, ARG001
    return supply_service.unsourced_skus(_engine, cycle_id)


def load_scenario(record: plan.ScenarioRecord | None) -> None:
    """Ask for a stored scenario's levers (or the baseline's) on the widgets, applied before they are drawn."""
    st.session_state[KEY_PENDING] = whatif.lever_values(record.levers if record else None)
    st.session_state[KEY_LOADED] = {"id": record.id, "name": record.name, "version": record.version} if record else None
    st.session_state[KEY_NAME] = record.name if record else ""


def reload_saved() -> None:
    """Button callback: take the stored version of the loaded scenario (after a conflict)."""
    loaded = st.session_state.get(KEY_LOADED)
    record = scenarios.find_scenario(engine, cycle.id, loaded["name"]) if loaded else None
    if record is None:
        st.session_state[KEY_FLASH] = ("error", "nothing to reload: the scenario is not saved")
        return
    load_scenario(record)
    st.session_state[KEY_FLASH] = ("info", f"Reloaded '{record.name}' (version {record.version}, saved by {record.author}).")


KEY_PROMOTION_SEEN, PROMOTION = "recon_promotion_seen", f"promotion_{cycle.id}"


def promote(scenario_id: int, seen: plan.PromotionSeen) -> None:
    """Promote the scenario over the proposed plan ``seen``; a success or error note for the next run."""
    try:
        record = plan.load_scenario(engine, scenario_id)
        version = plan.promote(engine, record.id, user.username, seen, load_inputs=lambda: inputs)
    except EditConflict as err:
        conflicts.remember(PROMOTION, err, scenario_id)
    except SopError as err:
        st.session_state[KEY_LIST_FLASH] = ("error", str(err))
    else:
        st.session_state[KEY_LIST_FLASH] = (
            "success",
            f"'{record.name}' is now the proposed plan (version {version}): review it on Executive review.",
        )


def promote_chosen() -> None:
    """Button callback: make the chosen scenario the proposed plan (before the page is drawn again), over the
    proposed plan the page showed."""
    promote(int(st.session_state.get("promote_choice")), st.session_state[KEY_PROMOTION_SEEN])


# ---- the scenario chosen in the sidebar fills the levers once
selected = state.current_scenario_id()
if st.session_state.get(KEY_SOURCE) != (cycle.id, selected):
    load_scenario(plan.load_scenario(engine, selected) if selected is not None else None)
    st.session_state[KEY_SOURCE] = (cycle.id, selected)

stamp = demand.review_stamp(engine, cycle.id)  # a new run or an override on Demand review shows here at once
try:
    inputs = state.scenario_inputs(cycle.id)  # shared with the Executive review while the data stay the same
except plan.PlanError as err:
    st.error(ui.md(err))
    st.stop()
if basis := whatif.plan_basis(inputs):
    st.caption(ui.md(basis))
if unsourced := supply_service.unsourced_warning(load_unsourced(engine, url, cycle.id, stamp)):
    st.warning(ui.md(unsourced))

# a signed plan version never changes: say what promoting does here
closed = cycle.status == "closed"
if closed:
    st.info(f"Cycle {cycle.label} is closed: its signed plan (version {cycle.plan_version}) cannot change. "
            "The levers and saved scenarios are for exploring only.")
elif signoff.is_frozen(engine, cycle.id):
    st.info(f"Cycle {cycle.label} is signed off: plan version {cycle.plan_version} is frozen. Promoting a scenario "
            f"starts plan version {cycle.plan_version + 1} and reopens the cycle; the signed version stays as it is.")

choices = whatif.lever_choices(inputs)
learned = whatif.family_elasticities(engine)  # once per page run, not per lever move
if (pending := st.session_state.pop(KEY_PENDING, None)) is not None:
    lever_widgets.put_levers(pending, choices)
elif "demand_change_pct" not in st.session_state and KEY_SHOWN in st.session_state:
    # a run of another page drops the widgets' values (a slider would show its minimum): put the levers back
    lever_widgets.put_levers(st.session_state[KEY_SHOWN], choices)
lever_widgets.settle(choices)

KPI_CARDS = (
    ("Revenue", "revenue", "money", "normal", None),
    ("Margin", "margin", "money", "normal",
     "Revenue − cost of goods sold − holding − overtime − alternate-supplier premium"),
    ("Inventory value", "inventory_value_end", "money", "inverse", "Projected stock at cost at the end of the horizon"),
    ("Fill rate (plan)", "fill_rate", "share", "normal",
     "Served ÷ demand of the plan: what capacity, suppliers and stock allow if demand is as forecast"),
    ("Expected fill rate", "expected_fill_rate", "share", "normal",
     "The plan's fill rate less the shortage expected from forecast error at the stock it holds: "
     "σ·G(stock ÷ σ) per SKU and month, σ = spread of demand over lead time + review period"),
    ("Safety stock", "safety_stock_value", "money", "off",
     "Σ safety stock × unit cost; SS = z(cycle service level) · √((L + R)·σ_d² + d̄²·σ_L²) per SKU, "
     "the formula of the Supply review and KPIs pages"),
    ("Overtime cost", "overtime_cost", "money", "inverse", "Overtime hours × rate in the constrained plan"),
    ("Stockout units", "stockout_units", "qty", "inverse", "Demand the plan cannot serve in its month"),
    ("Shortage cost", "shortage_cost", "money", "inverse", "Lost margin of the stockouts"),
    ("Days of cover", "days_of_cover", "num", "off", "End stock ÷ average daily demand over the horizon"),
)
GAP_COLUMNS = {
    "family": "Family",
    "demand_qty": st.column_config.NumberColumn("Demand", format="%,.0f"),
    "served_qty": st.column_config.NumberColumn("Constrained supply", format="%,.0f"),
    "shortage_qty": st.column_config.NumberColumn("Gap", format="%,.0f"),
    "fill": "Served",  # a share: one decimal in %, as every fill rate
    "constraint": "Binding constraint",
}


def inventory_chart(what: whatif.WhatIf) -> None:
    """Projected inventory value of the baseline and the scenario, in total or per family."""
    by = st.radio("Projected inventory", ["total", "family"], horizontal=True, key="recon_inventory_by",
                  format_func=PROFILE_LABELS.get, label_visibility="collapsed")
    profile = what.inventory_profile(by)
    fig = go.Figure()
    keys = ["family", "scenario"] if by == "family" else ["scenario"]
    palette = px.colors.qualitative.Safe
    for i, (key, part) in enumerate(profile.groupby(keys, sort=True)):
        name = key[-1]
        colour = palette[i // 2 % len(palette)] if by == "family" else ui.COLORS["scenario"]
        fig.add_scatter(
            x=part["period"],
            y=part["inventory_value"],
            mode="lines+markers",
            name=f"{key[0]} · {name}" if by == "family" else name,
            line=dict(
                color=ui.COLORS["forecast"] if by == "total" and name == plan.BASELINE else colour,
                dash="dot" if name == plan.BASELINE else "solid",
            ),
        )
    fig.update_yaxes(title=f"Inventory value ({CURRENCY})")
    st.plotly_chart(ui.base_layout(fig, height=340), width="stretch")


def gap_chart(what: whatif.WhatIf) -> None:
    """Demand vs constrained supply per family and month, the binding constraints and what capacity is worth."""
    gap = what.gap
    short = gap[gap["shortage_qty"] > 0.5]
    if short.empty:
        st.success("The constrained plan serves all demand in every family and month.")
    else:
        fig = px.bar(gap, x="period", y="shortage_qty", color="family", color_discrete_sequence=px.colors.qualitative.Safe,
                     labels={"shortage_qty": "Units short", "period": ""})
        st.plotly_chart(ui.base_layout(fig, height=300), width="stretch")
        shown = short.assign(
            period=pd.to_datetime(short["period"]),
            fill=short["served_qty"] / short["demand_qty"].where(short["demand_qty"] > 0),
        )[["family", "period", "demand_qty", "served_qty", "shortage_qty", "fill", "constraint"]]
        ui.dataframe(shown, hide_index=True, width="stretch", key="gap_table", column_config=GAP_COLUMNS,
                     kinds={"fill": "share"})
    if what.capacity_notes:
        st.markdown("**Where more capacity pays**")
        st.markdown("\n".join(f"- {ui.md(n)}" for n in what.capacity_notes))


def save_form(what: whatif.WhatIf) -> None:
    """Name and save the levers as a scenario (refused over someone else's newer save), or reload the stored one."""
    st.text_input("Scenario name", key=KEY_NAME, placeholder="e.g. Promo push +10 %")
    col_save, col_reload = st.columns([1, 3])
    if st.session_state.get(KEY_LOADED):
        col_reload.button("Reload saved levers", key="reload_scenario", on_click=reload_saved)
    if col_save.button("Save scenario", type="primary", key="save_scenario"):
        name = st.session_state[KEY_NAME].strip()
        loaded = st.session_state.get(KEY_LOADED)
        expected = loaded["version"] if loaded and loaded["name"] == name else None
        try:
            store_scenario((name, what.levers), expected)
        except EditConflict as err:
            conflicts.remember(SAVE_CONFLICT, err, (name, what.levers))
        except SopError as err:
            st.error(ui.md(err))
        else:
            st.rerun(scope="app")
    conflicts.offer(SAVE_CONFLICT, store_scenario, reload_saved)


SAVE_CONFLICT = f"scenario_save_{cycle.id}"


def store_scenario(mine: tuple[str, Any], seen: int | None) -> None:
    """Save the levers ``mine`` = (name, levers) over the version ``seen``; the loaded scenario and a note."""
    name, levers = mine
    sid, version = scenarios.save_scenario(engine, cycle.id, name, levers, user.username, seen, load_inputs=lambda: inputs)
    st.session_state[KEY_LOADED] = {"id": sid, "name": name, "version": version}
    st.session_state[KEY_FLASH] = ("success", f"Saved scenario '{name}' (version {version}).")


@st.fragment
def what_if() -> None:
    st.subheader("What if: levers and their effect")
    if flash := st.session_state.pop(KEY_FLASH, None):
        getattr(st, flash[0])(ui.md(flash[1]))
    values = lever_widgets.draw_levers(choices, learned)
    st.session_state[KEY_SHOWN] = values
    try:
        what = whatif.evaluate(inputs, whatif.levers_from(values))  # the levers, evaluated once per rerun
    except plan.PlanError as err:
        st.error(ui.md(err))
        return
    for row in (KPI_CARDS[:5], KPI_CARDS[5:]):
        for col, (label, key, kind, colour, help_text) in zip(st.columns(5), row, strict=True):
            delta = (None if what.delta is None or abs(what.delta[key]) < 1e-9
                     else formatting.delta_by_kind(what.delta[key], kind))
            col.metric(label, formatting.by_kind(what.kpis[key], kind), delta, delta_color=colour, help=help_text)
    # only the open tab is drawn: a lever move sends one chart, and a switch of tab redraws from the cached plans
    tab_inv, tab_gap = st.tabs([INVENTORY_TAB, GAP_TAB], key=KEY_TAB, on_change="rerun")
    if tab_inv.open:
        with tab_inv:
            inventory_chart(what)
    if tab_gap.open:
        with tab_gap:
            gap_chart(what)
    if state.editing("scenario_save"):  # the screen share and a role that may not save: levers only
        save_form(what)


what_if()

# ---- saved scenarios, comparison, promotion
st.subheader("Scenarios")
if list_flash := st.session_state.pop(KEY_LIST_FLASH, None):
    getattr(st, list_flash[0])(ui.md(list_flash[1]))
saved = scenarios.list_scenarios(engine, cycle.id)
if saved.empty:
    st.info("No saved scenario yet: move the levers above and save one.")
    st.stop()
ui.dataframe(
    saved.drop(columns=["id"]),
    hide_index=True,
    width="stretch",
    column_config={"name": "Scenario", "author": "Saved by", "updated_at": "Saved", "fill_rate": "Fill rate (plan)"},
)
names = dict(zip(saved["id"].tolist(), saved["name"], strict=True))
if [x for x in st.session_state.get("compare_ids", []) if x not in names]:
    st.session_state["compare_ids"] = [x for x in st.session_state["compare_ids"] if x in names]
if "compare_ids" not in st.session_state:
    st.session_state["compare_ids"] = list(names)[-3:]
chosen = st.multiselect("Compare with the baseline (up to 4)", list(names), format_func=names.get, max_selections=4,
                        key="compare_ids")
comparison = whatif.compare_saved(engine, cycle.id, chosen, inputs)
table = comparison.table
shown = table.copy().astype(object)
for kpi in table.index:
    for col in table.columns[1:]:
        show = formatting.delta_by_kind if col.startswith("Δ ") else formatting.by_kind
        shown.loc[kpi, col] = show(table.loc[kpi, col], comparison.kinds[kpi])
st.markdown("**Compared with the baseline**")
ui.dataframe(shown.set_index("label").rename_axis("KPI"), width="stretch", key="compare_table",
             height=36 * (len(shown) + 1) + 3)
if len(comparison.results) > 1:
    chart_left, chart_right = st.columns(2)
    money = table.loc[["revenue", "margin", "inventory_value_end", "overtime_cost", "shortage_cost"]]
    bars = money.melt(id_vars="label", value_vars=list(comparison.results), var_name="scenario", value_name="value")
    fig = px.bar(bars, x="label", y="value", color="scenario", barmode="group",
                 labels={"label": "", "value": CURRENCY}, color_discrete_sequence=px.colors.qualitative.Safe)
    chart_left.plotly_chart(ui.base_layout(fig, height=320), width="stretch")
    fig = px.line(comparison.inventory_profile(), x="period", y="inventory_value", color="scenario", markers=True,
                  labels={"period": "", "inventory_value": f"Inventory value ({CURRENCY})"},
                  color_discrete_sequence=px.colors.qualitative.Safe)
    chart_right.plotly_chart(ui.base_layout(fig, height=320), width="stretch")

if not state.editing("scenario_promote"):
    st.stop()
st.session_state[KEY_PROMOTION_SEEN] = plan.promotion_seen(engine, cycle.id)  # what this page shows as proposed
conflicts.offer(PROMOTION, promote, lambda: None)
col_pick, col_go = st.columns([3, 1], vertical_alignment="bottom")
col_pick.selectbox("Scenario to propose", list(names), format_func=names.get, key="promote_choice")
col_go.button("Promote to proposed plan", key="promote", on_click=promote_chosen, disabled=closed,
              help="A closed cycle's plan cannot change" if closed else None)
