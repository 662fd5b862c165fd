"""Sections of the Executive review page (not a page), each drawn from the cycle's executive review
(:class:`sop_core.services.executive.ExecutiveReview`)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from sop_core import formatting
from sop_core.services import chart_marks
from sop_core.services import supply as supply_service
from sop_core.services.executive import ExecutiveReview
from sop_core.services.plan_changes import DiffResult
from views import ui

MEASURES = {
    "revenue": "Revenue",
    "margin": "Margin",
    "demand_qty": "Demand (units)",
    "inventory_qty": "Inventory (units)",
}


def plan_caption(review: ExecutiveReview) -> None:
    """Which plan the figures show (or that it is the baseline), and the unsourced-SKU warning."""
    head = review.headline
    horizon = f"{formatting.month(head['first_period'])} – {formatting.month(head['last_period'])}"
    state_label = review.state_label
    if head["source"] == "proposed":
        st.caption(
            f"Proposed plan **{head['scenario_name']}** · plan version {head['plan_version']} · {horizon} · "
            f"state **{state_label}**" + (" · frozen" if head["frozen"] else "")
        )
    else:
        st.warning(
            f"No proposed plan yet for cycle {review.label}: the figures show the baseline. "
            "Promote a scenario on the Reconciliation page."
        )
    if review.unsourced:
        st.warning(ui.md(review.unsourced))


def headline_cards(review: ExecutiveReview) -> None:
    """The headline metric cards and their comparisons with the budget and the last signed plan."""
    head = review.headline
    has_budget = head["budget_revenue"] is not None
    has_last = head["last_plan_label"] is not None
    cols = st.columns(5)
    cols[0].metric(
        "Revenue",
        formatting.money(head["revenue"]),
        formatting.money(head["budget_gap"]) if has_budget else None,
        delta_description="vs budget" if has_budget else None,
        help=(
            f"Plan {formatting.money(head['plan_revenue_budget_months'])} vs budget "
            f"{formatting.money(head['budget_revenue'])} over the {head['budget_months']} budgeted months of the "
            "horizon"
            if has_budget
            else "No budget for this horizon"
        ),
    )
    has_margin_budget = head["budget_margin"] is not None
    cols[1].metric(
        "Margin",
        formatting.money(head["margin"]),
        # the same comparison as the revenue card (budget) where there is one; the other is in the caption below
        formatting.money(head["margin_vs_budget"]) if has_margin_budget
        else formatting.money(head["margin_vs_last_plan"]) if has_last else None,
        delta_description="vs budget" if has_margin_budget else "vs last plan" if has_last else None,
        help=f"{formatting.percent(head['margin_rate'])} of revenue, after holding cost, overtime and "
        "alternate-supplier premium"
        + (f"; vs last plan {head['last_plan_label']} over {head['last_plan_margin_basis']}" if has_last else "")
        + (
            f"; plan {formatting.money(head['plan_margin_budget_months'])} vs margin budget "
            f"{formatting.money(head['budget_margin'])} over the {head['margin_budget_months']} budgeted months"
            if has_margin_budget
            else "; no margin budget for this horizon"
        ),
    )
    cols[2].metric("Fill rate (plan)", formatting.percent(head["fill_rate"]),
                   help="Served ÷ demand of the plan over the horizon")
    cols[3].metric("Inventory value", formatting.money(head["inventory_value_end"]), help="At cost, end of the horizon")
    cols[4].metric(
        "Capacity risks",
        f"{head['capacity_risks']}",
        help=f"Resource-months above regular capacity in the {review.plan_load_basis.lower()} (rough-cut check; "
        "the capacity table below)",
    )
    if has_budget:
        margin_part = (
            f"margin {formatting.money(head['margin_vs_budget'])} (plan line margin "
            f"{formatting.money(head['plan_margin_budget_months'])} vs {formatting.money(head['budget_margin'])})"
            if has_margin_budget
            else "no margin budget"
        )
        st.caption(
            f"Vs budget over the {head['budget_months']} budgeted months: revenue "
            f"{formatting.money(head['budget_gap'])} (plan {formatting.money(head['plan_revenue_budget_months'])} "
            f"vs {formatting.money(head['budget_revenue'])}), {margin_part}."
        )
    if has_last:
        split = (
            f" — {formatting.money(head['revenue_vs_last_plan_new_actuals'])} new actuals and "
            f"{formatting.money(head['revenue_vs_last_plan_forecast_months'])} over the months both plans forecast"
            if head["revenue_vs_last_plan_new_actuals"]
            else ""
        )
        st.caption(
            f"Vs last plan {head['last_plan_label']}: revenue {formatting.money(head['revenue_vs_last_plan'])} over "
            f"{head['last_plan_revenue_basis']}, the total of the plan diff below{split}; margin "
            f"{formatting.money(head['margin_vs_last_plan'])} over {head['last_plan_margin_basis']} "
            f"({review.line_margin_basis})."
        )


def risks(review: ExecutiveReview) -> None:
    """Top risks and opportunities, side by side."""
    c_risk, c_opp = st.columns(2)
    with c_risk:
        st.markdown("**Risks**")
        if review.risks.empty:
            st.caption("No risk found.")
        for r in review.risks.itertuples(index=False):
            st.markdown(f"- {ui.md(r.text)}" if r.kind == "capacity" else f"- {ui.md(r.text)}: {formatting.money(r.value)}")
        if (review.risks["kind"] == "capacity").any():
            st.caption(f"Capacity risks: {review.plan_load_basis.lower()}.")
    with c_opp:
        st.markdown("**Opportunities**")
        if review.opportunities.empty:
            st.caption("No opportunity found.")
        for r in review.opportunities.itertuples(index=False):
            st.markdown(f"- {ui.md(r.text)}: +{formatting.money(r.value)}")


def capacity(review: ExecutiveReview) -> None:
    """Utilisation of regular capacity per resource and month, of the plan's load or the demand's."""
    bases = {"plan": review.plan_load_basis, "demand": review.demand_basis}
    basis = st.radio("Capacity load of", list(bases), format_func=bases.get, horizontal=True, key="exec_capacity_basis")
    load = review.capacity if basis == "plan" else review.demand_capacity
    if load.empty:
        st.caption("No routing or resource data: nothing to load.")
    else:
        st.markdown(f"**{bases[basis]}**: utilisation of regular capacity (%) per resource and month")
        util = supply_service.utilisation_table(load)
        ui.dataframe(util, width="stretch", key="exec_capacity",
                     column_config={c: st.column_config.NumberColumn(format="%.1f %%") for c in util.columns})
        st.caption(
            f"{review.plan_load_basis}: the hours of what the plan makes after Reconciliation (the capacity "
            f"risks count its months above regular capacity). {bases['demand']}: the hours the demand would need "
            "before any capacity limit, as on the Supply review page."
        )


def waterfall_figure(wf: pd.DataFrame, before_label: str, after_label: str) -> go.Figure:
    """The waterfall ``wf`` (``label, value, kind``: the before total, the causes, the after total): rises marked
    ▲ and falls ▼ besides their colour, and the value axis starting where the causes are visible
    (:func:`~sop_core.services.chart_marks.waterfall_axis_start`), which a note on the chart says."""
    steps = wf.loc[wf["kind"] == "relative", "value"].tolist()
    start = chart_marks.waterfall_axis_start(float(wf["value"].iloc[0]), float(wf["value"].iloc[-1]), steps)
    marks = {"absolute": "", "total": ""}
    text = [f"{marks.get(kind, '▲ ' if v >= 0 else '▼ ')}{formatting.money(v)}"
            for v, kind in zip(wf["value"], wf["kind"], strict=True)]
    fig = go.Figure(
        go.Waterfall(
            x=wf["label"],
            y=wf["value"],
            measure=wf["kind"].tolist(),
            text=text,
            textposition="outside",
            textfont={"color": ui.TEXT},
            connector={"line": {"color": ui.COLORS["neutral"]}},
            increasing={"marker": {"color": ui.COLORS["ok"]}},
            decreasing={"marker": {"color": ui.COLORS["bad"]}},
            totals={"marker": {"color": ui.COLORS["actual"]}},
            showlegend=False,
        )
    )
    ui.base_layout(fig, f"Revenue: {before_label} → {after_label}", height=460)
    if start > 0:
        running = wf["value"].iloc[0] + pd.Series(steps).cumsum()
        top = max(wf["value"].iloc[0], wf["value"].iloc[-1], running.max())
        fig.update_yaxes(range=[start, top + (top - start) * 0.12])
        note = f"Axis starts at {formatting.money(start)}, not 0: the {before_label} and {after_label} bars are cut"
        fig.update_layout(title_subtitle=dict(text=note, font={"size": 13, "color": ui.TEXT}), margin_t=80)
    return fig


def waterfall(diff: DiffResult, is_default: bool) -> None:
    """The plan diff as a waterfall by cause, and its parts per family, SKU or month."""
    wf = diff.waterfall
    fig = waterfall_figure(wf, diff.before_label, diff.after_label)
    st.plotly_chart(fig, key="diff_waterfall")
    st.caption(
        f"Total change {formatting.money(diff.total_change)}: {diff.before_label} "
        f"{formatting.money(wf['value'].iloc[0])} → {diff.after_label} {formatting.money(wf['value'].iloc[-1])} "
        f"over {diff.basis}."
        + (" It is the revenue vs last plan of the headline above." if is_default else "")
    )
    with st.expander("By family, SKU and month"):
        level = st.radio(
            "Level", ["family", "sku", "period"], horizontal=True, key="diff_level",
            format_func={"family": "Family", "sku": "SKU", "period": "Month"}.get,
        )
        table = diff.labelled(level)
        ui.dataframe(table, hide_index=True, width="stretch", key="diff_table",
                     column_config={c: st.column_config.NumberColumn(format="%,.0f")
                                    for c in table.columns if c not in ("family", "sku", "period")})


def family_table(review: ExecutiveReview) -> None:
    """The plan by family and month, one measure at a time."""
    table = review.table
    measure = st.radio("Show", list(MEASURES), horizontal=True, key="exec_measure", format_func=MEASURES.get)
    grid = table.assign(month=table["period"].dt.strftime("%Y-%m")).pivot(index="family", columns="month", values=measure)
    ui.dataframe(
        grid.round(0), width="stretch",
        column_config={c: st.column_config.NumberColumn(format="localized") for c in grid.columns},
    )
    if measure == "margin":
        st.caption(f"Margin per family and month = {review.line_margin_basis}; over the horizon they add up to "
                   "the Margin card above.")


def scenarios(review: ExecutiveReview) -> None:
    """The cycle's saved scenarios, the proposed one first."""
    scen = review.proposed_scenarios
    if scen.empty:
        st.caption("No saved scenario in this cycle.")
    else:
        ui.dataframe(
            scen[["name", "status", "author", "demand_change_pct", "price_change_pct", "revenue", "margin", "fill_rate"]],
            hide_index=True, width="stretch", key="exec_scenarios",
            column_config={  # numbers in the format of their kind (money, % change, share), as on every page
                "name": "Scenario",
                "revenue": st.column_config.NumberColumn(help="Revenue of the scenario's plan over its horizon"),
                "margin": st.column_config.NumberColumn(help="Margin of the scenario's plan over its horizon"),
                "fill_rate": st.column_config.NumberColumn("Fill rate (plan)",
                                                           help="Served ÷ demand of the scenario's plan over its "
                                                                "horizon"),
            },
        )
