"""The executive slide deck of the meeting pack (.pptx), rendered from a review (:class:`sop_core.io.export.Review`).

The slides are 16:9 (13.333 × 7.5 in) from python-pptx's default template, its placeholders laid out again for that
width (:func:`widescreen`), so titles sit centred. Charts are drawn by matplotlib at the size they take on the
slide and :data:`CHART_DPI` dots per inch, placed at that size inside the slide's margins; each chart slide's
speaker notes give the figures behind it. The last slide is the sign-off: who signed the plan version for each
sign-off role, and when. Money is in the company currency (:data:`sop_core.config.CURRENCY`).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sop_core.config import CURRENCY
from sop_core.formatting import MISSING, by_kind, money_in_full, percent
from sop_core.io.export import NOT_SIGNED, PlanDiff, Review, headline_rows
from sop_core.labels import label

log = logging.getLogger(__name__)

#: Slide titles of the deck, in order.
SLIDES = ("S&OP executive review", "Headline figures", "Plan vs last plan", "Revenue by month",
          "Risks and opportunities", "Scenarios", "Decisions", "Sign-off")
#: Slide size [in]: 16:9.
SLIDE_WIDTH, SLIDE_HEIGHT = 13.333, 7.5
#: Dots per inch of a chart at the size it takes on the slide.
CHART_DPI = 200
#: One inch [EMU].
EMU_PER_INCH = 914_400
#: Margin kept free around the slide's content [in]; content starts below the title at :data:`CONTENT_TOP`.
MARGIN = 0.5
CONTENT_TOP = 1.7
#: Columns of the sign-off slide's table.
SIGNOFF_COLUMNS = ("role", "username", "signed_at", "plan_version")


@dataclass(frozen=True)
class Box:
    """A rectangle on the slide [in]."""

    left: float
    top: float
    width: float
    height: float


#: Where the plan-diff chart and its caption go, and the revenue chart.
WATERFALL_BOX = Box(MARGIN, CONTENT_TOP, SLIDE_WIDTH - 2 * MARGIN, 4.4)
WATERFALL_CAPTION = Box(MARGIN, WATERFALL_BOX.top + WATERFALL_BOX.height + 0.1, SLIDE_WIDTH - 2 * MARGIN, 0.8)
REVENUE_BOX = Box(MARGIN, CONTENT_TOP, SLIDE_WIDTH - 2 * MARGIN, SLIDE_HEIGHT - MARGIN - CONTENT_TOP)


def _emu(inches: float) -> int:
    return round(inches * EMU_PER_INCH)


def pyplot() -> Any:
    """matplotlib's pyplot on the backend that needs no display (imported when a deck is drawn, not when the app
    starts)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def widescreen(prs: Any) -> None:
    """Make a presentation 16:9 and lay the placeholders of its master and layouts out again for that width
    (each one's left edge and width stretched by the same factor), so that a title centred on the 4:3 template
    stays centred."""
    from pptx.util import Emu

    factor = _emu(SLIDE_WIDTH) / prs.slide_width
    prs.slide_width, prs.slide_height = Emu(_emu(SLIDE_WIDTH)), Emu(_emu(SLIDE_HEIGHT))
    shapes = [*prs.slide_master.placeholders, *(ph for layout in prs.slide_layouts for ph in layout.placeholders)]
    for shape in shapes:
        if shape._element.xfrm is not None:  # its own geometry; the others inherit the master's
            shape.left, shape.width = Emu(round(shape.left * factor)), Emu(round(shape.width * factor))


def _png(fig: Any) -> io.BytesIO:
    """A figure as PNG at :data:`CHART_DPI`, its size as set (the size it takes on the slide)."""
    plt = pyplot()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=CHART_DPI)
    plt.close(fig)
    out.seek(0)
    return out


def waterfall_png(waterfall: pd.DataFrame, title: str, size: tuple[float, float]) -> io.BytesIO:
    """The plan-diff waterfall (:func:`sop_core.planning.plan_diff.waterfall`) drawn as a PNG of ``size`` [in]."""
    plt = pyplot()
    with plt.rc_context({"font.size": 13}):
        fig, ax = plt.subplots(figsize=size, layout="constrained")
        running = 0.0
        for i, r in enumerate(waterfall.itertuples(index=False)):
            if r.kind in ("absolute", "total"):
                ax.bar(i, r.value / 1e6, color="#1f2937")
                running = r.value
            else:
                color = "#16a34a" if r.value >= 0 else "#dc2626"
                ax.bar(i, r.value / 1e6, bottom=running / 1e6, color=color)
                running += r.value
        ax.set_xticks(range(len(waterfall)), waterfall["label"], rotation=15, ha="right")
        ax.set_ylabel(f"million {CURRENCY}")
        ax.set_title(title)
        levels = [r.value if r.kind != "relative" else None for r in waterfall.itertuples(index=False)]
        cum, tops = 0.0, []
        for r, lv in zip(waterfall.itertuples(index=False), levels, strict=True):
            cum = lv if lv is not None else cum + r.value
            tops.append(cum)
        lo, hi = min(tops) / 1e6, max(tops) / 1e6
        pad = max((hi - lo) * 0.3, abs(hi) * 0.01)
        ax.set_ylim(lo - pad, hi + pad)
        return _png(fig)


def revenue_by_month(table: pd.DataFrame) -> pd.DataFrame:
    """Plan and budget revenue per month of a plan table: ``period, revenue, budget_revenue`` [currency] (the
    budget empty for a month without one)."""
    return table.groupby("period", as_index=False)[["revenue", "budget_revenue"]].sum(min_count=1)


def revenue_png(by_month: pd.DataFrame, size: tuple[float, float]) -> io.BytesIO:
    """Plan revenue vs budget by month (:func:`revenue_by_month`) as a PNG of ``size`` [in]."""
    plt = pyplot()
    with plt.rc_context({"font.size": 13}):
        fig, ax = plt.subplots(figsize=size, layout="constrained")
        months = by_month["period"].dt.strftime("%Y-%m")
        ax.bar(months, by_month["revenue"] / 1e6, color="#2563eb", label="Plan")
        ax.plot(months, by_month["budget_revenue"] / 1e6, color="#d97706", marker="o", label="Budget")
        ax.set_ylabel(f"million {CURRENCY}")
        ax.tick_params(axis="x", rotation=45)
        ax.legend()
        return _png(fig)


def waterfall_notes(diff: PlanDiff) -> str:
    """The speaker notes of the plan-diff chart: each step of the waterfall and the total change."""
    lines = [f"Revenue {diff.before_label} → {diff.after_label} over {diff.basis}, by cause:"]
    lines += [f"{r.label}: {money_in_full(r.value)}" for r in diff.waterfall.itertuples(index=False)]
    lines.append(f"Total change: {money_in_full(diff.total_change)}")
    return "\n".join(lines)


def revenue_notes(by_month: pd.DataFrame) -> str:
    """The speaker notes of the revenue chart: plan and budget revenue in total and per month, the plan against
    the budget over the months that have one."""
    budgeted = by_month[by_month["budget_revenue"].notna()]
    gap = float((budgeted["revenue"] - budgeted["budget_revenue"]).sum()) if not budgeted.empty else None
    lines = [
        f"Plan revenue: {money_in_full(float(by_month['revenue'].sum()))} over {len(by_month)} months",
        f"Budget revenue: {money_in_full(float(budgeted['budget_revenue'].sum()) if gap is not None else None)} "
        f"over {len(budgeted)} budgeted months",
        f"Plan vs budget over the budgeted months: {money_in_full(gap)}",
    ]
    lines += [f"{r.period:%Y-%m}: plan {money_in_full(r.revenue)}, budget {money_in_full(r.budget_revenue)}"
              for r in by_month.itertuples(index=False)]
    return "\n".join(lines)


def _picture(slide: Any, png: io.BytesIO, box: Box) -> Any:
    """Place a chart drawn for ``box`` at its drawn size (pixels ÷ :data:`CHART_DPI`), centred in the box."""
    from PIL import Image
    from pptx.util import Emu

    px_w, px_h = Image.open(png).size
    png.seek(0)
    width, height = px_w / CHART_DPI, px_h / CHART_DPI
    left = box.left + (box.width - width) / 2
    top = box.top + (box.height - height) / 2
    # the placed size rounded down to whole EMU: never under CHART_DPI
    return slide.shapes.add_picture(png, Emu(_emu(left)), Emu(_emu(top)), Emu(px_w * EMU_PER_INCH // CHART_DPI),
                                    Emu(px_h * EMU_PER_INCH // CHART_DPI))


def _text(slide: Any, box: Box, lines: list[str], size: int) -> None:
    from pptx.util import Emu, Pt

    frame = slide.shapes.add_textbox(Emu(_emu(box.left)), Emu(_emu(box.top)), Emu(_emu(box.width)),
                                     Emu(_emu(box.height)))
    frame = frame.text_frame
    frame.word_wrap = True
    for i, text in enumerate(lines or ["–"]):
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        para.text = text
        para.font.size = Pt(size)


def signoff_rows(data: Review) -> tuple[str, list[list[str]]]:
    """The sign-off slide's summary line and its table rows (:data:`SIGNOFF_COLUMNS`, the header first)."""
    version = data.headline.get("plan_version")
    frame = data.signoff
    rows = [[label(c) for c in SIGNOFF_COLUMNS]]
    for r in frame.to_dict("records"):
        when = r["signed_at"]
        rows.append([r["label"], r["username"] if r["signed"] else NOT_SIGNED,
                     pd.Timestamp(when).strftime("%Y-%m-%d %H:%M") if r["signed"] and pd.notna(when) else MISSING,
                     str(version) if r["signed"] else MISSING])
    signed = int(frame["signed"].sum())
    if signed == len(frame):
        line = f"Plan version {version} signed by all {signed} roles; the version is frozen. State: {data.state_label}."
    else:
        line = (f"Plan version {version}: {signed} of {len(frame)} roles signed; not frozen yet. "
                f"State: {data.state_label}.")
    return line, rows


def deck(data: Review) -> bytes:
    """The executive deck of a review as .pptx bytes: the slides of :data:`SLIDES`, 16:9, charts as PNG images
    with the figures behind them in the speaker notes, and a sign-off slide."""
    from pptx import Presentation
    from pptx.util import Emu, Pt

    prs = Presentation()
    widescreen(prs)
    body = Box(0.7, 1.6, SLIDE_WIDTH - 1.4, SLIDE_HEIGHT - 1.6 - MARGIN)

    def slide(title: str) -> Any:
        s = prs.slides.add_slide(prs.slide_layouts[5])  # title only
        s.shapes.title.text = title
        return s

    first = prs.slides.add_slide(prs.slide_layouts[0])
    first.shapes.title.text = SLIDES[0]
    first.placeholders[1].text = f"Cycle {data.label} · plan {data.headline.get('scenario_name')}"
    s = slide(SLIDES[1])
    _text(s, body, [f"{name}: {by_kind(v, kind, pack=True)}" for name, v, kind in headline_rows(data)], 16)
    s = slide(SLIDES[2])
    d = data.diff
    if d is not None:
        box = WATERFALL_BOX
        _picture(s, waterfall_png(d.waterfall, f"{d.before_label} → {d.after_label}", (box.width, box.height)), box)
        steps = d.waterfall.set_index("step")["value"]
        _text(s, WATERFALL_CAPTION, [
            f"Revenue vs last plan: {d.before_label} {money_in_full(steps['before'])} → {d.after_label} "
            f"{money_in_full(steps['after'])}, total change {money_in_full(d.total_change)} over {d.basis}"], 14)
        s.notes_slide.notes_text_frame.text = waterfall_notes(d)
    else:
        _text(s, body, ["No earlier signed plan to compare with."], 20)
    s = slide(SLIDES[3])
    by_month = revenue_by_month(data.table)
    _picture(s, revenue_png(by_month, (REVENUE_BOX.width, REVENUE_BOX.height)), REVENUE_BOX)
    s.notes_slide.notes_text_frame.text = revenue_notes(by_month)
    s = slide(SLIDES[4])
    lines = [f"Warning: {data.unsourced}"] if data.unsourced else []
    lines += [f"Risk: {r}" for r in data.risks["text"]]
    lines += [f"Opportunity: {r}" for r in data.opportunities["text"]]
    if (data.risks["kind"] == "capacity").any():
        lines.append(f"Capacity risks: {data.plan_load_basis.lower()} (rough-cut).")
    _text(s, body, lines, 18)
    s = slide(SLIDES[5])
    sc_lines = [
        f"{r['name']} ({r['status']}): revenue {money_in_full(r['revenue'])}, margin {money_in_full(r['margin'])}"
        for r in data.scenarios.to_dict("records")
    ]
    _text(s, body, sc_lines or ["No saved scenario."], 18)
    s = slide(SLIDES[6])
    dec = [f"{r['decision']} — {r['owner']}, due {r['due_date']}" for r in data.decisions.to_dict("records")]
    dec += [
        f"[{r['cycle']}] {r['decision']} ({r['scope']}): "
        + (f"revenue vs plan {percent(r['actual_vs_plan'], separator='')}" if r["months"] else r["result"])
        for r in data.past.to_dict("records")
    ]
    _text(s, body, dec or ["No decision logged."], 16)
    s = slide(SLIDES[7])
    line, rows = signoff_rows(data)
    _text(s, Box(body.left, body.top, body.width, 0.6), [line], 18)
    shape = s.shapes.add_table(len(rows), len(SIGNOFF_COLUMNS), Emu(_emu(body.left)), Emu(_emu(body.top + 0.9)),
                               Emu(_emu(body.width)), Emu(_emu(0.5 * len(rows))))
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            cell = shape.table.cell(i, j)
            cell.text = text
            cell.text_frame.paragraphs[0].font.size = Pt(16)
    buf = io.BytesIO()
    prs.save(buf)
    log.info("deck of cycle %s: %d slides", data.label, len(prs.slides))
    return buf.getvalue()
