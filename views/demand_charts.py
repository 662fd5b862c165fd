"""The Demand review's chart (not a page): history, intervals, statistical forecast, consensus and the events,
grouped into one band per contiguous span (:func:`sop_core.services.chart_marks.event_spans`)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from sop_core.services import chart_marks
from views import ui

#: Spans covering more than this share of the chart, or more spans than this, are drawn as a lane along the
#: bottom of the plot rather than over the lines.
FULL_BANDS_UP_TO = 1 / 3
MAX_FULL_BANDS = 8
#: The height of that lane, as a share of the plot.
LANE = 0.05


def forecast_figure(view: pd.DataFrame, events: pd.DataFrame) -> go.Figure:
    """History, 80/95 % intervals, statistical forecast and consensus of ``view`` (columns ``period``,
    ``actual``, ``forecast``, ``consensus``, ``lo_80`` … ``hi_95``), and the ``events`` (``name``, ``start``,
    ``end``, ``uplift_pct``): one shaded band per span of overlapping events, a marker per span whose hover lists
    its events, and a label on at most :data:`~sop_core.services.chart_marks.MAX_EVENT_LABELS` spans."""
    past, future = view[view["actual"].notna()], view[view["forecast"].notna()]
    fig = go.Figure()
    for lv, color in (("95", ui.COLORS["band95"]), ("80", ui.COLORS["band80"])):
        fig.add_trace(go.Scatter(x=future["period"], y=future[f"hi_{lv}"], mode="lines", line=dict(width=0),
                                 showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=future["period"], y=future[f"lo_{lv}"], mode="lines", line=dict(width=0),
                                 fill="tonexty", fillcolor=color, name=f"{lv} % interval"))
    fig.add_trace(go.Scatter(x=past["period"], y=past["actual"], mode="lines+markers", name="Actual",
                             line=dict(color=ui.COLORS["actual"], width=2), marker=dict(size=4)))
    fig.add_trace(go.Scatter(x=future["period"], y=future["forecast"], mode="lines+markers",
                             name="Statistical forecast", line=dict(color=ui.COLORS["forecast"], width=2, dash="dash"),
                             marker=dict(size=4, symbol="circle-open")))
    fig.add_trace(go.Scatter(x=future["period"], y=future["consensus"], mode="lines+markers", name="Consensus",
                             line=dict(color=ui.COLORS["consensus"], width=3), marker=dict(size=5, symbol="diamond")))
    fig.update_yaxes(title_text="units", rangemode="tozero")
    add_events(fig, events, view["period"].min(), view["period"].max())
    return ui.base_layout(fig)


def add_events(fig: go.Figure, events: pd.DataFrame, x_min: object, x_max: object) -> None:
    """The events on ``fig``: bands per span (a lane along the bottom when they would cover much of the chart),
    one legend entry "Events" whose markers' hover lists each span's events, and a few labels inside the plot."""
    spans = chart_marks.event_spans(events)
    if spans.empty:
        return
    lane = len(spans) > MAX_FULL_BANDS or chart_marks.spans_share(spans, x_min, x_max) > FULL_BANDS_UP_TO
    top = LANE if lane else 1.0
    # all bands and labels in one layout update: plotly copies the whole layout on every add_shape (0.2 s for 28)
    bands = [dict(type="rect", xref="x", yref="paper", x0=span.start, x1=span.end, y0=0, y1=top, line_width=0,
                  fillcolor=ui.COLORS["event"] if lane else ui.COLORS["event_band"], layer="below")
             for span in spans.itertuples(index=False)]
    labels = [dict(x=spans["start"].iloc[i], y=1, xref="x", yref="paper", xanchor="left", yanchor="top",
                   showarrow=False, text=spans["label"].iloc[i], font=dict(size=11, color=ui.TEXT),
                   bgcolor="rgba(255, 255, 255, 0.8)")
              for i in chart_marks.labelled_spans(spans, x_min, x_max)]
    fig.update_layout(shapes=[*fig.layout.shapes, *bands], annotations=[*fig.layout.annotations, *labels])
    fig.add_trace(go.Scatter(
        x=spans["start"], y=[0] * len(spans), mode="markers", name=f"Events ({len(events)})",
        marker=dict(symbol="triangle-up", size=10, color=ui.COLORS["event"]), hovertext=spans["hover"],
        hoverinfo="text",
    ))  # fmt: skip
