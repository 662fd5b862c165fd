"""Formatting and small shared widgets (not a page)."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from sop_core.config import CURRENCY

_SYMBOL = {"EUR": "€", "USD": "$", "GBP": "£"}.get(CURRENCY, CURRENCY + " ")

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


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt_money(x: float | None, digits: int = 1) -> str:
    """€1.2M / €350k / €900 — compact money for metric cards."""
    if _missing(x):
        return "–"
    value = float(x)
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1e9:
        return f"{sign}{_SYMBOL}{value / 1e9:.{digits}f}B"
    if value >= 1e6:
        return f"{sign}{_SYMBOL}{value / 1e6:.{digits}f}M"
    if value >= 1e4:
        return f"{sign}{_SYMBOL}{value / 1e3:.0f}k"
    return f"{sign}{_SYMBOL}{value:,.0f}"


def fmt_qty(x: float | None) -> str:
    """Units with thousands separators."""
    return "–" if _missing(x) else f"{float(x):,.0f}"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    """A share (0.953) as a percentage (95.3 %)."""
    return "–" if _missing(x) else f"{100 * float(x):.{digits}f} %"


def fmt_num(x: float | None, digits: int = 1) -> str:
    return "–" if _missing(x) else f"{float(x):,.{digits}f}"


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
