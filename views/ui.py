"""Small shared pieces of the pages (not a page): the colours, month labels and the chart look."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

#: A calm palette that reads well on a projector.
COLORS = {
    "actual": "#1f2937",
    "forecast": "#2563eb",
    "band80": "rgba(37, 99, 235, 0.25)",
    "band95": "rgba(37, 99, 235, 0.12)",
    "scenario": "#d97706",
    "capacity": "#dc2626",
    "ok": "#16a34a",
    "warning": "#f59e0b",
    "bad": "#dc2626",
}


def month_label(value: object) -> str:
    return pd.Timestamp(value).strftime("%b %Y")


def base_layout(fig: go.Figure, title: str | None = None, height: int = 420) -> go.Figure:
    """Shared chart look: legend on top, no clutter."""
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=10, r=10, t=50 if title else 20, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        hovermode="x unified",
        template="plotly_white",
    )
    return fig
