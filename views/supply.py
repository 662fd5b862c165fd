"""Supply review: capacity load of the cycle's plan, bottlenecks with drill-down, projected inventory with
safety stock and reorder point, supplier performance and trend (per supplier, and per item of one supplier by
month), replenishment proposals (downloadable)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from sop_core.services import inventory_policy as policy_service
from sop_core.services import suppliers as suppliers_service
from sop_core.services import supply as supply_service
from views import state, ui

st.title("Supply review")

engine = state.get_engine()
cycle = state.current_cycle()
url = engine.url.render_as_string(hide_password=True)


@st.cache_data(ttl=600, show_spinner="Loading the capacity load…")
def load_capacity(_engine, db_url: str, cycle_id: int, plan_key: str) -> pd.DataFrame:  # noqa: ANN001, ARG001
    return supply_service.capacity_load(_engine, cycle_id)  # plan_key keys the cache: a new plan reloads


@st.cache_data(ttl=600, show_spinner="Finding bottlenecks…")
def load_bottlenecks(_engine, db_url: str, cycle_id: int, plan_key: str) -> pd.DataFrame:  # noqa: ANN001, ARG001
    return supply_service.bottlenecks(_engine, cycle_id)


@st.cache_data(ttl=600, show_spinner="Projecting inventory…")
def load_projection(_engine, db_url: str, cycle_id: int, plan_key: str, level: str, item: str) -> pd.DataFrame:  # noqa: ANN001, ARG001
    if level == "family":
        return policy_service.projection_with_levels(_engine, cycle_id, family=item)
    return policy_service.projection_with_levels(_engine, cycle_id, sku=item)


@st.cache_data(ttl=600, show_spinner="Scoring suppliers…")
def load_scorecard(_engine, db_url: str, late_days: int, short_pct: float) -> pd.DataFrame:  # noqa: ANN001, ARG001
    return suppliers_service.supplier_scorecard(
        _engine, on_time_tolerance_days=late_days, in_full_tolerance=short_pct / 100
    )


@st.cache_data(ttl=600, show_spinner="Scoring supplier items…")
def load_item_scorecard(_engine, db_url: str, late_days: int, short_pct: float, supplier: str | None) -> pd.DataFrame:  # noqa: ANN001, ARG001
    return suppliers_service.supplier_item_scorecard(
        _engine, supplier=supplier, on_time_tolerance_days=late_days, in_full_tolerance=short_pct / 100
    )


@st.cache_data(ttl=600, show_spinner="Tracing the supplier's items…")
def load_item_trend(  # noqa: ANN001
    _engine,  # noqa: ANN001
    db_url: str,  # noqa: ARG001
    supplier: str,
    sku: str | None,
    late_days: int,
    short_pct: float,
) -> pd.DataFrame:
    return suppliers_service.supplier_item_trend(
        _engine, supplier, sku=sku, on_time_tolerance_days=late_days, in_full_tolerance=short_pct / 100
    )


@st.cache_data(ttl=600)
def load_trend(_engine, db_url: str, late_days: int, short_pct: float) -> pd.DataFrame:  # noqa: ANN001, ARG001
    return suppliers_service.supplier_trend(_engine, on_time_tolerance_days=late_days, in_full_tolerance=short_pct / 100)


@st.cache_data(ttl=600, show_spinner="Loading the drill-down…")
def load_drilldown(  # noqa: ANN001
    _engine,  # noqa: ANN001
    db_url: str,  # noqa: ARG001
    cycle_id: int,
    plan_key: str,  # noqa: ARG001
    resource: str,
    period: pd.Timestamp,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    return supply_service.bottleneck_drilldown(_engine, cycle_id, resource, period)


@st.cache_data(ttl=600, show_spinner="Proposing orders…")
def load_proposals(_engine, db_url: str, cycle_id: int, plan_key: str) -> pd.DataFrame:  # noqa: ANN001, ARG001
    return policy_service.replenishment_proposals(_engine, cycle_id)


@st.cache_data(ttl=600)
def load_plan_source(_engine, db_url: str, cycle_id: int, plan_key: str) -> str:  # noqa: ANN001, ARG001
    return supply_service.plan_demand(_engine, cycle_id)[1]


@st.cache_data(ttl=600, show_spinner="Checking every SKU has a source…")
def load_unsourced(_engine, db_url: str, cycle_id: int, plan_key: str) -> pd.DataFrame:  # noqa: ANN001, ARG001
    return supply_service.unsourced_skus(_engine, cycle_id)


@st.cache_data(ttl=600)
def load_products(_engine, db_url: str) -> pd.DataFrame:  # noqa: ANN001, ARG001
    return supply_service.product_choices(_engine)


def item_heatmaps(otif: pd.DataFrame, lead: pd.DataFrame) -> go.Figure:
    """OTIF (%) and mean lead time (days) per item (rows) and month of receipt (columns), side by side."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.1,
                        subplot_titles=("OTIF (%)", "Lead time mean (days)"))  # fmt: skip
    fig.add_trace(
        go.Heatmap(z=otif.to_numpy(), x=list(otif.columns), y=list(otif.index), zmin=0, zmax=100,
                   colorscale=[[0.0, ui.COLORS["bad"]], [0.5, ui.COLORS["warning"]], [1.0, ui.COLORS["ok"]]],
                   colorbar=dict(title="%", x=0.45), name="OTIF",
                   hovertemplate="%{y} · %{x}: OTIF %{z:.0f} %<extra></extra>"),
        row=1, col=1,
    )  # fmt: skip
    fig.add_trace(
        go.Heatmap(z=lead.to_numpy(), x=list(lead.columns), y=list(lead.index), colorscale="Blues",
                   colorbar=dict(title="days", x=1.0), name="Lead time",
                   hovertemplate="%{y} · %{x}: %{z:.1f} days<extra></extra>"),
        row=1, col=2,
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed")
    fig = ui.base_layout(fig, height=120 + 22 * len(otif))
    fig.update_layout(hovermode="closest")
    return fig


def item_lines(trend: pd.DataFrame) -> go.Figure:
    """One item: OTIF (%) and mean lead time against the master lead time (days) per month of receipt."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=("OTIF (%)", "Lead time (days)"))  # fmt: skip
    deliveries = trend["orders"].astype(str) + " deliveries"
    fig.add_scatter(x=trend["period"], y=trend["otif"] * 100, name="OTIF", mode="lines+markers",
                    line=dict(color=ui.COLORS["forecast"]), text=deliveries, row=1, col=1)  # fmt: skip
    fig.add_scatter(x=trend["period"], y=trend["lt_mean_days"], name="Lead time mean", mode="lines+markers",
                    line=dict(color=ui.COLORS["actual"]), text=deliveries, row=2, col=1)  # fmt: skip
    fig.add_scatter(x=trend["period"], y=trend["master_lead_time_days"], name="Master lead time", mode="lines",
                    line=dict(color=ui.COLORS["capacity"], dash="dash"), row=2, col=1)  # fmt: skip
    fig.update_yaxes(range=[0, 105], row=1, col=1)
    return ui.base_layout(fig, height=420)


run_id = supply_service.plan_run_id(engine, cycle.id)
if run_id is None:
    st.error(f"Cycle {cycle.label} has no forecast yet: run the forecast in Demand review first.")
    st.stop()
try:
    plan_key = supply_service.plan_fingerprint(engine, cycle.id)
    load = load_capacity(engine, url, cycle.id, plan_key)
    hot = load_bottlenecks(engine, url, cycle.id, plan_key)
except supply_service.SupplyDataError as err:
    st.error(str(err))
    st.stop()

source = load_plan_source(engine, url, cycle.id, plan_key)
basis = supply_service.demand_load_basis(source)
st.caption(
    f"Cycle {cycle.label} · plan = {source}"
    + (f" (forecast run {run_id})" if source == "statistical forecast" else "")
    + " · regular capacity per month"
)
if warning := supply_service.unsourced_warning(load_unsourced(engine, url, cycle.id, plan_key)):
    st.warning(warning)

# ---- headline
peak = hot.iloc[0] if len(hot) else None
c1, c2, c3 = st.columns(3)
c1.metric("Resources", len(load["resource"].unique()))
c2.metric(
    "Bottleneck months",
    int((hot["status"] == "bottleneck").sum()),
    help=f"Resource-months above 100 % of regular capacity ({basis[0].lower() + basis[1:]})",
)
c3.metric(
    "Peak utilisation",
    ui.fmt_pct(peak["utilisation"]) if peak is not None else "–",
    help=f"{peak['resource']} in {ui.month_label(peak['period'])}" if peak is not None else None,
)

# ---- utilisation heatmap and table
st.subheader("Capacity utilisation")
st.markdown(f"**{basis}**: utilisation of regular capacity (%) per resource and month")
st.caption(
    "The demand's hours before any capacity limit, where it would load the resources. The Executive review and "
    f"the meeting pack also show the {supply_service.PLAN_LOAD_BASIS.lower()}, what the plan makes after "
    "Reconciliation."
)
table = supply_service.utilisation_table(load)
heat = go.Figure(
    go.Heatmap(
        z=table.to_numpy(),
        x=list(table.columns),
        y=list(table.index),
        zmin=0,
        zmax=150,
        colorscale=[  # green up to 90 %, amber 90–100 %, red above regular capacity
            [0.0, "#dcfce7"],
            [0.6, ui.COLORS["ok"]],
            [0.6, ui.COLORS["warning"]],
            [2 / 3, ui.COLORS["warning"]],
            [2 / 3, ui.COLORS["bad"]],
            [1.0, "#7f1d1d"],
        ],
        colorbar=dict(title="%"),
        hovertemplate="%{y} · %{x}: %{z:.1f} %<extra></extra>",
        texttemplate="%{z:.0f}",
    )
)
heat.update_yaxes(autorange="reversed")
st.plotly_chart(ui.base_layout(heat, height=80 + 45 * len(table)), width="stretch")
st.dataframe(
    table,
    width="stretch",
    column_config={col: st.column_config.NumberColumn(col, format="%.1f %%") for col in table.columns},
)

# ---- load vs capacity of one resource
resource_labels = {f"{r} — {n}": r for r, n in zip(load["resource"], load["name"], strict=True)}
chosen = resource_labels[st.selectbox("Resource", list(resource_labels), key="supply_resource")]
one = load[load["resource"] == chosen]
STATUS_COLOR = {"ok": ui.COLORS["forecast"], "warning": ui.COLORS["warning"], "bottleneck": ui.COLORS["bad"]}
bars = go.Figure()
bars.add_bar(
    x=one["period"], y=one["load_hours"], name="Load (h)", marker_color=one["status"].map(STATUS_COLOR).tolist()
)
bars.add_scatter(
    x=one["period"],
    y=one["capacity_hours"],
    name="Regular capacity",
    mode="lines",
    line=dict(color=ui.COLORS["capacity"], width=3),
)
bars.add_scatter(
    x=one["period"],
    y=one["capacity_hours"] + one["overtime_available_hours"],
    name="With overtime",
    mode="lines",
    line=dict(color=ui.COLORS["capacity"], dash="dash"),
)
st.markdown(f"**{chosen}: load vs capacity** — {basis[0].lower() + basis[1:]} (hours per month; amber above "
            "90 %, red above regular capacity)")
st.plotly_chart(ui.base_layout(bars, height=360), width="stretch")

# ---- bottlenecks
st.subheader("Bottlenecks")
st.caption(f"{basis}: the resource-months above 90 % of regular capacity.")
if hot.empty:
    st.success("No resource is above 90 % of regular capacity in the plan horizon.")
else:
    st.dataframe(
        hot.assign(month=hot["period"].dt.strftime("%Y-%m"), utilisation=hot["utilisation"] * 100)[
            [
                "resource",
                "name",
                "month",
                "utilisation",
                "load_hours",
                "capacity_hours",
                "overtime_hours",
                "shortfall_hours",
                "status",
                "top_skus",
            ]
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "utilisation": st.column_config.NumberColumn("Utilisation", format="%.1f %%"),
            "load_hours": st.column_config.NumberColumn("Load (h)", format="%,.0f"),
            "capacity_hours": st.column_config.NumberColumn("Capacity (h)", format="%,.0f"),
            "overtime_hours": st.column_config.NumberColumn("Overtime needed (h)", format="%,.0f"),
            "shortfall_hours": st.column_config.NumberColumn("Beyond overtime (h)", format="%,.0f"),
            "top_skus": st.column_config.TextColumn("Top SKUs loading it", width="large"),
        },
    )
    spots = {
        f"{r} · {ui.month_label(p)} ({100 * u:.0f} %)": (r, p)
        for r, p, u in zip(hot["resource"], hot["period"], hot["utilisation"], strict=True)
    }
    spot = st.selectbox("Drill into", list(spots), key="supply_bottleneck")
    hot_resource, hot_period = spots[spot]
    families, skus = load_drilldown(engine, url, cycle.id, plan_key, hot_resource, hot_period)
    left, right = st.columns([1, 2])
    left.markdown(f"**Families loading {hot_resource}**")
    left.dataframe(
        families.assign(share=families["share"] * 100),
        hide_index=True,
        width="stretch",
        column_config={
            "load_hours": st.column_config.NumberColumn("Load (h)", format="%,.0f"),
            "share": st.column_config.ProgressColumn("Share", format="%.0f %%", min_value=0, max_value=100),
        },
    )
    right.markdown(f"**SKUs loading {hot_resource} in {ui.month_label(hot_period)}**")
    right.dataframe(
        skus.assign(share=skus["share"] * 100),
        hide_index=True,
        width="stretch",
        column_config={
            "quantity": st.column_config.NumberColumn("Planned units", format="%,.0f"),
            "load_hours": st.column_config.NumberColumn("Load (h)", format="%.1f"),
            "share": st.column_config.NumberColumn("Share", format="%.1f %%"),
        },
    )

# ---- projected inventory
st.subheader("Projected inventory")
products = load_products(engine, url)
choices = {f"Family {f}": ("family", f) for f in sorted(products["family"].unique())}
choices |= {f"{s} — {n}": ("sku", s) for s, n in zip(products["sku"], products["name"], strict=True)}
level, item = choices[st.selectbox("Family or SKU", list(choices), key="supply_projection_item")]
proj = load_projection(engine, url, cycle.id, plan_key, level, item)
p1, p2, p3 = st.columns(3)
first_out = proj.loc[proj["stockout"], "period"].min()
p1.metric("First projected stock-out", ui.month_label(first_out) if pd.notna(first_out) else "none")
p2.metric("Months below safety stock", int(proj["below_safety_stock"].sum()))
p3.metric(
    "Months in excess",
    int(proj["excess"].sum()),
    help=f"Closing stock above the maximum (reorder point + order quantity) or beyond "
    f"{supply_service.EXCESS_COVER_DAYS:.0f} days of cover",
)
fig = go.Figure()
fig.add_bar(x=proj["period"], y=proj["demand"], name=f"Demand ({source})", marker_color="#93c5fd")
fig.add_bar(x=proj["period"], y=proj["receipts"], name="Open orders due", marker_color=ui.COLORS["ok"])
fig.add_bar(x=proj["period"], y=proj["shortage"], name="Lost sales", marker_color=ui.COLORS["bad"])
fig.add_scatter(
    x=proj["period"],
    y=proj["closing"],
    name="Closing stock",
    mode="lines+markers",
    line=dict(color=ui.COLORS["actual"], width=3),
)
fig.add_scatter(
    x=proj["period"],
    y=proj["reorder_point"],
    name="Reorder point",
    mode="lines",
    line=dict(color=ui.COLORS["warning"], dash="dash"),
)
fig.add_scatter(
    x=proj["period"],
    y=proj["safety_stock"],
    name="Safety stock",
    mode="lines",
    line=dict(color=ui.COLORS["bad"], dash="dot"),
)
st.markdown("**Units per month**: stock on hand and open orders against the plan, with no new orders placed")
st.plotly_chart(ui.base_layout(fig, height=380), width="stretch")
with st.expander("Projection table"):
    st.dataframe(
        proj.assign(month=proj["period"].dt.strftime("%Y-%m")).drop(columns=["period", "sku"]).set_index("month"),
        width="stretch",
        column_config={"days_of_cover": st.column_config.NumberColumn("Days of cover", format="%,.0f")},
    )

# ---- suppliers
st.subheader("Supplier performance")
t1, t2 = st.columns(2)
late_days = int(t1.number_input("On time up to … days late", 0, 30, 0, key="supply_late_days"))
short_pct = float(t2.number_input("In full down to … % short", 0.0, 50.0, 0.0, step=0.5, key="supply_short_pct"))
card = load_scorecard(engine, url, late_days, short_pct)
percent = {c: card[c] * 100 for c in ("on_time", "in_full", "otif")}
SCORE_COLUMNS = {
    "orders": st.column_config.NumberColumn("Deliveries"),
    "on_time": st.column_config.NumberColumn("On time", format="%.1f %%"),
    "in_full": st.column_config.NumberColumn("In full", format="%.1f %%"),
    "otif": st.column_config.ProgressColumn("OTIF", format="%.1f %%", min_value=0, max_value=100),
    "lt_mean_days": st.column_config.NumberColumn("Lead time mean (d)", format="%.1f"),
    "lt_std_days": st.column_config.NumberColumn("Lead time σ (d)", format="%.1f"),
    "lt_p50": st.column_config.NumberColumn("p50 (d)", format="%,.0f"),
    "lt_p90": st.column_config.NumberColumn("p90 (d)", format="%,.0f"),
}
st.dataframe(card.assign(**percent), hide_index=True, width="stretch", column_config=SCORE_COLUMNS)
st.caption(
    "Closed deliveries only; on time = received on or before the promised date (plus the tolerance), "
    "in full = the ordered quantity (less the tolerance). The lead-time σ feeds the safety stocks."
)
trend = load_trend(engine, url, late_days, short_pct)
trend_fig = go.Figure()
for supplier_code, part in trend.groupby("supplier"):
    trend_fig.add_scatter(x=part["period"], y=part["otif"] * 100, name=str(supplier_code), mode="lines+markers")
trend_fig.update_yaxes(title="OTIF %", range=[0, 105])
st.markdown("**Reliability trend**: OTIF by quarter of receipt")
st.plotly_chart(ui.base_layout(trend_fig, height=320), width="stretch", key="supply_trend_chart")

# ---- one supplier's items
st.markdown("**Per supplier item**: OTIF and lead time of one supplier's items, by month of receipt")
s1, s2 = st.columns(2)
supplier_labels = {f"{code} — {name}": code for code, name in zip(card["supplier"], card["name"], strict=True)}
if not supplier_labels:
    st.info("No closed deliveries in the receipt history yet.")
else:
    picked = s1.selectbox("Supplier (worst OTIF first)", list(supplier_labels), key="supply_item_supplier")
    chosen_supplier = supplier_labels[picked]
    items = load_item_scorecard(engine, url, late_days, short_pct, chosen_supplier)
    item_labels: dict[str, str | None] = {"All its items": None}
    item_labels |= {f"{s} — {n}": s for s, n in zip(items["sku"], items["name"], strict=True)}
    chosen_item = item_labels[s2.selectbox("Item", list(item_labels), key=f"supply_item_sku_{chosen_supplier}")]
    st.dataframe(
        items.assign(**{c: items[c] * 100 for c in ("on_time", "in_full", "otif")}),
        hide_index=True,
        width="stretch",
        column_config=SCORE_COLUMNS,
    )
    item_trend = load_item_trend(engine, url, chosen_supplier, chosen_item, late_days, short_pct)
    if chosen_item is None:
        order = list(items["sku"])
        otif_wide = suppliers_service.item_trend_table(item_trend, "otif", order)
        lead_wide = suppliers_service.item_trend_table(item_trend, "lt_mean_days", order)
        st.plotly_chart(item_heatmaps(otif_wide, lead_wide), width="stretch", key="supply_item_heatmap")
        st.caption("Items worst OTIF first; a blank cell is a month without a delivery of the item.")
    else:
        st.plotly_chart(item_lines(item_trend), width="stretch", key="supply_item_trend_chart")
    with st.expander("Monthly figures"):
        st.dataframe(
            item_trend.assign(month=item_trend["period"].dt.strftime("%Y-%m"), otif=item_trend["otif"] * 100)[
                ["sku", "name", "month", "orders", "otif", "lt_mean_days", "master_lead_time_days"]
            ],
            hide_index=True,
            width="stretch",
            column_config={
                "orders": st.column_config.NumberColumn("Deliveries"),
                "otif": st.column_config.NumberColumn("OTIF", format="%.1f %%"),
                "lt_mean_days": st.column_config.NumberColumn("Lead time mean (d)", format="%.1f"),
                "master_lead_time_days": st.column_config.NumberColumn("Master lead time (d)", format="%,.0f"),
            },
        )
with st.expander("All supplier items (worst OTIF first)"):
    every_item = load_item_scorecard(engine, url, late_days, short_pct, None)
    st.dataframe(
        every_item.assign(**{c: every_item[c] * 100 for c in ("on_time", "in_full", "otif")}),
        hide_index=True,
        width="stretch",
        column_config=SCORE_COLUMNS,
    )

# ---- replenishment proposals
st.subheader("Replenishment proposals")
proposals = load_proposals(engine, url, cycle.id, plan_key)
switches = proposals[proposals["switch_recommended"]]
q1, q2, q3 = st.columns(3)
q1.metric("Proposed orders", len(proposals))
q2.metric("Arriving after a stock-out", int(proposals["arrives_late"].sum()))
q3.metric("Switch to alternate supplier", len(switches))
st.dataframe(
    proposals.drop(columns=["trigger_period", "stockout_period"]).assign(
        order_date=proposals["order_date"].dt.date,
        due_date=proposals["due_date"].dt.date,
        supplier_otif=proposals["supplier_otif"] * 100,
        alternate_otif=proposals["alternate_otif"] * 100,
    ),
    hide_index=True,
    width="stretch",
    column_config={
        "projected_closing": st.column_config.NumberColumn("Projected stock", format="%,.0f"),
        "reorder_point": st.column_config.NumberColumn("Reorder point", format="%,.0f"),
        "quantity": st.column_config.NumberColumn("Order qty", format="%,.0f"),
        "lead_time_days": st.column_config.NumberColumn("Lead time (d)", format="%,.0f"),
        "order_value": st.column_config.NumberColumn("Value", format="%,.0f"),
        "supplier_otif": st.column_config.NumberColumn("Supplier OTIF", format="%.0f %%"),
        "alternate_otif": st.column_config.NumberColumn("Alternate OTIF", format="%.0f %%"),
        "alternate_lead_time_days": st.column_config.NumberColumn("Alt. lead time (d)", format="%,.0f"),
        "lead_time_diff_days": st.column_config.NumberColumn("Δ lead time (d)", format="%+.0f"),
        "unit_cost_diff": st.column_config.NumberColumn("Δ unit cost", format="%+.2f"),
        "cost_diff": st.column_config.NumberColumn("Δ order cost", format="%+.0f"),
        "reason": st.column_config.TextColumn("Why flagged", width="large"),
    },
)
st.download_button(
    "Download proposals (CSV)",
    proposals.to_csv(index=False).encode("utf-8"),
    file_name=f"replenishment_proposals_{cycle.label}.csv",
    mime="text/csv",
    key="supply_download_proposals",
)
st.caption(
    "An order is proposed when projected stock (on hand + open orders − plan) falls below the reorder point; "
    f"the alternate supplier is shown when the preferred one's OTIF is below {100 * suppliers_service.OTIF_TARGET:.0f} %, "
    "it delivers short, or the order would arrive after the projected stock-out."
)
