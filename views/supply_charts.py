"""Charts of the Supply review page (not a page): utilisation heatmap, load vs capacity, projected inventory,
and supplier items' OTIF and lead time."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sop_core.services import chart_marks, suppliers
from views import ui

STATUS_COLOR = {"ok": ui.COLORS["forecast"], "warning": ui.COLORS["warning"], "bottleneck": ui.COLORS["bad"]}
#: The bar pattern of each status: the status never rests on the colour alone.
STATUS_PATTERN = {"ok": "", "warning": ".", "bottleneck": "/"}


def busiest_rows(table: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` rows of a resource × month utilisation table with the highest month, in the table's order."""
    if len(table) <= n:
        return table
    keep = table.max(axis=1).nlargest(n, keep="first").index
    return table[table.index.isin(keep)]


#: The utilisation heatmap's colours (light enough for dark text, WCAG AA): blue up to the 90 % warning line,
#: orange to regular capacity (100 %), salmon above; the cells' "◆" and "▲" say the same without colour.
UTILISATION_SCALE = [
    [0.0, "#eef5fb"], [0.6, "#9ecae1"], [0.6, "#fdd49e"], [2 / 3, "#fdb863"], [2 / 3, "#f4a582"], [1.0, "#e6866a"],
]  # fmt: skip


#: The OTIF heatmap's colours, salmon (0 %) to orange (50 %) to blue (100 %), light enough for the dark value text.
OTIF_SCALE = [[0.0, "#e6866a"], [0.5, "#fdd49e"], [1.0, "#9ecae1"]]


def utilisation_heatmap(table: pd.DataFrame) -> go.Figure:
    """Utilisation (%) per resource (rows) and month (columns), each cell with its value and status symbol
    (:func:`~sop_core.services.chart_marks.utilisation_text`): "◆" above 90 %, "▲" above regular capacity."""
    heat = go.Figure(
        go.Heatmap(
            z=table.to_numpy(),
            x=list(table.columns),
            y=list(table.index),
            zmin=0,
            zmax=150,
            colorscale=UTILISATION_SCALE,
            colorbar=dict(title="%", tickvals=[0, 90, 100, 150], ticktext=["0", "◆ 90", "▲ 100", "150"]),
            text=chart_marks.utilisation_text(table).to_numpy(),
            texttemplate="%{text}",
            textfont=dict(color=ui.TEXT),
            hovertemplate="%{y} · %{x}: %{z:.1f} %<extra></extra>",
        )
    )
    heat.update_yaxes(autorange="reversed")
    return ui.base_layout(heat, height=80 + 45 * len(table))


def load_bars(one: pd.DataFrame) -> go.Figure:
    """One resource's load (bars coloured by status) against regular capacity and capacity with overtime [h]."""
    bars = go.Figure()
    bars.add_bar(
        x=one["period"], y=one["load_hours"], name="Load (h)", marker_color=one["status"].map(STATUS_COLOR).tolist(),
        marker_pattern_shape=one["status"].map(STATUS_PATTERN).tolist(),
        customdata=one["status"], hovertemplate="%{x|%b %Y}: %{y:,.0f} h (%{customdata})<extra></extra>",
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
    return ui.base_layout(bars, height=360)


def projection_figure(proj: pd.DataFrame, source: str) -> go.Figure:
    """Demand, open orders due, lost sales and closing stock against reorder point and safety stock [units]."""
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
    return ui.base_layout(fig, height=380)


def supplier_trend(lines: pd.DataFrame) -> go.Figure:
    """OTIF (%) per quarter of receipt: one line per supplier of ``lines`` (:func:`suppliers.trend_lines`, in its
    order) and the line over every supplier, dashed."""
    fig = go.Figure()
    for supplier_code, part in lines.groupby("supplier", sort=False):
        every = supplier_code == suppliers.ALL_SUPPLIERS
        fig.add_scatter(x=part["period"], y=part["otif"] * 100, name=str(supplier_code), mode="lines+markers",
                        line=dict(color=ui.COLORS["neutral"], dash="dash", width=3) if every else None)
    fig.update_yaxes(title="OTIF %", range=[0, 105])
    return ui.base_layout(fig, height=320)


def item_heatmaps(otif: pd.DataFrame, lead: pd.DataFrame) -> go.Figure:
    """OTIF (%) and mean lead time (days) per item (rows) and month of receipt (columns), side by side."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.1,
                        subplot_titles=("OTIF (%)", "Lead time mean (days)"))  # fmt: skip
    fig.add_trace(
        go.Heatmap(z=otif.to_numpy(), x=list(otif.columns), y=list(otif.index), zmin=0, zmax=100,
                   colorscale=OTIF_SCALE, texttemplate="%{z:.0f}", textfont=dict(color=ui.TEXT, size=10),
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
