"""Charts that read at a glance: event marks that do not overprint, a waterfall whose causes are visible, titles
and legends apart, statuses shown by a symbol besides the colour, colours apart for deuteranopia, dark text."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest

from sop_core.services import chart_marks
from views import demand_charts, executive_sections, supply_charts, ui


def _view(start: str = "2023-01-01", history: int = 46, horizon: int = 18) -> pd.DataFrame:
    periods = pd.date_range(start, periods=history + horizon, freq="MS")
    actual = [500.0] * history + [None] * horizon
    forecast = [None] * history + [600.0] * horizon
    frame = pd.DataFrame({"period": periods, "actual": actual, "forecast": forecast, "consensus": forecast})
    for lv, width in (("80", 100.0), ("95", 200.0)):
        frame[f"lo_{lv}"] = frame["forecast"] - width
        frame[f"hi_{lv}"] = frame["forecast"] + width
    return frame


def _events(rows: list[tuple[str, str, str]], uplift: float = 20.0) -> pd.DataFrame:
    return pd.DataFrame({"name": [r[0] for r in rows], "start": pd.to_datetime([r[1] for r in rows]),
                         "end": pd.to_datetime([r[2] for r in rows]), "uplift_pct": uplift})


#: A SKU's events as the demo company has them: Black Friday each year, a launch overlapping a January sale.
SKU_EVENTS = _events([
    ("Black Friday & Cyber Monday", "2025-11-28", "2025-12-01"), ("Healthy Start Blender promotion", "2026-01-05", "2026-01-31"),
    ("Black Friday & Cyber Monday", "2026-11-27", "2026-11-30"), ("New Year sale", "2027-01-02", "2027-01-20"),
    ("Healthy Start Blender promotion", "2027-01-10", "2027-02-07"), ("Black Friday & Cyber Monday", "2027-11-26", "2027-11-29"),
])  # fmt: skip


def _legend_names(fig: go.Figure) -> list[str]:
    return [t.name for t in fig.data if t.showlegend is not False and t.name]


def _annotation_x(fig: go.Figure) -> list[pd.Timestamp]:
    return sorted(pd.Timestamp(a.x) for a in fig.layout.annotations)


def test_overlapping_events_share_one_band_and_labels_stay_few_and_apart() -> None:
    fig = demand_charts.forecast_figure(_view(), SKU_EVENTS)
    # six events, the New Year sale and the January promotion overlap → five spans, one band each
    assert len(fig.layout.shapes) == 5
    jan = next(s for s in fig.layout.shapes if pd.Timestamp(s.x0) == pd.Timestamp("2027-01-02"))
    assert pd.Timestamp(jan.x1) == pd.Timestamp("2027-02-07") and jan.y1 == 1.0  # a few bands: full height
    events = next(t for t in fig.data if t.name and t.name.startswith("Events"))
    assert events.name == "Events (6)" and len(events.x) == 5
    hover = events.hovertext[list(pd.to_datetime(events.x)).index(pd.Timestamp("2027-01-02"))]
    assert hover == ("New Year sale (+20 %), 02 Jan – 20 Jan 2027<br>"
                     "Healthy Start Blender promotion (+20 %), 10 Jan – 07 Feb 2027")
    # at most four labels, inside the plot under its top edge, none closer than a quarter of the chart's width
    labels = fig.layout.annotations
    assert 1 <= len(labels) <= chart_marks.MAX_EVENT_LABELS
    assert all(a.yref == "paper" and a.y == 1 and a.yanchor == "top" and a.textangle in (None, 0) for a in labels)
    assert all(len(a.text) <= chart_marks.LABEL_CHARS for a in labels)
    x = _annotation_x(fig)
    room = (_view()["period"].max() - _view()["period"].min()) / chart_marks.MAX_EVENT_LABELS
    assert all(b - a >= room for a, b in zip(x, x[1:], strict=False))
    # one legend entry per kind
    names = _legend_names(fig)
    assert len(names) == len(set(names)) == 6
    assert [n for n in names if n.startswith("Events")] == ["Events (6)"]


def test_many_events_lie_in_a_lane_along_the_bottom_not_over_the_forecast() -> None:
    starts = pd.date_range("2025-11-03", periods=56, freq="14D")  # 56 events of 4 days, two weeks apart
    events = _events([(f"Promotion {i}", f"{s:%Y-%m-%d}", f"{s + pd.Timedelta(days=3):%Y-%m-%d}")
                      for i, s in enumerate(starts)])
    fig = demand_charts.forecast_figure(_view(), events)
    spans = chart_marks.event_spans(events)
    assert len(spans) == 56  # none overlaps
    assert len(fig.layout.shapes) <= len(spans)
    assert all(s.y0 == 0 and s.y1 == demand_charts.LANE for s in fig.layout.shapes)
    assert len(fig.layout.annotations) <= chart_marks.MAX_EVENT_LABELS
    assert _legend_names(fig).count("Events (56)") == 1


def test_an_event_name_is_shown_as_text_not_as_markup() -> None:
    events = _events([("Promo <a href='x'>click</a> & more", "2027-03-01", "2027-03-10")])
    fig = demand_charts.forecast_figure(_view(), events)
    marker = next(t for t in fig.data if t.name == "Events (1)")
    assert marker.hovertext[0].startswith("Promo &lt;a href='x'&gt;click&lt;/a&gt; &amp; more (+20 %)")
    assert fig.layout.annotations[0].text == "Promo &lt;a href='x'&gt;click…"  # 23 characters and the ellipsis


def test_no_event_no_event_marks() -> None:
    fig = demand_charts.forecast_figure(_view(), _events([]))
    assert not fig.layout.shapes and not fig.layout.annotations
    assert not any(t.name and t.name.startswith("Events") for t in fig.data)


def test_title_sits_above_the_legend_on_every_shared_layout() -> None:
    fig = ui.base_layout(go.Figure(go.Scatter(x=[1, 2], y=[1, 2], name="a")), "A title", height=340)
    title, legend = fig.layout.title, fig.layout.legend
    assert (title.yref, title.y, title.yanchor) == ("container", 1, "top")
    assert (legend.yref, legend.y, legend.yanchor, legend.orientation) == ("container", 0, "bottom", "h")


def _demo_waterfall() -> pd.DataFrame:
    # the demo company's diff 2026-10 v1 → 2026-11 v1 (the Executive review's default), rounded
    labels = ["Before", "New actuals", "Statistical forecast", "Overrides", "Price", "Capacity", "Scenario levers",
              "After"]
    values = [125.8e6, 0.392e6, 0.370e6, -0.041e6, -2.4e6, -0.292e6, -0.682e6]
    values.append(sum(values))
    kinds = ["absolute", *["relative"] * 6, "total"]
    return pd.DataFrame({"label": labels, "value": values, "kind": kinds})


def test_the_waterfall_axis_starts_near_the_smaller_total_and_says_so() -> None:
    wf = _demo_waterfall()
    fig = executive_sections.waterfall_figure(wf, "2026-10 v1", "2026-11 v1")
    # lowest point 123.147 M (the after total), highest 126.562 M: spread 3.405 M; half of it under the low point → 121.45 M,
    # floored to the million
    assert fig.layout.yaxis.range[0] == 121e6
    assert fig.layout.yaxis.range[1] > 126.562e6
    assert fig.layout.title.subtitle.text == ("Axis starts at €121.0M, not 0: the 2026-10 v1 and 2026-11 v1 bars "
                                              "are cut")
    # a rise is marked ▲ and a fall ▼ besides its colour
    assert list(fig.data[0].text) == ["€125.8M", "▲ €392k", "▲ €370k", "▼ -€41k", "▼ -€2.4M", "▼ -€292k",
                                      "▼ -€682k", "€123.1M"]


def test_a_waterfall_with_a_large_change_starts_at_zero_without_a_note() -> None:
    wf = pd.DataFrame({"label": ["Before", "Price", "After"], "value": [100.0, -60.0, 40.0],
                       "kind": ["absolute", "relative", "total"]})
    fig = executive_sections.waterfall_figure(wf, "A", "B")
    assert fig.layout.yaxis.range is None
    assert fig.layout.title.subtitle.text is None


def test_the_utilisation_heatmap_writes_each_status_besides_its_colour() -> None:
    table = pd.DataFrame({"2027-01": [112.4, 95.0, 40.0], "2027-02": [100.0, 90.0, None]}, index=["R1", "R2", "R3"])
    fig = supply_charts.utilisation_heatmap(table)
    heat = fig.data[0]
    assert heat.texttemplate == "%{text}"  # 100 % is at capacity, not over it: a warning; 90 % is not above 90
    assert [list(row) for row in heat.text] == [["▲ 112", "◆ 100"], ["◆ 95", "90"], ["40", ""]]
    assert heat.textfont.color == ui.TEXT


def test_load_bars_carry_a_pattern_per_status() -> None:
    one = pd.DataFrame({"period": pd.date_range("2027-01-01", periods=3, freq="MS"), "load_hours": [80.0, 95.0, 120.0],
                        "capacity_hours": 100.0, "overtime_available_hours": 10.0,
                        "status": ["ok", "warning", "bottleneck"]})
    bars = supply_charts.load_bars(one).data[0]
    assert list(bars.marker.pattern.shape) == ["", ".", "/"]


# ---- colours
def test_chart_text_meets_wcag_aa_on_the_background_and_on_every_heatmap_cell() -> None:
    assert ui.contrast_ratio("#767676") == pytest.approx(4.54, abs=0.01)  # the usual AA borderline grey
    assert ui.contrast_ratio(ui.TEXT, ui.BACKGROUND) >= 4.5
    for _, colour in [*supply_charts.UTILISATION_SCALE, *supply_charts.OTIF_SCALE]:
        assert ui.contrast_ratio(ui.TEXT, colour) >= 4.5, colour


#: Machado, Oliveira & Fernandes (2009), deuteranopia at severity 1, on linear RGB.
DEUTERANOPIA = ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881))


def _linear(hex_colour: str) -> list[float]:
    out = []
    for i in (1, 3, 5):
        c = int(hex_colour[i : i + 2], 16) / 255
        out.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    return out


def _lab_seen_with_deuteranopia(hex_colour: str) -> tuple[float, float, float]:
    v = _linear(hex_colour)
    r, g, b = (min(max(sum(m * c for m, c in zip(row, v, strict=True)), 0.0), 1.0) for row in DEUTERANOPIA)
    x, y, z = (0.4124 * r + 0.3576 * g + 0.1805 * b, 0.2126 * r + 0.7152 * g + 0.0722 * b,
               0.0193 * r + 0.1192 * g + 0.9505 * b)  # fmt: skip

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    fx, fy, fz = f(x / 0.95047), f(y), f(z / 1.08883)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def _apart(a: str, b: str) -> float:
    """CIE76 ΔE between two colours as a deuteranope sees them."""
    return math.dist(_lab_seen_with_deuteranopia(a), _lab_seen_with_deuteranopia(b))


def test_status_colours_stay_apart_for_deuteranopia() -> None:
    assert _apart("#16a34a", "#dc2626") < 25  # the former green and red: ΔE 20.6
    ok, warning, bad = (ui.COLORS[k] for k in ("ok", "warning", "bad"))
    assert min(_apart(ok, warning), _apart(ok, bad), _apart(warning, bad)) >= 25
    assert _apart(ui.COLORS["forecast"], ui.COLORS["consensus"]) >= 25


def test_every_status_light_has_a_symbol_and_a_word() -> None:
    assert ui.STATUS_MARK == {"green": "✔ on target", "amber": "▲ watch", "red": "✖ off target", "grey": "○ no data"}


def test_every_metric_card_of_the_pages_has_a_help_text() -> None:
    """Every ``.metric(...)`` call in views/ passes ``help=``: a card always says what its figure means."""
    root = Path(ui.__file__).parent
    missing = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "metric"
                    and not any(k.arg == "help" for k in node.keywords)):
                missing.append(f"{path.name}:{node.lineno}")
    assert missing == []
