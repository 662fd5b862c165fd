"""The executive summary for print: one A4 landscape PDF with the headline figures and their comparisons, the
sign-off state and the decisions, rendered from a review (:class:`sop_core.io.export.Review`) by matplotlib's PDF
backend (text stays text: it can be searched and copied).

The figures are shown as the Executive review page shows them (:func:`sop_core.formatting.money`: "€138.2M"), the
comparisons under each figure. Long decisions wrap inside their column; a summary longer than a page goes on to
the next one, the table's header repeated. Money is in the company currency (:data:`sop_core.config.CURRENCY`).
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sop_core import formatting
from sop_core.io.export import Review, plan_status
from sop_core.io.export_deck import pyplot, signoff_rows

#: A4 landscape [in].
PAGE_WIDTH, PAGE_HEIGHT = 11.69, 8.27
#: Margin kept free around the content [in].
MARGIN = 0.55
#: Width of an average character of DejaVu Sans [em]: how many characters a line of a given width holds.
CHAR_EM = 0.55
#: Line height [× font size], and the height of capitals above the baseline (DejaVu Sans) [× font size].
LEADING, ASCENT = 1.35, 0.95
#: Text colours: body, muted (labels and notes), rules.
INK, MUTED, RULE = "#1f2937", "#4b5563", "#d1d5db"
#: Columns of the decision tables: (header, share of the width).
DECISION_COLUMNS = (("Decision", 0.46), ("Owner", 0.14), ("Due", 0.12), ("Scenario", 0.16), ("Status", 0.12))
PAST_COLUMNS = (("Cycle", 0.09), ("Decision", 0.41), ("Status", 0.10), ("Outcome", 0.40))


@dataclass(frozen=True)
class Card:
    """A headline figure: its label, its value as the page shows it, and the comparisons under it."""

    label: str
    value: str
    notes: tuple[str, ...] = field(default=())


def cards(review: Review) -> list[Card]:
    """The headline figures of the Executive review page, with their comparisons with the budget and the last
    signed plan.

    Returns:
        Revenue, Margin, Fill rate (plan), Inventory value (end of the horizon) and Capacity risks, in this order.
    """
    head = review.headline
    money = formatting.money
    last = head.get("last_plan_label")
    revenue_notes = []
    if head.get("budget_revenue") is not None:
        revenue_notes.append(f"{money(head.get('budget_gap'))} vs budget")
    if last is not None:
        revenue_notes.append(f"{money(head.get('revenue_vs_last_plan'))} vs last plan {last}")
    margin_notes = [f"{formatting.percent(head.get('margin_rate'))} of revenue"]
    if head.get("budget_margin") is not None:
        margin_notes.append(f"{money(head.get('margin_vs_budget'))} vs budget")
    if last is not None:
        margin_notes.append(f"{money(head.get('margin_vs_last_plan'))} vs last plan {last}")
    return [
        Card("Revenue", money(head.get("revenue")), tuple(revenue_notes)),
        Card("Margin", money(head.get("margin")), tuple(margin_notes)),
        Card("Fill rate (plan)", formatting.percent(head.get("fill_rate")), ("served ÷ demand",)),
        Card("Inventory value", money(head.get("inventory_value_end")), ("at cost, end of the horizon",)),
        Card("Capacity risks", formatting.count(head.get("capacity_risks")),
             ("resource-months over regular capacity",)),
    ]


def plan_line(review: Review) -> str:
    """Which plan the summary shows, its horizon and the cycle's state."""
    head = review.headline
    months = [pd.Timestamp(head[k]).strftime("%b %Y") for k in ("first_period", "last_period") if head.get(k)]
    horizon = f" · {' – '.join(months)}" if months else ""
    return (f"Plan {head.get('scenario_name') or 'baseline'} · version {head.get('plan_version')} "
            f"({plan_status(head)}){horizon} · state: {review.state_label}")


def _text(value: Any) -> str:
    """A cell's text: a missing value as :data:`~sop_core.formatting.MISSING`, a date as ``YYYY-MM-DD``."""
    if formatting.is_missing(value) or value == "":
        return formatting.MISSING
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    return str(value)


def decision_rows(review: Review) -> list[list[str]]:
    """This cycle's decisions as rows of :data:`DECISION_COLUMNS`."""
    return [[_text(r["decision"]), _text(r["owner"]), _text(r["due_date"]), _text(r["scenario"]), _text(r["status"])]
            for r in review.decisions.to_dict("records")]


def past_rows(review: Review) -> list[list[str]]:
    """Earlier cycles' decisions and their outcome as rows of :data:`PAST_COLUMNS`: the recorded outcome, and the
    revenue against the plan where actuals exist."""
    rows = []
    for r in review.past.to_dict("records"):
        against = (f"revenue {formatting.percent(r['actual_vs_plan'])} vs plan" if r.get("months")
                   else _text(r.get("result")))
        outcome = f"{r['outcome']}; {against}" if r.get("outcome") else against
        rows.append([_text(r["cycle"]), _text(r["decision"]), _text(r["status"]), outcome])
    return rows


class _Pages:
    """Pages of the PDF written top to bottom: a cursor from the top of the page [in], a new page when the next
    block does not fit."""

    def __init__(self, title: str) -> None:
        from matplotlib.backends.backend_pdf import PdfPages

        self.plt = pyplot()
        self.out = io.BytesIO()
        self.pdf: Any = PdfPages(self.out, metadata={"Title": title, "Subject": "S&OP executive summary"})
        self.title = title
        self.fig: Any = None
        self.y = 0.0
        self.count = 0
        self.new_page()

    @property
    def width(self) -> float:
        return PAGE_WIDTH - 2 * MARGIN

    def new_page(self) -> None:
        self.close_page()
        self.fig = self.plt.figure(figsize=(PAGE_WIDTH, PAGE_HEIGHT))
        self.count += 1
        self.y = MARGIN
        if self.count > 1:  # a continued page names what it continues
            self.write(f"{self.title} (continued)", 9, color=MUTED)

    def close_page(self) -> None:
        if self.fig is not None:
            self.pdf.savefig(self.fig)
            self.plt.close(self.fig)
            self.fig = None

    def room(self, height: float) -> None:
        """Start a new page unless ``height`` [in] fits under the cursor."""
        if self.y + height > PAGE_HEIGHT - MARGIN:
            self.new_page()

    def put(self, x: float, y: float, lines: list[str], size: float, **kwargs: Any) -> None:  # noqa: ANN401
        """``lines`` of text, the first one's top at ``x``, ``y`` [in from the page's top left]; each line on its
        own baseline, so that a line without capitals ("open") stands level with its neighbours."""
        for i, line in enumerate(lines):
            baseline = y + i * line_height(size) + ASCENT * size / 72
            self.fig.text(x / PAGE_WIDTH, 1 - baseline / PAGE_HEIGHT, line, fontsize=size, va="baseline",
                          ha="left", color=kwargs.get("color", INK), weight=kwargs.get("weight", "normal"))

    def write(self, text: str, size: float, *, color: str = INK, weight: str = "normal", gap: float = 0.04) -> None:
        """A paragraph over the page's width, wrapped."""
        lines = wrap(text, self.width, size)
        height = len(lines) * line_height(size)
        self.room(height)
        self.put(MARGIN, self.y, lines, size, color=color, weight=weight)
        self.y += height + gap

    def rule(self) -> None:
        y = 1 - self.y / PAGE_HEIGHT
        self.fig.add_artist(self.plt.Line2D([MARGIN / PAGE_WIDTH, 1 - MARGIN / PAGE_WIDTH], [y, y], color=RULE,
                                            linewidth=0.8))
        self.y += 0.08

    def cards(self, shown: list[Card]) -> None:
        """The headline figures side by side: label, value in large type, the comparisons under it."""
        width = self.width / len(shown)
        heights = []
        for i, card in enumerate(shown):
            x, y = MARGIN + i * width, self.y
            self.put(x, y, [card.label], 11, color=MUTED)
            y += line_height(11)
            self.put(x, y, [card.value], 24, weight="bold")
            y += line_height(24)
            notes = [line for note in card.notes for line in wrap(note, width - 0.1, 9)]
            self.put(x, y, notes, 9, color=MUTED)
            heights.append(y + len(notes) * line_height(9) - self.y)
        self.y += max(heights) + 0.15

    def table(self, columns: tuple[tuple[str, float], ...], rows: list[list[str]], size: float = 9.5) -> None:
        """A table over the page's width, each cell wrapped to its column; the header again on a new page."""
        widths = [share * self.width for _name, share in columns]
        step = line_height(size)

        def row(cells: list[str], weight: str) -> None:
            wrapped = [wrap(text, w - 0.12, size) for text, w in zip(cells, widths, strict=True)]
            height = max(len(lines) for lines in wrapped) * step + 0.06
            if self.y + height > PAGE_HEIGHT - MARGIN:
                self.new_page()
                if weight != "bold":
                    row([name for name, _share in columns], "bold")
            x = MARGIN
            for lines, w in zip(wrapped, widths, strict=True):
                self.put(x, self.y, lines, size, weight=weight)
                x += w
            self.y += height

        row([name for name, _share in columns], "bold")
        for cells in rows:
            row(cells, "normal")
        self.y += 0.12

    def finish(self) -> bytes:
        self.close_page()
        self.pdf.close()
        return self.out.getvalue()


def line_height(size: float) -> float:
    """The height of a line of text of ``size`` points [in]."""
    return size * LEADING / 72


def wrap(text: str, width: float, size: float) -> list[str]:
    """``text`` wrapped into lines that fit ``width`` [in] at ``size`` points (at least one line).

    >>> wrap("Pre-build Black Friday stock: cover 1.2 months", 2.0, 10)
    ['Pre-build Black Friday', 'stock: cover 1.2 months']
    """
    chars = max(int(width * 72 / (size * CHAR_EM)), 8)
    return textwrap.wrap(text, chars, break_long_words=True) or [""]


def summary_pdf(review: Review) -> bytes:
    """The executive summary of a review as PDF bytes, A4 landscape: the plan and the cycle's state, the headline
    figures (:func:`cards`), the sign-off (who signed the plan version for each role, and when), this cycle's
    decisions (:func:`decision_rows`) and the earlier cycles' decisions with their outcome (:func:`past_rows`)."""
    title = f"S&OP executive summary — cycle {review.label}"
    pages = _Pages(title)
    pages.write(title, 18, weight="bold", gap=0.02)
    pages.write(plan_line(review), 10.5, color=MUTED, gap=0.12)
    pages.rule()
    pages.cards(cards(review))
    pages.rule()
    line, rows = signoff_rows(review)
    pages.write("Sign-off", 13, weight="bold")
    pages.write(line, 10)
    pages.table(tuple((name, share) for name, share in zip(rows[0], (0.3, 0.25, 0.3, 0.15), strict=True)), rows[1:])
    pages.write("Decisions of this cycle", 13, weight="bold")
    decided = decision_rows(review)
    if decided:
        pages.table(DECISION_COLUMNS, decided)
    else:
        pages.write("No decision logged in this cycle yet.", 10, gap=0.15)
    past = past_rows(review)
    if past:
        pages.write("Earlier decisions and their outcome", 13, weight="bold")
        pages.table(PAST_COLUMNS, past)
    return pages.finish()
