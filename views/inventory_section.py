"""Inventory policy section (not a page): ABC/XYZ matrix with cycle service level targets, safety stock / reorder
point / EOQ table, the inventory needed per cycle service level (frontier) and the policy backtest per fill-rate
target. Drawn by ``render``.

Two service measures, never a bare "service level" on screen: the **cycle service level** (CSL, the probability of
no stock-out per replenishment cycle) sets the safety stock; the **fill rate** (the share of demand served from
stock) is what the backtest aims at and measures."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from sop_core import formatting
from sop_core.services import inventory_policy as policy_service
from sop_core.services import policy_backtest as backtest_service
from sop_core.services import supply as supply_service
from sop_core.services.cycle import CycleInfo
from views import ui

SEGMENT_COLORS = {"A": ui.COLORS["forecast"], "B": ui.COLORS["scenario"], "C": "#64748b"}


@st.cache_data(ttl=600, show_spinner="Computing safety stocks and reorder points…")
def load_policy(_engine, db_url: str, cycle_id: int, targets: str) -> policy_service.PolicyView:  # noqa: ANN001, ARG001
    return policy_service.policy_view(_engine, cycle_id, targets)


@st.cache_data(ttl=600, show_spinner="Replaying the sales history under the policy…")
def load_evaluation(_engine, db_url: str, cycle_id: int) -> backtest_service.PolicyEvaluation:  # noqa: ANN001, ARG001
    return backtest_service.evaluate_policy(_engine, cycle_id)


def _matrix(view: policy_service.PolicyView) -> None:
    counts, targets = view.abc_xyz_counts, view.cell_targets
    text = [[f"{counts.loc[a, x]} SKUs<br>CSL target {100 * targets.loc[a, x]:.0f} %" for x in "XYZ"] for a in "ABC"]
    fig = go.Figure(
        go.Heatmap(
            z=counts.to_numpy(),
            x=["X (steady)", "Y (variable)", "Z (erratic)"],
            y=["A (80 % of value)", "B (next 15 %)", "C (last 5 %)"],
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hovertemplate="%{y} · %{x}: %{z} SKUs<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    st.plotly_chart(ui.base_layout(fig, height=300), width="stretch")
    ui.dataframe(counts, width="stretch")
    st.caption(
        "ABC by annual value (12 months × unit cost; A ≤ 80 %, B ≤ 95 % cumulative). XYZ by the coefficient of "
        "variation of monthly demand with the sample standard deviation (n − 1): X < 0.5, Y < 1.0, Z ≥ 1.0. "
        "The default cycle service level (CSL) target of each cell is shown in it."
    )


def render(engine, cycle: CycleInfo) -> None:  # noqa: ANN001
    """Draw the inventory policy section for ``cycle`` (ABC/XYZ, safety stock, reorder points, frontier)."""
    url = engine.url.render_as_string(hide_password=True)
    st.subheader("Inventory policy")
    basis = st.radio(
        "Cycle service level targets",
        ["product", "matrix"],
        format_func={"product": "Per product (master data)", "matrix": "Default per ABC/XYZ cell"}.get,
        horizontal=True,
        key="inv_targets",
        persist_state="page",  # kept while another tab of the page is open
    )
    try:
        view = load_policy(engine, url, cycle.id, basis)
    except supply_service.SupplyDataError as err:
        st.error(ui.md(err))
        return
    policy = view.policy
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Safety stock value", formatting.money(policy["safety_stock_value"].sum()),
              help="Σ safety stock × unit cost over the SKUs below, for the cycle service level targets chosen above")
    c2.metric(
        "Below reorder point", int(policy["below_reorder_point"].sum()), help="On hand + on order < reorder point"
    )
    c3.metric(
        "Intermittent items", int(policy["intermittent"].sum()), help="Empirical safety stock (no normal assumption)"
    )
    c4.metric("Measured lead times", int(policy["lt_source"].str.startswith("measured").sum()),
              help="SKUs whose lead time comes from their suppliers' receipts; the others use the master lead time")

    st.markdown("**ABC/XYZ matrix**")
    _matrix(view)

    st.markdown("**Safety stock, reorder point and order quantity per SKU**")
    ui.dataframe(
        policy[
            [
                "sku",
                "name",
                "class",
                "method",
                "cycle_service_level",
                "demand_mean",
                "demand_std",
                "supplier",
                "lead_time_days",
                "lead_time_std_days",
                "lt_source",
                "safety_stock",
                "reorder_point",
                "eoq",
                "moq",
                "order_qty",
                "on_hand",
                "on_order",
                "below_reorder_point",
            ]
        ].assign(cycle_service_level=policy["cycle_service_level"] * 100),
        hide_index=True,
        width="stretch",
        column_config={
            "cycle_service_level": st.column_config.NumberColumn(
                "Cycle service level (target)", format="%.1f %%", help="Probability of no stock-out per cycle: sets z"
            ),
            "demand_mean": st.column_config.NumberColumn("d̄ / month", format="%.1f"),
            "demand_std": st.column_config.NumberColumn("σ_d / month", format="%.1f"),
            "lead_time_days": st.column_config.NumberColumn("L (days)", format="%.1f"),
            "lead_time_std_days": st.column_config.NumberColumn("σ_L (days)", format="%.1f"),
            "lt_source": st.column_config.TextColumn("Lead time from"),
            "safety_stock": st.column_config.NumberColumn("Safety stock", format="%,.0f"),
            "reorder_point": st.column_config.NumberColumn("Reorder point", format="%,.0f"),
            "eoq": st.column_config.NumberColumn("EOQ", format="%,.0f"),
            "order_qty": st.column_config.NumberColumn("Order qty (≥ MOQ)", format="%,.0f"),
        },  # fmt: skip
    )
    st.caption(
        "SS = z·√((L+R)·σ_d² + d̄²·σ_L²) with z = Φ⁻¹(cycle service level), R = 1 month, σ_L measured from "
        "receipts; ROP = d̄·(L+R) + SS; "
        "EOQ = √(2DS/H), raised to the MOQ. Intermittent items (average demand interval > 1.32 months) use the "
        "empirical quantile of demand over L + R instead of the normal z."
    )

    st.markdown("**Cycle service level vs inventory** (inventory value needed per ABC class)")
    evaluation = load_evaluation(engine, url, cycle.id)
    frontier = evaluation.frontier
    fig = go.Figure()
    for seg, part in frontier.groupby("segment"):
        fig.add_scatter(
            x=part["cycle_service_level"] * 100,
            y=part["inventory_value"],
            name=f"Class {seg}",
            mode="lines+markers",
            line=dict(color=SEGMENT_COLORS.get(str(seg), "#334155")),
        )
    fig.update_xaxes(title="Cycle service level, target (%)")
    fig.update_yaxes(title="Average inventory value")
    st.plotly_chart(ui.base_layout(fig, height=360), width="stretch")
    st.caption(
        "Safety stock at each cycle service level target (normal formula; empirical quantile for intermittent "
        "items) plus half the order quantity, valued at unit cost."
    )
    wide = frontier.pivot(index="cycle_service_level", columns="segment", values="inventory_value")
    wide.index = pd.Index([f"{100 * v:.1f} %" for v in wide.index], name="Cycle service level (target)")
    ui.dataframe(
        wide,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(f"Class {c}", format="%,.0f") for c in wide.columns},
    )

    st.markdown(
        "**Policy backtest per fill-rate target** (the sales history replayed month by month, against the naive "
        "cover rule)"
    )
    backtest = evaluation.backtest
    ui.dataframe(
        backtest.assign(
            fill_rate_target=backtest["fill_rate_target"] * 100,
            fill_rate=backtest["fill_rate"] * 100,
            csl=backtest["csl"] * 100,
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "segment": st.column_config.TextColumn("ABC class"),
            "method": st.column_config.TextColumn("Safety stock from", help="pooled: the class's empirical forecast "
                                                  "errors, no normal assumption"),
            "lead_time_months": st.column_config.NumberColumn("Lead time (months)"),
            "orders": st.column_config.NumberColumn("Orders"),
            "items": st.column_config.NumberColumn("Items replayed"),
            "new_items": st.column_config.NumberColumn("New items left out", help="First sold after the first 12 "
                                                       "months of the replayed history: too little to replay"),
            "fill_rate_target": st.column_config.NumberColumn("Fill-rate target", format="%.1f %%"),
            "fill_rate": st.column_config.NumberColumn("Fill rate (achieved)", format="%.1f %%",
                                                       help="Units served from stock at once ÷ units demanded"),
            "csl": st.column_config.NumberColumn("Cycle service level (achieved)", format="%.1f %%",
                                                 help="Months with demand in which no unit was short ÷ months "
                                                 "with demand"),
            "avg_inventory_value": st.column_config.NumberColumn("Avg inventory", format="%,.0f"),
            "naive_cover_months": st.column_config.NumberColumn("Naive cover k (months)", format="%.2f"),
            "naive_inventory_value": st.column_config.NumberColumn("Naive inventory, same fill rate (achieved)",
                                                                   format="%,.0f"),
            "inventory_ratio": st.column_config.NumberColumn("Policy / naive", format="%.2f"),
        },
    )
    st.caption(
        "Up to 48 months of sales replayed, the first 24 as warm-up. "
        "Periodic review (R = 1 month), order-up-to S = seasonal forecast with trend over L + R (a mean forecast "
        "for mostly intermittent classes) + safety from the class's pooled empirical forecast errors (no normal "
        "assumption), using only data before each month; naive rule S = k × mean demand with k tuned to the same "
        "achieved fill rate. The safety stock learns from the errors of the warm-up's forecasts; those made from "
        "little history (under 24 months: a mean forecast, without the season) miss by more than today's forecasts "
        "do, so with a short history the achieved fill rate runs above its target. A fill-rate target is not a cycle "
        "service level: the backtest aims at the share of units served, the safety stock above at the share of "
        "cycles without a stock-out."
    )
