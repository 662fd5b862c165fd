"""Supply review: the capacity headline, then four tabs of which only the open one is drawn: capacity load of the
cycle's plan with bottlenecks and drill-down; projected inventory with safety stock and reorder point; supplier
performance and trend (per supplier, and per item of one supplier by month); replenishment proposals
(downloadable)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sop_core import formatting
from sop_core.services import inventory_policy as policy_service
from sop_core.services import suppliers as suppliers_service
from sop_core.services import supply as supply_service
from sop_core.services import supply_review
from sop_core.services.suppliers import SupplierItems, SupplierReview
from sop_core.text_checks import spreadsheet_safe
from sop_core.units import MAX_CHART_ROWS
from views import state, supply_charts, ui

st.title("Supply review")

engine = state.get_engine()
cycle = state.current_cycle()
url = engine.url.render_as_string(hide_password=True)


@st.cache_data(ttl=600, show_spinner="Loading the supply review…")
def load_review(_engine, db_url: str, cycle_id: int, label: str, plan_key: str) -> supply_review.SupplyReview:  # noqa: ANN001, ARG001
    return supply_review.review(_engine, cycle_id, label)  # plan_key keys the cache: a new plan reloads


@st.cache_data(ttl=600, show_spinner="Loading the drill-down…")
def load_drilldown(_engine, db_url: str, cycle_id: int, plan_key: str, resource: str, period: pd.Timestamp):  # noqa: ANN001, ANN201, ARG001
    return supply_service.bottleneck_drilldown(_engine, cycle_id, resource, period)


@st.cache_data(ttl=600, show_spinner="Projecting inventory…")
def load_projection(_engine, db_url: str, cycle_id: int, plan_key: str, level: str, item: str) -> pd.DataFrame:  # noqa: ANN001, ARG001
    if level == "family":
        return policy_service.projection_with_levels(_engine, cycle_id, family=item)
    return policy_service.projection_with_levels(_engine, cycle_id, sku=item)


@st.cache_data(ttl=600, show_spinner="Scoring suppliers…")
def load_suppliers(_engine, db_url: str, late_days: int, short_pct: float) -> SupplierReview:  # noqa: ANN001, ARG001
    return suppliers_service.supplier_review(
        _engine, on_time_tolerance_days=late_days, in_full_tolerance=short_pct / 100
    )


@st.cache_data(ttl=600, show_spinner="Tracing the supplier's items…")
def load_items(_engine, db_url: str, supplier: str, late_days: int, short_pct: float) -> SupplierItems:  # noqa: ANN001, ARG001
    return suppliers_service.supplier_items(
        _engine, supplier, on_time_tolerance_days=late_days, in_full_tolerance=short_pct / 100
    )


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


def in_percent(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{c: frame[c] * 100 for c in ("on_time", "in_full", "otif")})


try:
    plan_key = supply_review.review_key(engine, cycle.id, cycle.label)
    review = load_review(engine, url, cycle.id, cycle.label, plan_key)
except supply_service.SupplyDataError as err:
    st.error(ui.md(err))
    st.stop()
load, hot, source, basis = review.load, review.bottlenecks, review.source, review.basis
st.caption(
    f"Cycle {cycle.label} · plan = {source}"
    + (f" (forecast run {review.run_id})" if source == "statistical forecast" else "")
    + " · regular capacity per month"
)
if review.unsourced_warning:
    st.warning(ui.md(review.unsourced_warning))

# ---- headline
peak = hot.iloc[0] if len(hot) else None
c1, c2, c3 = st.columns(3)
c1.metric("Resources", len(load["resource"].unique()), help="Resources with a routing load in the plan's horizon")
c2.metric(
    "Bottleneck months",
    int((hot["status"] == "bottleneck").sum()),
    help=f"Resource-months above 100 % of regular capacity ({basis[0].lower() + basis[1:]})",
)
c3.metric(
    "Peak utilisation",
    formatting.percent(peak["utilisation"]) if peak is not None else "–",
    help=f"Highest load ÷ regular capacity of a resource-month: {ui.md(peak['resource'])} in "
    f"{formatting.month(peak['period'])}" if peak is not None else "Highest load ÷ regular capacity: no load",
)


def capacity_section() -> None:
    """Utilisation heatmap and table, one resource's load vs capacity, bottlenecks with drill-down."""
    # ---- utilisation heatmap and table
    st.subheader("Capacity utilisation")
    st.markdown(f"**{basis}**: utilisation of regular capacity (%) per resource and month")
    st.caption(
        "The demand's hours before any capacity limit, where it would load the resources. The Executive review and "
        f"the meeting pack also show the {supply_service.PLAN_LOAD_BASIS.lower()}, what the plan makes after "
        "Reconciliation."
    )
    table = review.utilisation
    busiest = supply_charts.busiest_rows(table, MAX_CHART_ROWS)
    if len(busiest) < len(table):
        st.caption(f"The chart shows the {len(busiest)} busiest of {len(table):,} resources (highest month first); "
                   "the table below has them all.")
    st.plotly_chart(supply_charts.utilisation_heatmap(busiest), width="stretch")
    ui.dataframe(
        table,
        width="stretch",
        column_config={col: st.column_config.NumberColumn(format="%.1f %%") for col in table.columns},
    )

    # ---- load vs capacity of one resource
    resource_labels = {f"{r} — {n}": r for r, n in zip(load["resource"], load["name"], strict=True)}
    chosen = resource_labels[st.selectbox("Resource", list(resource_labels), key="supply_resource", persist_state="page")]
    st.markdown(f"**{ui.md(chosen)}: load vs capacity** — {basis[0].lower() + basis[1:]} (hours per month; amber above "
                "90 %, red above regular capacity)")  # fmt: skip
    st.plotly_chart(supply_charts.load_bars(load[load["resource"] == chosen]), width="stretch")

    # ---- bottlenecks
    st.subheader("Bottlenecks")
    st.caption(f"{basis}: the resource-months above 90 % of regular capacity.")
    if hot.empty:
        st.success("No resource is above 90 % of regular capacity in the plan horizon.")
    else:
        ui.dataframe(
            hot.assign(utilisation=hot["utilisation"] * 100)[
                ["resource", "name", "period", "utilisation", "load_hours", "capacity_hours", "overtime_hours",
                 "shortfall_hours", "status", "top_skus"]
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
        )  # fmt: skip
        spots = {
            f"{r} · {formatting.month(p)} ({100 * u:.0f} %)": (r, p)
            for r, p, u in zip(hot["resource"], hot["period"], hot["utilisation"], strict=True)
        }
        hot_resource, hot_period = spots[st.selectbox("Drill into", list(spots), key="supply_bottleneck", persist_state="page")]
        families, skus = load_drilldown(engine, url, cycle.id, plan_key, hot_resource, hot_period)
        left, right = st.columns([1, 2])
        left.markdown(f"**Families loading {ui.md(hot_resource)}**")
        ui.dataframe(
            families.assign(share=families["share"] * 100),
            left,
            hide_index=True,
            width="stretch",
            column_config={
                "load_hours": st.column_config.NumberColumn("Load (h)", format="%,.0f"),
                "share": st.column_config.ProgressColumn("Share", format="%.1f %%", min_value=0, max_value=100),
            },
        )
        right.markdown(f"**SKUs loading {ui.md(hot_resource)} in {formatting.month(hot_period)}**")
        ui.dataframe(
            skus.assign(share=skus["share"] * 100),
            right,
            hide_index=True,
            width="stretch",
            column_config={
                "quantity": st.column_config.NumberColumn("Planned units", format="%,.0f"),
                "load_hours": st.column_config.NumberColumn("Load (h)", format="%.1f"),
                "share": st.column_config.NumberColumn("Share", format="%.1f %%"),
            },
        )


def projection_section() -> None:
    """One family's or SKU's projected inventory against its safety stock and reorder point."""
    # ---- projected inventory
    st.subheader("Projected inventory")
    products = review.products
    families = {f"Family {f}": ("family", f) for f in sorted(products["family"].unique())}
    sku_choices = {f"{s} — {n}": ("sku", s) for s, n in zip(products["sku"], products["name"], strict=True)}
    picked_item = ui.search_picker("Family or SKU", sku_choices, key="supply_projection_item", fixed=families)
    level, item = (families | sku_choices)[picked_item or next(iter(families))]
    proj = load_projection(engine, url, cycle.id, plan_key, level, item)
    p1, p2, p3 = st.columns(3)
    first_out = proj.loc[proj["stockout"], "period"].min()
    p1.metric("First projected stock-out", formatting.month(first_out) if pd.notna(first_out) else "none",
              help="First month whose projected closing stock (on hand + open orders − demand) cannot serve demand")
    p2.metric("Months below safety stock", int(proj["below_safety_stock"].sum()),
              help="Months whose projected closing stock is below the safety stock")
    p3.metric(
        "Months in excess",
        int(proj["excess"].sum()),
        help=f"Closing stock above the maximum (reorder point + order quantity) or beyond "
        f"{supply_service.EXCESS_COVER_DAYS:.0f} days of cover",
    )
    st.markdown("**Units per month**: stock on hand and open orders against the plan, with no new orders placed")
    st.plotly_chart(supply_charts.projection_figure(proj, source), width="stretch")
    with st.expander("Projection table"):
        ui.dataframe(
            proj.assign(month=proj["period"].map(formatting.month)).drop(columns=["period", "sku"]).set_index("month"),
            width="stretch",
            column_config={"days_of_cover": st.column_config.NumberColumn("Days of cover", format="%,.0f")},
        )


def suppliers_section() -> None:
    """Supplier scorecard, reliability trend, one supplier's items, every supplier item."""
    # ---- suppliers
    st.subheader("Supplier performance")
    t1, t2 = st.columns(2)
    late_days = int(t1.number_input("On time up to … days late", 0, 30, 0, key="supply_late_days",
                                    persist_state="page"))
    short_pct = float(t2.number_input("In full down to … % short", 0.0, 50.0, 0.0, step=0.5, key="supply_short_pct",
                                      persist_state="page"))
    suppliers = load_suppliers(engine, url, late_days, short_pct)
    card = suppliers.card
    ui.dataframe(in_percent(card), hide_index=True, width="stretch", column_config=SCORE_COLUMNS)
    st.caption(
        "Closed deliveries only; on time = received on or before the promised date (plus the tolerance), "
        "in full = the ordered quantity (less the tolerance). The lead-time σ feeds the safety stocks."
    )
    trend_lines = suppliers_service.trend_lines(suppliers.trend, card["supplier"].tolist())
    shown = trend_lines.loc[trend_lines["supplier"] != suppliers_service.ALL_SUPPLIERS, "supplier"].nunique()
    st.markdown(
        "**Reliability trend**: OTIF by quarter of receipt"
        + (f" of the {formatting.plural(shown, 'supplier')} with the lowest OTIF" if shown < card["supplier"].nunique()
           else "")
        + f", and of {suppliers_service.ALL_SUPPLIERS.lower()} (dashed: every delivery counts once)"
    )
    st.plotly_chart(supply_charts.supplier_trend(trend_lines), width="stretch", key="supply_trend_chart")

    # ---- one supplier's items
    st.markdown("**Per supplier item**: OTIF and lead time of one supplier's items, by month of receipt")
    s1, s2 = st.columns(2)
    supplier_labels = {f"{code} — {name}": code for code, name in zip(card["supplier"], card["name"], strict=True)}
    if not supplier_labels:
        st.info("No closed deliveries in the receipt history yet.")
    else:
        picked = s1.selectbox("Supplier (worst OTIF first)", list(supplier_labels), key="supply_item_supplier",
                              persist_state="page")
        chosen_supplier = supplier_labels[picked]
        one_supplier = load_items(engine, url, chosen_supplier, late_days, short_pct)
        items = one_supplier.items
        item_labels = {f"{s} — {n}": s for s, n in zip(items["sku"], items["name"], strict=True)}
        picked_sku = ui.search_picker("Item", item_labels, key=f"supply_item_sku_{chosen_supplier}", where=s2,
                                      fixed=["All its items"])
        chosen_item = item_labels.get(picked_sku) if picked_sku else None
        ui.dataframe(in_percent(items), hide_index=True, width="stretch", column_config=SCORE_COLUMNS)
        item_trend = one_supplier.trend
        if chosen_item is None:
            otif_rows = ui.capped(one_supplier.otif_table)
            heatmaps = supply_charts.item_heatmaps(otif_rows, one_supplier.lead_table.loc[otif_rows.index])
            st.plotly_chart(heatmaps, width="stretch", key="supply_item_heatmap")
            st.caption("Items worst OTIF first; a blank cell is a month without a delivery of the item.")
        else:
            item_trend = item_trend[item_trend["sku"] == chosen_item]
            st.plotly_chart(supply_charts.item_lines(item_trend), width="stretch", key="supply_item_trend_chart")
        with st.expander("Monthly figures"):
            ui.dataframe(
                item_trend.assign(otif=item_trend["otif"] * 100)[
                    ["sku", "name", "period", "orders", "otif", "lt_mean_days", "master_lead_time_days"]
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
        ui.dataframe(in_percent(suppliers.every_item), hide_index=True, width="stretch", column_config=SCORE_COLUMNS)


def replenishment_section() -> None:
    """Replenishment proposals, with the alternate supplier where it would serve better."""
    # ---- replenishment proposals
    st.subheader("Replenishment proposals")
    proposals = review.proposals
    q1, q2, q3 = st.columns(3)
    q1.metric("Proposed orders", len(proposals),
              help="Orders placed in the first month the projected stock falls below the reorder point")
    q2.metric("Arriving after a stock-out", int(proposals["arrives_late"].sum()),
              help="Proposed orders due after the start of the first projected stock-out month")
    q3.metric("Switch to alternate supplier", int(proposals["switch_recommended"].sum()),
              help="Proposed orders whose alternate supplier has the higher OTIF and, for a late order, arrives sooner")
    ui.dataframe(
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
            "unit_cost": st.column_config.NumberColumn(format="%,.2f"),
            "supplier_otif": st.column_config.NumberColumn("Supplier OTIF", format="%.1f %%"),
            "alternate_otif": st.column_config.NumberColumn("Alternate OTIF", format="%.1f %%"),
            "alternate_lead_time_days": st.column_config.NumberColumn("Alt. lead time (d)", format="%,.0f"),
            "lead_time_diff_days": st.column_config.NumberColumn("Δ lead time (d)", format="%+.0f"),
            "unit_cost_diff": st.column_config.NumberColumn("Δ unit cost", format="%+.2f"),
            "cost_diff": st.column_config.NumberColumn("Δ order cost", format="%+.0f"),
            "reason": st.column_config.TextColumn("Why flagged", width="large"),
        },
    )
    st.download_button(
        "Download proposals (CSV)",
        lambda: spreadsheet_safe(proposals).to_csv(index=False).encode("utf-8"),  # built when asked for
        file_name=f"replenishment_proposals_{cycle.label}.csv",
        mime="text/csv",
        key="supply_download_proposals",
    )
    st.caption(
        "An order is proposed when projected stock (on hand + open orders − plan) falls below the reorder point; "
        f"the alternate supplier is shown when the preferred one's OTIF is below "
        f"{100 * suppliers_service.OTIF_TARGET:.0f} %, it delivers short, or the order would arrive after the projected "
        "stock-out."
    )


# ---- one section at a time (the open tab is in the address: ?supply_section=Suppliers)
SECTIONS = {
    "Capacity": capacity_section,
    "Projected inventory": projection_section,
    "Suppliers": suppliers_section,
    "Replenishment": replenishment_section,
}
ui.section_tabs(SECTIONS, key="supply_section")
