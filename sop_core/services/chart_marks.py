"""Where a chart puts its marks so that they read at a glance: events grouped into one band per contiguous span,
the few spans that get a label, and where a waterfall's value axis starts. Pure functions of plain data."""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

from sop_core.planning import supply_math

#: At most this many event spans carry a written label; every event stays listed in the hover of its span.
MAX_EVENT_LABELS = 4
#: A label is cut to this many characters (an ellipsis ends a cut one).
LABEL_CHARS = 24


def short(text: str, limit: int = LABEL_CHARS) -> str:
    """``text`` cut to ``limit`` characters, the last an ellipsis when cut.

    >>> short("Black Friday & Cyber Monday"), short("Spring sale")
    ('Black Friday & Cyber Mo…', 'Spring sale')
    """
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _plain(text: str) -> str:
    """``text`` as plotly shows it literally: ``<`` ``>`` ``&`` as entities (a name makes no link or line break)."""
    return html.escape(text, quote=False)


def event_spans(events: pd.DataFrame, gap_days: int = 1) -> pd.DataFrame:
    """The events (columns ``name``, ``start``, ``end``, ``uplift_pct``) grouped into spans: events that overlap
    or follow within ``gap_days`` of each other share one span.

    Returns:
        DataFrame[start, end, count, names, label, hover], one row per span in time order: ``names`` the events'
        names (a list), ``label`` the one event's name or "N events", ``hover`` one line per event (name, uplift
        in %, dates) joined by ``<br>``; the names in ``label`` and ``hover`` with ``<``, ``>``, ``&`` as entities.

    >>> ev = pd.DataFrame({"name": ["A", "B", "C"], "uplift_pct": [10.0, -5.0, 20.0],
    ...                    "start": pd.to_datetime(["2027-01-01", "2027-01-15", "2027-06-01"]),
    ...                    "end": pd.to_datetime(["2027-01-31", "2027-02-10", "2027-06-30"])})
    >>> spans = event_spans(ev)
    >>> spans[["start", "end", "count", "label"]].astype(str).values.tolist()
    [['2027-01-01', '2027-02-10', '2', '2 events'], ['2027-06-01', '2027-06-30', '1', 'C']]
    >>> spans["hover"].iloc[0]
    'A (+10 %), 01 Jan – 31 Jan 2027<br>B (-5 %), 15 Jan – 10 Feb 2027'
    """
    columns = ["start", "end", "count", "names", "label", "hover"]
    if events.empty:
        return pd.DataFrame(columns=columns)
    ordered = events.assign(start=pd.to_datetime(events["start"]), end=pd.to_datetime(events["end"]))
    ordered = ordered.sort_values(["start", "end"], kind="stable")
    gap = pd.Timedelta(days=gap_days)
    groups: list[list[Any]] = []
    end = pd.Timestamp.min
    for row in ordered.itertuples(index=False):
        if not groups or row.start > end + gap:
            groups.append([])
            end = row.end
        groups[-1].append(row)
        end = max(end, row.end)
    rows = []
    for group in groups:
        names = [str(e.name) for e in group]
        rows.append({
            "start": min(e.start for e in group), "end": max(e.end for e in group), "count": len(group),
            "names": names, "label": _plain(short(names[0])) if len(group) == 1 else f"{len(group)} events",
            "hover": "<br>".join(f"{_plain(str(e.name))} ({e.uplift_pct:+.0f} %), {e.start:%d %b} – {e.end:%d %b %Y}"
                                 for e in group),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def labelled_spans(spans: pd.DataFrame, x_min: object, x_max: object, limit: int = MAX_EVENT_LABELS) -> list[int]:
    """The positions of the spans that get a written label: at most ``limit``, chosen by most events then
    earliest, and no two starting closer than the chart's width (``x_min`` … ``x_max``) ÷ ``limit``, so that
    their labels never overprint; in time order.

    >>> spans = pd.DataFrame({"start": pd.to_datetime(["2027-01-01", "2027-01-20", "2027-09-01"]),
    ...                       "count": [1, 3, 1]})
    >>> labelled_spans(spans, "2027-01-01", "2027-12-31", limit=4)
    [1, 2]
    """
    if spans.empty or limit <= 0:
        return []
    room = (pd.Timestamp(x_max) - pd.Timestamp(x_min)) / limit
    starts = pd.to_datetime(spans["start"]).reset_index(drop=True)
    order = sorted(range(len(starts)), key=lambda i: (-int(spans["count"].iloc[i]), starts[i]))
    chosen: list[int] = []
    for i in order:
        if all(abs(starts[i] - starts[j]) >= room for j in chosen):
            chosen.append(i)
            if len(chosen) == limit:
                break
    return sorted(chosen)


def spans_share(spans: pd.DataFrame, x_min: object, x_max: object) -> float:
    """The share (0 … 1) of the chart's width ``x_min`` … ``x_max`` that the spans cover.

    >>> spans = pd.DataFrame({"start": pd.to_datetime(["2027-01-01"]), "end": pd.to_datetime(["2027-04-01"])})
    >>> round(spans_share(spans, "2027-01-01", "2028-01-01"), 2)
    0.25
    """
    width = float((pd.Timestamp(x_max) - pd.Timestamp(x_min)).total_seconds())
    if spans.empty or width <= 0:
        return 0.0
    covered = (pd.to_datetime(spans["end"]) - pd.to_datetime(spans["start"])).dt.total_seconds().sum()
    return min(float(covered) / width, 1.0)


def waterfall_axis_start(before: float, after: float, steps: list[float]) -> float:
    """Where the value axis of a waterfall from ``before`` to ``after`` through the ``steps`` starts so that the
    steps are visible: a round number below the lowest point the bars reach, a little under the smaller total
    (the axis starts at 0 when a total or a running value is at or below 0, or when the steps span more than
    half of the smaller total).

    >>> waterfall_axis_start(125.8e6, 123.2e6, [0.39e6, 0.37e6, -0.04e6, -2.4e6, -0.29e6, -0.68e6])
    121000000.0
    >>> waterfall_axis_start(100.0, 40.0, [-60.0])
    0.0
    """
    running, low, high = before, min(before, after), max(before, after)
    for step in steps:
        running += step
        low, high = min(low, running), max(high, running)
    if low <= 0 or high - low > low / 2:
        return 0.0
    spread = max(high - low, abs(low) * 0.01)
    floor = low - spread * 0.5  # the lowest bar top stands above the axis by half the spread
    unit = 10 ** math.floor(math.log10(spread))
    return float(math.floor(floor / unit) * unit)


#: The symbol before a utilisation (%) by status, so that the status never rests on the colour alone.
UTILISATION_SYMBOL = {"bottleneck": "▲", "warning": "◆", "ok": ""}


def utilisation_text(table: pd.DataFrame) -> pd.DataFrame:
    """Each utilisation (%, a resource × month table) as the text of its heatmap cell: the rounded value after
    "▲" above regular capacity (bottleneck), "◆" above the warning line, nothing before it otherwise; "" where
    there is no value.

    >>> utilisation_text(pd.DataFrame({"2027-01": [112.4, 95.0, 40.2, None]})).iloc[:, 0].tolist()
    ['▲ 112', '◆ 95', '40', '']
    """
    def cell(value: float) -> str:
        if pd.isna(value):
            return ""
        share = value / 100
        status = ("bottleneck" if share > supply_math.BOTTLENECK_UTILISATION + supply_math.LOAD_TOLERANCE
                  else "warning" if share > supply_math.WARNING_UTILISATION else "ok")
        return f"{UTILISATION_SYMBOL[status]} {value:.0f}".strip()

    return table.apply(lambda column: column.map(cell))
