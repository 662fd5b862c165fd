"""Small shared pieces of the pages (not a page): the page's style sheet (:func:`page_style`: metric cards that
fit any window, meeting mode's large type, the print layout), the colours, the chart look, the tables (capped to a
row limit, headed by human labels: :mod:`views.tables`, their key column pinned), the search pickers, and :func:`md`,
which every text from the data passes through before it enters Markdown (a product name, a code, a file name, a user
name, an error message naming them)."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from sop_core.formatting import MISSING
from sop_core.units import MAX_PICKER_OPTIONS, MAX_ROWS_TO_BROWSER, TABLE_PAGE_ROWS
from views import tables

#: Okabe–Ito, the colour-blind-safe palette (Okabe & Ito 2008): categorical series in this order.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
#: The page background of the charts (plotly_white) and the colour of text drawn on the charts.
BACKGROUND, TEXT = "#ffffff", "#1f2937"
#: The colours of the charts, from :data:`OKABE_ITO` (the dark red of "bad" from ColorBrewer's RdYlBu, further
#: from the orange of "warning" than Okabe–Ito's vermillion for deuteranopia); every status shown by colour is
#: also shown by a symbol or a word (:data:`STATUS_MARK`).
COLORS = {
    "actual": TEXT,
    "forecast": "#0072B2",
    "band80": "rgba(0, 114, 178, 0.25)",
    "band95": "rgba(0, 114, 178, 0.12)",
    "scenario": "#E69F00",
    "consensus": "#E69F00",
    "event": "#CC79A7",
    "event_band": "rgba(204, 121, 167, 0.14)",
    "capacity": "#D55E00",
    "ok": "#009E73",
    "warning": "#E69F00",
    "bad": "#A50026",
    "neutral": "#6b7280",
}
#: The symbol and word that go with each status colour (never the colour alone).
STATUS_MARK = {
    "green": "✔ on target", "amber": "▲ watch", "red": "✖ off target", "grey": "○ no data",
}  # fmt: skip


#: The app's style sheet, on every page. Metric cards never cut their text: a row of cards is a grid of as many
#: columns as fit at 9 rem a card (12 rem in meeting mode; fewer cards per row in a narrow window), a card's value
#: is sized to the card's own width (``cqi``: a seven-character "€138.2M" fits a card of 144 px) between a floor
#: and the theme's size, and labels, deltas and their descriptions wrap instead of ending in "…". Printed (A4
#: landscape), the sidebar, the header and every control are left out.
STYLE = """
[data-testid='stHorizontalBlock']:has([data-testid='stMetric']):not(:has([data-testid='stHorizontalBlock'])) {
  display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, var(--sop-card-min, 9rem)), 1fr));
}
[data-testid='stHorizontalBlock']:has([data-testid='stMetric']):not(:has([data-testid='stHorizontalBlock']))
  > [data-testid='stColumn'] {width: auto; min-width: 0;}
[data-testid='stMetric'] {container-type: inline-size;}
[data-testid='stMetricValue'] {font-size: clamp(var(--sop-value-min, 1.25rem), 18cqi, var(--sop-value-max, 2.25rem));}
[data-testid='stMetric'] :is([data-testid='stMarkdownContainer'], [data-testid='stCaptionContainer'], p) {
  white-space: normal; text-overflow: clip;
}
[data-testid='stMetric'] div:has(> [data-testid='stMetricDelta']) {flex-wrap: wrap; row-gap: 0.1rem;}
[data-testid='stMetricDeltaDescription'] {flex-basis: auto;}
@media print {
  @page {size: A4 landscape; margin: 12mm;}
  [data-testid='stSidebar'], [data-testid='stHeader'], [data-testid='stToolbar'], [data-testid='stDecoration'],
  [data-testid='stButton'], [data-testid='stDownloadButton'], [data-testid='stExpander'],
  [data-testid='stElementContainer']:has([data-testid='stSelectbox']), [data-testid='stRadio'],
  [data-testid='stTextInput'], [data-testid='stDateInput'], [data-testid='stTabs'] [role='tablist'] {
    display: none !important;
  }
  [data-testid='stMain'] {margin-left: 0 !important;}
  [data-testid='stMainBlockContainer'] {padding: 0 !important; max-width: none !important;}
  [data-testid='stMetric'], [data-testid='stDataFrame'], [data-testid='stPlotlyChart'] {break-inside: avoid;}
}
"""
#: Meeting mode: larger type everywhere (for the screen share), so wider cards and larger values, and narrower
#: side margins to give them room.
MEETING_STYLE = """
html, body, [data-testid='stAppViewContainer'] {font-size: 1.2rem;}
:root {--sop-card-min: 12rem; --sop-value-min: 1.5rem; --sop-value-max: 2.6rem;}
[data-testid='stMainBlockContainer'] {padding-left: 2.5rem; padding-right: 2.5rem;}
"""


def page_style(meeting: bool) -> None:
    """The app's style sheet (:data:`STYLE`), with meeting mode's large type (:data:`MEETING_STYLE`) when
    ``meeting``; a style-only ``st.html`` takes no room on the page."""
    st.html(f"<style>{STYLE}{MEETING_STYLE if meeting else ''}</style>")


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    """Relative luminance (WCAG 2) of a ``#rrggbb`` colour: 0 black … 1 white.

    >>> round(luminance("#ffffff"), 3), round(luminance("#000000"), 3)
    (1.0, 0.0)
    """
    r, g, b = (int(color.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast_ratio(foreground: str, background: str = BACKGROUND) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours, 1 … 21 (AA asks 4.5 for text, 3 for large text).

    >>> round(contrast_ratio("#000000", "#ffffff"), 1), round(contrast_ratio("#767676"), 2)
    (21.0, 4.54)
    """
    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


#: Characters that start or close Markdown (or Streamlit's LaTeX, ``$``) wherever they stand: always escaped.
_ALWAYS = frozenset("\\`*[]<>|~$")
#: A first character that would make the text a heading, a quote, a list or a rule.
_BLOCK_START = re.compile(r"^(\s*)([#>+=-]|\d+(?=[.)]))")


def md(value: object) -> str:
    r"""``value`` as text that Markdown shows literally: line breaks become spaces; ``\ ` * [ ] < > | ~ $`` are
    escaped with a backslash everywhere, ``_`` where it could emphasise (not inside a word: ``supply_planner``
    stays), the ``:`` of ``://`` and the ``.`` of ``www.`` (no automatic link), and a first character that would
    start a heading, a quote, a list or a rule. No image, link, HTML, LaTeX or emphasis can come from the value;
    ordinary text (``2026-12: 4 units (version 2).``) stays as it is.

    >>> md("![img](http://x/y.png) **bold**")
    '!\\[img\\](http\\://x/y.png) \\*\\*bold\\*\\*'
    >>> md("- A_100 _x_\nwww.x.org")
    '\\- A_100 \\_x\\_ www\\.x.org'
    """
    text = " ".join(str(value).splitlines())
    out = []
    for i, c in enumerate(text):
        before, after = text[i - 1 : i], text[i + 1 : i + 2]
        if (c in _ALWAYS or (c == "_" and not (before.isalnum() and after.isalnum()))
                or (c == ":" and text[i + 1 : i + 3] == "//")
                or (c == "." and text[max(i - 3, 0) : i].lower() == "www")):
            out.append("\\" + c)
        else:
            out.append(c)
    escaped = "".join(out)
    start = _BLOCK_START.match(escaped)
    if start:
        at = start.end() if start.group(2)[0].isdigit() else start.start(2)
        escaped = escaped[:at] + "\\" + escaped[at:]
    return escaped


def base_layout(fig: go.Figure, title: str | None = None, height: int = 420) -> go.Figure:
    """Shared chart look: the title at the top left of the figure, the legend below the plot, so that the two
    never overlap (nor the legend the labels drawn at the top of the plot); Okabe–Ito colours, dark text."""
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", y=1, yref="container", yanchor="top", pad=dict(t=12, l=10)),
        height=height,
        margin=dict(l=10, r=10, t=50 if title else 20, b=10),
        legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", xanchor="left", x=0),
        hovermode="x unified",
        template="plotly_white",
        colorway=list(OKABE_ITO),
        font=dict(color=TEXT),
    )
    return fig


def section_tabs(sections: Mapping[str, Callable[[], None]], key: str) -> None:
    """Tabs labelled by ``sections``' keys of which only the open one is drawn (by its function): a visit sends one
    section's charts and tables, not all. The open tab is kept in the address (``?key=label``), so a link opens
    the page on it. A widget in a tab keeps its value while another tab is open only with
    ``persist_state="page"`` (a widget not drawn in a run is otherwise forgotten)."""
    tabs = st.tabs(list(sections), key=key, on_change="rerun", bind="query-params")
    for tab, draw in zip(tabs, sections.values(), strict=True):
        if tab.open:
            with tab:
                draw()


def capped(frame: pd.DataFrame, where: DeltaGenerator | None = None, key: str | None = None) -> pd.DataFrame:
    """The rows of ``frame`` to send to the browser: all of them up to :data:`~sop_core.units.TABLE_PAGE_ROWS`;
    beyond, a search box (words in any column) and a page number in ``where`` (default: the page), keyed by
    ``key``, pick one page of the matching rows and a caption says which rows of how many are shown."""
    if len(frame) <= TABLE_PAGE_ROWS:
        return frame
    box = where or st
    key = key or "table_" + hashlib.sha1("\x1f".join(map(str, frame.columns)).encode()).hexdigest()[:10]
    find_col, page_col = box.columns([3, 1], vertical_alignment="bottom")
    words = find_col.text_input("Find rows", key=f"{key}_find", placeholder="Words in any column: a SKU, a name…",
                                 persist_state="page")
    found = tables.rows_matching(frame, words)
    pages = max(1, math.ceil(len(found) / TABLE_PAGE_ROWS))
    if int(st.session_state.get(f"{key}_page", 1)) > pages:  # the search narrowed the rows
        st.session_state[f"{key}_page"] = 1
    page = int(page_col.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, step=1,
                                     key=f"{key}_page", disabled=pages == 1, persist_state="page"))
    first = (page - 1) * TABLE_PAGE_ROWS
    shown = found.iloc[first:first + TABLE_PAGE_ROWS]
    of = f"{len(found):,} rows matching “{words.strip()}” (of {len(frame):,})" if words.strip() else f"{len(frame):,} rows"
    box.caption(f"Rows {first + 1:,}–{first + len(shown):,} of {of}." if len(shown) else f"No row of {len(frame):,} "
                f"matches “{words.strip()}”.")
    return shown.head(MAX_ROWS_TO_BROWSER)


def pinned_key(frame: pd.DataFrame, column_config: dict[Any, Any] | None) -> dict[Any, Any]:
    """``column_config`` with the key column of ``frame`` (its first) pinned, so that it stays in view while a
    table wider than its container scrolls; a label given as text is kept, and a ``pinned`` set by the page wins.

    >>> pinned_key(pd.DataFrame({"sku": [], "qty": []}), {"sku": "SKU"})["sku"]["pinned"]
    True
    """
    config = dict(column_config or {})
    if frame.columns.empty:
        return config
    key = frame.columns[0]
    given = config.get(key)
    if given is None or isinstance(given, str):
        config[key] = st.column_config.Column(given, pinned=True)
    elif isinstance(given, dict) and given.get("pinned") is None:
        config[key] = {**given, "pinned": True}
    return config


def dataframe(
    frame: pd.DataFrame, where: DeltaGenerator | None = None, *, kinds: dict[str, str] | None = None,
    **kwargs: Any,  # noqa: ANN401
) -> None:
    """Shows ``frame`` as a table in ``where`` (default: the page), cut to the row cap by :func:`capped`: the
    columns under their human labels, numbers in the format of their kind (``kinds``: of the page's own columns),
    a missing value as "–" (:func:`views.tables.presented`). Without an index (``hide_index=True``) its first
    column is the key and is pinned (:func:`pinned_key`); an index is pinned by Streamlit."""
    shown, config, order = tables.presented(
        capped(frame, where, kwargs.get("key")), kwargs.pop("column_config", None), kwargs.pop("column_order", None),
        kinds,
    )
    if kwargs.get("hide_index"):
        config = pinned_key(shown, config)
    (where or st).dataframe(shown, column_config=config, column_order=order, placeholder=MISSING, **kwargs)


def data_editor(frame: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:  # noqa: ANN401
    """``st.data_editor`` with every column under its human label (:func:`views.tables.editor_config`; the edited
    frame keeps the frame's column names) and an empty cell blank."""
    config = tables.editor_config(frame, kwargs.pop("column_config", None))
    return st.data_editor(frame, column_config=config, placeholder="", **kwargs)


def matching(labels: Iterable[str], text: str, limit: int = MAX_PICKER_OPTIONS) -> list[str]:
    """The first ``limit`` labels that contain every word of ``text`` (case-insensitive), in their order; all of
    them up to ``limit`` when ``text`` is blank."""
    words = text.lower().split()
    found: list[str] = []
    for label in labels:
        if all(word in label.lower() for word in words):
            found.append(label)
            if len(found) == limit:
                break
    return found


def search_picker(
    label: str, labels: Iterable[str], key: str, where: DeltaGenerator | None = None, fixed: Iterable[str] = ()
) -> str | None:
    """A search box and a select box of the ``fixed`` choices followed by the labels matching the search (at most
    :data:`~sop_core.units.MAX_PICKER_OPTIONS`); returns the chosen label, None when nothing matches."""
    where = where or st
    text = where.text_input(f"Search {label.lower()}", key=f"{key}_search", placeholder="code or name",
                            persist_state="page")
    options = [*fixed, *matching(labels, text)]
    if not options:
        where.caption("Nothing matches the search.")
        return None
    return where.selectbox(label, options, key=key, persist_state="page")
