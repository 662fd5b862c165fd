"""Reconciliation: what-if levers on the cycle's plan, saved scenarios side by side, the proposed plan."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from sop_core.errors import SopError
from sop_core.planning import scenario as sc
from sop_core.services import demand, plan, signoff
from sop_core.services import supply as supply_service
from views import state, ui

st.title("Reconciliation")

engine = state.get_engine()
cycle = state.current_cycle()
user = state.current_user()
url = engine.url.render_as_string(hide_password=True)

LEVER_KEYS = (
    "demand_change_pct",
    "price_change_pct",
    "price_elasticity",
    "cost_change_pct",
    "cover_months",
    "frozen_periods",
    "overtime_allowed",
    "overtime_cost_change_pct",
    "lead_time_change_days",
)
ALL_RESOURCES = "All resources"
KEY_SOURCE, KEY_LOADED, KEY_NAME, KEY_FLASH = "recon_source", "recon_loaded", "scenario_name", "recon_flash"
KEY_FAMILIES, KEY_LOADS, KEY_LIST_FLASH = "recon_family_base", "recon_loads", "recon_list_flash"
KEY_EXTRA = "recon_extra_levers"  # levers without a widget of their own (SKU changes, other resources)

PROFILE_LABELS = {"total": "Total", "family": "Per family"}


@st.cache_data(ttl=600, show_spinner="Loading demand, stock, open orders, capacity and suppliers…")
def load_inputs(_engine, db_url: str, cycle_id: int, stamp: str) -> sc.ScenarioInputs:  # noqa: ANN001, ARG001
    return plan.scenario_inputs(_engine, cycle_id)


def load_into_widgets(record: plan.ScenarioRecord | None) -> None:
    """Put a stored scenario's levers (or the baseline's) into the widgets, before they are drawn."""
    levers = record.levers if record else sc.Levers()
    for key in LEVER_KEYS:
        st.session_state[key] = getattr(levers, key)
    st.session_state["fill_rate_target_pct"] = round(100 * levers.fill_rate_target)
    st.session_state["cycle_service_level_pct"] = round(100 * levers.cycle_service_level, 1)
    st.session_state["demand_from_month"] = levers.demand_from  # resolved once the months are known
    st.session_state["demand_to_month"] = levers.demand_to
    # capacity and disruptions are resolved onto their widgets once the resources and months are known
    # (:func:`spread_loaded_levers`); what the widgets cannot show stays in KEY_EXTRA and is saved again
    st.session_state[KEY_FAMILIES] = dict(levers.family_changes)
    st.session_state[KEY_EXTRA] = {
        "sku_changes": dict(levers.sku_changes),
        "loaded_capacity": dict(levers.capacity_changes),
        "loaded_disruptions": {sup: list(w) for sup, w in levers.supplier_disruptions.items()},
        "other_capacity": {},
        "other_disruptions": {},
    }
    st.session_state[KEY_LOADED] = {"id": record.id, "name": record.name, "version": record.version} if record else None
    st.session_state[KEY_NAME] = record.name if record else ""
    st.session_state[KEY_LOADS] = st.session_state.get(KEY_LOADS, 0) + 1


def spread_loaded_levers(resources: list[str]) -> None:
    """Put a just-loaded scenario's capacity changes and supplier disruptions into their widgets.

    The widgets show one capacity change (one resource, or the same % on all of them) and one disruption
    window; the scenario's other capacity changes and disruptions are kept aside and saved with it again.
    """
    extra = st.session_state[KEY_EXTRA]
    if "loaded_capacity" in extra:
        caps = extra.pop("loaded_capacity")
        if caps and set(caps) == set(resources) and len(set(caps.values())) == 1:
            resource, pct = ALL_RESOURCES, next(iter(caps.values()))
        elif caps:
            resource, pct = next(iter(caps.items()))
        else:
            resource, pct = ALL_RESOURCES, 0.0
        st.session_state["capacity_resource"], st.session_state["capacity_change_pct"] = resource, float(pct)
        extra["other_capacity"] = {} if resource == ALL_RESOURCES else {r: v for r, v in caps.items() if r != resource}
    if "loaded_disruptions" in extra:
        disruptions = extra.pop("loaded_disruptions")
        window = next(iter(disruptions.values())) if disruptions else None
        st.session_state["disrupted_suppliers"] = [sup for sup, w in disruptions.items() if w == window]
        st.session_state["disruption_from"], st.session_state["disruption_to"] = window or (None, None)
        extra["other_disruptions"] = {sup: w for sup, w in disruptions.items() if w != window}


def reload_saved() -> None:
    """Button callback: take the stored version of the loaded scenario (after a conflict)."""
    loaded = st.session_state.get(KEY_LOADED)
    record = plan.find_scenario(engine, cycle.id, loaded["name"]) if loaded else None
    if record is None:
        st.session_state[KEY_FLASH] = ("error", "nothing to reload: the scenario is not saved")
        return
    load_into_widgets(record)
    st.session_state[KEY_FLASH] = (
        "info",
        f"Reloaded '{record.name}' (version {record.version}, saved by {record.author}).",
    )


def promote_chosen() -> None:
    """Button callback: make the chosen scenario the proposed plan (before the page is drawn again)."""
    chosen = st.session_state.get("promote_choice")
    try:
        record = plan.load_scenario(engine, int(chosen))
        version = plan.promote(engine, record.id, user.username)
    except SopError as err:
        st.session_state[KEY_LIST_FLASH] = ("error", str(err))
    else:
        st.session_state[KEY_LIST_FLASH] = (
            "success",
            f"'{record.name}' is now the proposed plan (version {version}): review it on Executive review.",
        )


def current_levers(
    family_changes: dict[str, float], sku_changes: dict[str, float], resources: list[str], months: list[str]
) -> sc.Levers:
    """The levers as the widgets show them."""
    values = {key: st.session_state[key] for key in LEVER_KEYS}
    first, last = st.session_state["demand_from_month"], st.session_state["demand_to_month"]
    chosen, pct = st.session_state["capacity_resource"], float(st.session_state["capacity_change_pct"])
    targets = resources if chosen == ALL_RESOURCES else [chosen]
    window = sorted([st.session_state["disruption_from"], st.session_state["disruption_to"]])
    extra = st.session_state[KEY_EXTRA]
    capacity = {r: v for r, v in extra["other_capacity"].items() if r not in targets}
    capacity.update({r: pct for r in targets} if pct else {})
    disrupted = st.session_state["disrupted_suppliers"]
    disruptions = {sup: list(w) for sup, w in extra["other_disruptions"].items() if sup not in disrupted}
    disruptions.update({sup: list(window) for sup in disrupted})
    return sc.Levers(
        **values,
        family_changes=family_changes,
        sku_changes=sku_changes,
        demand_from="" if first == months[0] else first,
        demand_to="" if last == months[-1] else last,
        capacity_changes=capacity,
        supplier_disruptions=disruptions,
        fill_rate_target=st.session_state["fill_rate_target_pct"] / 100.0,
        cycle_service_level=st.session_state["cycle_service_level_pct"] / 100.0,
    )


# ---- the scenario chosen in the sidebar fills the levers once
selected = state.current_scenario_id()
if st.session_state.get(KEY_SOURCE) != (cycle.id, selected):
    load_into_widgets(plan.load_scenario(engine, selected) if selected is not None else None)
    st.session_state[KEY_SOURCE] = (cycle.id, selected)

try:
    # keyed on the demand review stamp: a new run or an override saved on Demand review shows here at once
    inputs = load_inputs(engine, url, cycle.id, demand.review_stamp(engine, cycle.id))
except plan.PlanError as err:
    st.error(str(err))
    st.stop()
@st.cache_data(ttl=600, show_spinner=False)
def load_unsourced(_engine, db_url: str, cycle_id: int, stamp: str) -> pd.DataFrame:  # noqa: ANN001, ARG001
    return supply_service.unsourced_skus(_engine, cycle_id)


if unsourced := supply_service.unsourced_warning(
    load_unsourced(engine, url, cycle.id, demand.review_stamp(engine, cycle.id))
):
    st.warning(unsourced)
# keep one live copy per session while the data is unchanged: it holds the evaluated scenarios
live = st.session_state.get("recon_inputs")
if live is not None and live[0] == inputs.fingerprint:
    inputs = live[1]
else:
    st.session_state["recon_inputs"] = (inputs.fingerprint, inputs)


# a signed plan version never changes: say what promoting does here
closed = cycle.status == "closed"
if closed:
    st.info(f"Cycle {cycle.label} is closed: its signed plan (version {cycle.plan_version}) cannot change. "
            "The levers and saved scenarios are for exploring only.")
elif signoff.is_frozen(engine, cycle.id):
    st.info(f"Cycle {cycle.label} is signed off: plan version {cycle.plan_version} is frozen. Promoting a scenario "
            f"starts plan version {cycle.plan_version + 1} and reopens the cycle; the signed version stays as it is.")

MONTHS = [p.strftime("%Y-%m") for p in inputs.periods]
RESOURCES = sorted(inputs.resources["resource"].astype(str)) if not inputs.resources.empty else []
SKUS = sorted(inputs.products["sku"].astype(str)) if not inputs.products.empty else []
SUPPLIERS = sorted(set(inputs.supplier_items["supplier"].astype(str))) if not inputs.supplier_items.empty else []
if st.session_state.get("demand_from_month") not in MONTHS:
    st.session_state["demand_from_month"] = MONTHS[0]
if st.session_state.get("demand_to_month") not in MONTHS:
    st.session_state["demand_to_month"] = MONTHS[-1]
spread_loaded_levers(RESOURCES)
if st.session_state.get("capacity_resource") not in [ALL_RESOURCES, *RESOURCES]:
    st.session_state["capacity_resource"] = ALL_RESOURCES
if st.session_state.get("disruption_from") not in MONTHS or st.session_state.get("disruption_to") not in MONTHS:
    st.session_state["disruption_from"], st.session_state["disruption_to"] = MONTHS[0], MONTHS[min(2, len(MONTHS) - 1)]
st.session_state["disrupted_suppliers"] = [x for x in st.session_state.get("disrupted_suppliers", []) if x in SUPPLIERS]

KPI_CARDS = (
    ("Revenue", "revenue", "money", "normal", None),
    (
        "Margin",
        "margin",
        "money",
        "normal",
        "Revenue − cost of goods sold − holding − overtime − alternate-supplier premium",
    ),
    ("Inventory value", "inventory_value_end", "money", "inverse", "Projected stock at cost at the end of the horizon"),
    (
        "Fill rate (plan)",
        "fill_rate",
        "share",
        "normal",
        "Served ÷ demand of the plan: what capacity, suppliers and stock allow if demand is as forecast",
    ),
    (
        "Expected fill rate",
        "expected_fill_rate",
        "share",
        "normal",
        "The plan's fill rate less the shortage expected from forecast error at the stock it holds: "
        "σ·G(stock ÷ σ) per SKU and month, σ = spread of demand over lead time + review period",
    ),
    (
        "Safety stock",
        "safety_stock_value",
        "money",
        "off",
        "Σ safety stock × unit cost; SS = z(cycle service level) · √((L + R)·σ_d² + d̄²·σ_L²) per SKU, "
        "the formula of the Supply review and KPIs pages",
    ),
    ("Overtime cost", "overtime_cost", "money", "inverse", "Overtime hours × rate in the constrained plan"),
    ("Stockout units", "stockout_units", "qty", "inverse", "Demand the plan cannot serve in its month"),
    ("Shortage cost", "shortage_cost", "money", "inverse", "Lost margin of the stockouts"),
    ("Days of cover", "days_of_cover", "num", "off", "End stock ÷ average daily demand over the horizon"),
)


def _fmt(kind: str, value: float) -> str:
    return {"money": ui.fmt_money, "qty": ui.fmt_qty, "share": ui.fmt_pct, "num": ui.fmt_num}[kind](value)


def _fmt_delta(kind: str, value: float) -> str:
    if kind == "share":
        return f"{100 * value:+.1f} pts"
    if kind == "money":
        return ("+" if value >= 0 else "") + ui.fmt_money(value)
    return f"{value:+,.1f}" if kind == "num" else f"{value:+,.0f}"


def _pct_changes(keys: pd.Series, pcts: pd.Series) -> dict[str, float]:
    """The non-zero % changes of an editor's rows (empty rows and cells left out)."""
    return {str(k): float(v) for k, v in zip(keys, pcts, strict=True) if pd.notna(k) and pd.notna(v) and v}


def elasticity_table() -> None:
    """The own-price elasticity learned per family, with its standard error, and what the lever uses when empty."""
    learned = plan.family_elasticities(engine)
    pooled = learned.attrs.get("pooled", {})
    st.markdown(
        "Log-log regression of monthly quantity on net price per family, with SKU fixed effects, month-of-year, "
        "promotion and trend controls. Used where it is significantly negative; else the fallback."
    )
    st.dataframe(
        learned[["family", "elasticity", "std_error", "n", "used", "value_used", "reason"]],
        hide_index=True,
        column_config={
            "family": "Family",
            "elasticity": st.column_config.NumberColumn("Estimate", format="%.2f"),
            "std_error": st.column_config.NumberColumn("± std. error", format="%.2f"),
            "n": st.column_config.NumberColumn("Months × SKUs", format="%,d"),
            "used": "Supported",
            "value_used": st.column_config.NumberColumn("Lever uses", format="%.2f"),
            "reason": st.column_config.TextColumn("Why", width="large"),
        },
    )
    if pooled:
        st.caption(
            f"All families together: {pooled.get('elasticity', float('nan')):.2f} ± "
            f"{pooled.get('std_error', float('nan')):.2f} (n {pooled.get('n', 0):,})"
        )


@st.fragment
def what_if() -> None:
    st.subheader("What if…")
    flash = st.session_state.pop(KEY_FLASH, None)
    if flash:
        getattr(st, flash[0])(flash[1])
    left, mid, right = st.columns(3)
    left.slider("Demand change (all SKUs)", -30.0, 30.0, step=1.0, format="%+.0f %%", key="demand_change_pct")
    mid.slider("Price change", -30.0, 30.0, step=1.0, format="%+.0f %%", key="price_change_pct")
    right.slider(
        "Capacity change",
        -50.0,
        50.0,
        step=5.0,
        format="%+.0f %%",
        key="capacity_change_pct",
        help="Regular hours of the resource chosen below (or of all resources).",
    )
    c0, c1, c2, c3 = st.columns(4)
    c0.selectbox("Demand change from", MONTHS, key="demand_from_month")
    c1.selectbox("to", MONTHS, key="demand_to_month")
    c2.selectbox("Capacity change on", [ALL_RESOURCES, *RESOURCES], key="capacity_resource")
    c3.toggle("Overtime allowed", key="overtime_allowed")
    with st.expander("More levers"):
        c1, c_learned, c2, c3, c4 = st.columns([3, 2, 3, 3, 3], vertical_alignment="bottom")
        c1.number_input(
            "Price elasticity",
            -5.0,
            0.0,
            step=0.1,
            value=None,  # empty = learned per family (an empty field stays empty, not the minimum)
            key="price_elasticity",
            placeholder="learned per family",
            help="Demand × (1 + price change)^elasticity. Empty = each family's elasticity learned from the sales "
            "history (below); a number = that elasticity for every family; 0 = demand does not react to price.",
        )
        with c_learned.popover("Learned", width="stretch",
                               help="The own-price elasticity learned per family from the sales history"):
            elasticity_table()
        c2.number_input("Unit cost change (%)", -50.0, 100.0, step=1.0, key="cost_change_pct")
        c3.number_input("Overtime rate change (%)", -50.0, 200.0, step=5.0, key="overtime_cost_change_pct")
        c4.number_input("Supplier lead-time change (days)", -60.0, 120.0, step=7.0, key="lead_time_change_days")
        c1, c2, c3, c4 = st.columns(4)
        c1.number_input(
            "Cycle service level (safety stock, %)",
            0.0,
            99.9,
            step=0.5,
            key="cycle_service_level_pct",
            help="The probability of no stockout in a replenishment cycle that every SKU's safety stock is set "
            "for; 0 = each product's own target (Supply review). A higher level or a longer lead time holds more "
            "safety stock.",
        )
        c2.slider(
            "Fill-rate target (constrained plan)",
            0,
            99,
            step=1,
            format="%d %%",
            key="fill_rate_target_pct",
            help="The share of each SKU's demand the plan must serve: 0 = none; the plan uses overtime and "
            "alternate suppliers before falling below it.",
        )
        c3.number_input(
            "Extra cover (months)",
            0.0,
            6.0,
            step=0.25,
            key="cover_months",
            help="Stock above the safety stock at each month end, in months of next month's demand.",
        )
        c4.number_input("Frozen months (open orders only)", 0, 6, step=1, key="frozen_periods")
        c1, c2, c3 = st.columns([2, 1, 1])
        c1.multiselect("Supplier out of action", SUPPLIERS, key="disrupted_suppliers")
        c2.selectbox("Out of action from", MONTHS, key="disruption_from")
        c3.selectbox("to", MONTHS, key="disruption_to")
        st.caption("Demand change per family (%), on top of the all-SKU change and in the same months; "
                   "below it, extra changes per SKU (add a row with +).")
        base_changes = st.session_state[KEY_FAMILIES]
        families = pd.DataFrame(
            {"family": inputs.families, "change_pct": [base_changes.get(f, 0.0) for f in inputs.families]}
        )
        edited = st.data_editor(
            families,
            hide_index=True,
            disabled=["family"],
            key=f"family_editor_{st.session_state[KEY_LOADS]}",
            column_config={
                "family": st.column_config.TextColumn("Family"),
                "change_pct": st.column_config.NumberColumn(
                    "Demand change (%)", min_value=-90.0, max_value=200.0, step=1.0
                ),
            },
        )
        sku_base = st.session_state[KEY_EXTRA]["sku_changes"]
        sku_edited = st.data_editor(
            pd.DataFrame({"sku": list(sku_base), "change_pct": [float(v) for v in sku_base.values()]},
                         columns=["sku", "change_pct"]).astype({"sku": "object", "change_pct": "float"}),
            hide_index=True,
            num_rows="dynamic",
            key=f"sku_editor_{st.session_state[KEY_LOADS]}",
            column_config={
                "sku": st.column_config.SelectboxColumn("SKU", options=SKUS, required=True),
                "change_pct": st.column_config.NumberColumn(
                    "Extra demand change (%)", min_value=-90.0, max_value=200.0, step=1.0,
                    help="On top of the all-SKU and family changes, in the same months.",
                ),
            },
        )
        kept = [f"{r} {v:+.0f} %" for r, v in st.session_state[KEY_EXTRA]["other_capacity"].items()]
        kept += [f"{sup} out {w[0]} … {w[1]}" for sup, w in st.session_state[KEY_EXTRA]["other_disruptions"].items()]
        if kept:
            st.caption("Also in this scenario (kept when saved): " + " · ".join(kept))
    changes = _pct_changes(edited["family"], edited["change_pct"])
    sku_changes = _pct_changes(sku_edited["sku"], sku_edited["change_pct"])

    try:
        levers = current_levers(changes, sku_changes, RESOURCES, MONTHS)
        base = plan.evaluate(inputs, sc.Levers())
        result = plan.evaluate(inputs, levers)
    except (sc.ScenarioInputError, plan.PlanError) as err:
        st.error(str(err))
        return
    k = result.kpis
    delta = sc.compare({plan.BASELINE: base, "Scenario": result})["Δ Scenario"] if levers != sc.Levers() else None
    for row in (KPI_CARDS[:5], KPI_CARDS[5:]):
        cols = st.columns(5)
        for col, (label, key, kind, colour, help_text) in zip(cols, row, strict=True):
            col.metric(
                label,
                _fmt(kind, k[key]),
                None if delta is None or abs(delta[key]) < 1e-9 else _fmt_delta(kind, delta[key]),
                delta_color=colour,
                help=help_text,
            )

    tab_inv, tab_gap = st.tabs(["Projected inventory", "Demand vs constrained supply"])
    with tab_inv:
        by = st.radio(
            "Projected inventory",
            ["total", "family"],
            horizontal=True,
            key="recon_inventory_by",
            format_func=PROFILE_LABELS.get,
            label_visibility="collapsed",
        )
        profile = sc.inventory_profile({plan.BASELINE: base, "Scenario": result}, by=by)
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
        fig.update_yaxes(title=f"Inventory value ({ui.CURRENCY})")
        st.plotly_chart(ui.base_layout(fig, height=340), width="stretch")
    with tab_gap:
        gap = plan.supply_gap(inputs, levers)
        short = gap[gap["shortage_qty"] > 0.5]
        if short.empty:
            st.success("The constrained plan serves all demand in every family and month.")
        else:
            fig = px.bar(
                gap,
                x="period",
                y="shortage_qty",
                color="family",
                color_discrete_sequence=px.colors.qualitative.Safe,
                labels={"shortage_qty": "Units short", "period": ""},
            )
            st.plotly_chart(ui.base_layout(fig, height=300), width="stretch")
            shown = short.assign(
                month=pd.to_datetime(short["period"]).dt.strftime("%Y-%m"),
                fill=short["served_qty"] / short["demand_qty"].where(short["demand_qty"] > 0),
            )[["family", "month", "demand_qty", "served_qty", "shortage_qty", "fill", "constraint"]]
            st.dataframe(
                shown,
                hide_index=True,
                width="stretch",
                key="gap_table",
                column_config={
                    "family": "Family",
                    "month": "Month",
                    "demand_qty": st.column_config.NumberColumn("Demand", format="%,.0f"),
                    "served_qty": st.column_config.NumberColumn("Constrained supply", format="%,.0f"),
                    "shortage_qty": st.column_config.NumberColumn("Gap", format="%,.0f"),
                    "fill": st.column_config.NumberColumn("Served", format="percent"),
                    "constraint": "Binding constraint",
                },
            )
        notes = plan.shadow_prices(inputs, levers)
        if notes:
            st.markdown("**Where more capacity pays**")
            st.markdown("\n".join(f"- {n}" for n in notes))

    if state.meeting_mode():  # the screen share: levers only, no saving
        return
    st.text_input("Scenario name", key=KEY_NAME, placeholder="e.g. Promo push +10 %")
    col_save, col_reload = st.columns([1, 3])
    if st.session_state.get(KEY_LOADED):
        col_reload.button("Reload saved levers", key="reload_scenario", on_click=reload_saved)
    if col_save.button("Save scenario", type="primary", key="save_scenario"):
        name = st.session_state[KEY_NAME].strip()
        loaded = st.session_state.get(KEY_LOADED)
        expected = loaded["version"] if loaded and loaded["name"] == name else None
        try:
            sid, version = plan.save_scenario(engine, cycle.id, name, levers, user.username, expected)
        except plan.PlanError as err:
            st.error(str(err))
        else:
            st.session_state[KEY_LOADED] = {"id": sid, "name": name, "version": version}
            st.session_state[KEY_FLASH] = ("success", f"Saved scenario '{name}' (version {version}).")
            st.rerun(scope="app")


what_if()

# ---- saved scenarios, comparison, promotion
st.subheader("Scenarios")
list_flash = st.session_state.pop(KEY_LIST_FLASH, None)
if list_flash:
    getattr(st, list_flash[0])(list_flash[1])
saved = plan.list_scenarios(engine, cycle.id)
if saved.empty:
    st.info("No saved scenario yet: move the levers above and save one.")
else:
    st.dataframe(
        saved.drop(columns=["id"]),
        hide_index=True,
        width="stretch",
        column_config={
            "name": "Scenario",
            "status": "Status",
            "author": "Saved by",
            "updated_at": st.column_config.DatetimeColumn("Saved", format="YYYY-MM-DD HH:mm"),
            "version": st.column_config.NumberColumn("Version", format="%d"),
            "demand_change_pct": st.column_config.NumberColumn("Demand (%)", format="%+.1f"),
            "price_change_pct": st.column_config.NumberColumn("Price (%)", format="%+.1f"),
            "revenue": st.column_config.NumberColumn("Revenue", format="%,.0f"),
            "margin": st.column_config.NumberColumn("Margin", format="%,.0f"),
            "margin_rate": st.column_config.NumberColumn("Margin %", format="percent"),
            "inventory_value_end": st.column_config.NumberColumn("Inventory value", format="%,.0f"),
            "fill_rate": st.column_config.NumberColumn("Fill rate (plan)", format="percent"),
        },
    )
    names = dict(zip(saved["id"].tolist(), saved["name"], strict=True))
    if [x for x in st.session_state.get("compare_ids", []) if x not in names]:
        st.session_state["compare_ids"] = [x for x in st.session_state["compare_ids"] if x in names]
    if "compare_ids" not in st.session_state:
        st.session_state["compare_ids"] = list(names)[-3:]
    chosen = st.multiselect(
        "Compare with the baseline (up to 4)",
        list(names),
        format_func=names.get,
        max_selections=4,
        key="compare_ids",
    )
    results = plan.compare_results(engine, cycle.id, chosen, inputs)
    table = sc.compare(results)
    shown = table.copy().astype(object)
    for kpi in table.index:
        kind = sc.KPI_KIND.get(kpi, "qty")
        for col in table.columns[1:]:
            value = table.loc[kpi, col]
            if col.startswith("Δ "):
                shown.loc[kpi, col] = _fmt_delta("num" if kpi == "days_of_cover" else kind, value)
            else:
                shown.loc[kpi, col] = _fmt("num" if kpi == "days_of_cover" else kind, value)
    st.markdown("**Compared with the baseline**")
    st.dataframe(shown.set_index("label"), width="stretch", key="compare_table", height=36 * (len(shown) + 1) + 3)
    if len(results) > 1:
        chart_left, chart_right = st.columns(2)
        money = table.loc[["revenue", "margin", "inventory_value_end", "overtime_cost", "shortage_cost"]]
        bars = money.melt(id_vars="label", value_vars=list(results), var_name="scenario", value_name="value")
        fig = px.bar(
            bars,
            x="label",
            y="value",
            color="scenario",
            barmode="group",
            labels={"label": "", "value": ui.CURRENCY},
            color_discrete_sequence=px.colors.qualitative.Safe,
        )
        chart_left.plotly_chart(ui.base_layout(fig, height=320), width="stretch")
        profile = sc.inventory_profile(results, by="total")
        fig = px.line(
            profile,
            x="period",
            y="inventory_value",
            color="scenario",
            markers=True,
            labels={"period": "", "inventory_value": f"Inventory value ({ui.CURRENCY})"},
            color_discrete_sequence=px.colors.qualitative.Safe,
        )
        chart_right.plotly_chart(ui.base_layout(fig, height=320), width="stretch")

    if state.meeting_mode():
        st.stop()
    col_pick, col_go = st.columns([3, 1], vertical_alignment="bottom")
    col_pick.selectbox("Scenario to propose", list(names), format_func=names.get, key="promote_choice")
    col_go.button("Promote to proposed plan", key="promote", on_click=promote_chosen, disabled=closed,
                  help="A closed cycle's plan cannot change" if closed else None)
