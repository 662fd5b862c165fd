"""The executive meeting pack: a formatted Excel workbook (one sheet per step) and a slide deck.

Both are rendered from the executive review they are handed (:class:`Review`; no browser and no database
needed): the workbook with xlsxwriter, the deck with python-pptx and charts drawn by matplotlib as PNG
images. Money is in the company currency
(:data:`sop_core.config.CURRENCY`), quantities in units.

Every text cell of the workbook is a string, never a formula or a link: a decision written as
``=HYPERLINK("http://…","y")`` stays that text (xlsxwriter's ``strings_to_formulas`` and ``strings_to_urls`` are
off), and a text that a spreadsheet would take for a formula when edited (it starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return, :data:`~sop_core.text_checks.FORMULA_STARTS`) carries Excel's quote prefix.
"""

from __future__ import annotations

import io
import logging
from typing import Any, Protocol

import pandas as pd

from sop_core.config import CURRENCY
from sop_core.formatting import by_kind, money_in_full, percent
from sop_core.planning import plan_diff as diff_math
from sop_core.text_checks import FORMULA_STARTS

log = logging.getLogger(__name__)

#: Sheets of the Excel pack, in order.
SHEETS = ("Summary", "Demand review", "Supply review", "Reconciliation", "Executive review", "Plan capacity",
          "Plan diff", "Decisions", "Sign-off")
#: Columns of the two capacity sheets (rough-cut load per resource and month).
CAPACITY_COLUMNS = ["resource", "period", "load_hours", "capacity_hours", "utilisation", "shortfall_hours", "status"]
#: Slide titles of the deck, in order.
SLIDES = ("S&OP executive review", "Headline figures", "Plan vs last plan", "Revenue by month",
          "Risks and opportunities", "Scenarios", "Decisions")


class PlanDiff(Protocol):
    """A plan diff as the pack shows it (:class:`sop_core.services.plan_changes.DiffResult`)."""

    @property
    def before_label(self) -> str: ...

    @property
    def after_label(self) -> str: ...

    @property
    def waterfall(self) -> pd.DataFrame: ...  # label, value, kind, step

    @property
    def basis(self) -> str: ...

    @property
    def total_change(self) -> float: ...

    def by(self, level: str) -> pd.DataFrame: ...


class Review(Protocol):
    """What the pack and the deck show of one cycle (:class:`sop_core.services.executive.ExecutiveReview`)."""

    @property
    def headline(self) -> dict[str, Any]: ...

    @property
    def table(self) -> pd.DataFrame: ...

    @property
    def risks(self) -> pd.DataFrame: ...

    @property
    def opportunities(self) -> pd.DataFrame: ...

    @property
    def capacity(self) -> pd.DataFrame: ...

    @property
    def demand_capacity(self) -> pd.DataFrame: ...

    @property
    def demand_basis(self) -> str: ...

    @property
    def unsourced(self) -> str | None: ...

    @property
    def scenarios(self) -> pd.DataFrame: ...

    @property
    def decisions(self) -> pd.DataFrame: ...

    @property
    def past(self) -> pd.DataFrame: ...

    @property
    def signoff(self) -> pd.DataFrame: ...

    @property
    def plan_load_basis(self) -> str: ...

    @property
    def line_margin_basis(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def state_label(self) -> str: ...

    @property
    def diff(self) -> PlanDiff | None: ...


def headline_rows(review: Review) -> list[tuple[str, Any, str]]:
    """``(label, value, kind)`` rows of the review's headline figures (kind: money | share | count | text, shown by
    :func:`sop_core.formatting.by_kind` as the pack writes it).

    The comparisons with the last signed plan name the months they cover
    (:class:`sop_core.services.plan_changes.LastPlanChange`):
    revenue over the plan diff's window, the months now history at actual sales; margin over the months both
    plans forecast.
    """
    head = review.headline
    last = head.get("last_plan_label")
    if last is None:
        vs_last = [("Revenue vs last plan (none)", None, "money")]
        margin_last = [("Margin vs last plan (none)", None, "money")]
    else:
        vs_last = [(f"Revenue vs last plan {last} over {head['last_plan_revenue_basis']}",
                    head.get("revenue_vs_last_plan"), "money")]
        if head.get("revenue_vs_last_plan_new_actuals"):
            vs_last += [
                ("  of which new actuals (months now history)", head["revenue_vs_last_plan_new_actuals"], "money"),
                ("  of which the months both plans forecast", head["revenue_vs_last_plan_forecast_months"], "money"),
            ]
        margin_last = [(f"Margin vs last plan {last} over {head['last_plan_margin_basis']} (line margin, before "
                        "overtime and alternate-supplier premium)", head.get("margin_vs_last_plan"), "money")]
    return [
        ("Plan", f"{head.get('scenario_name')} (version {head.get('plan_version')}, {head.get('source')})", "text"),
        ("Revenue", head.get("revenue"), "money"),
        ("Revenue vs budget", head.get("revenue_vs_budget"), "money"),
        *vs_last,
        ("Margin (after holding cost, overtime and alternate-supplier premium)", head.get("margin"), "money"),
        ("Margin vs budget", head.get("margin_vs_budget"), "money"),
        *margin_last,
        ("Margin rate", head.get("margin_rate"), "share"),
        ("Fill rate (plan)", head.get("fill_rate"), "share"),
        ("Inventory value (end)", head.get("inventory_value_end"), "money"),
        (f"Capacity risks (resource-months over regular capacity, {review.plan_load_basis.lower()})",
         head.get("capacity_risks"), "count"),
        ("State", review.state_label, "text"),
    ]


# --------------------------------------------------------------------------- Excel
def excel_pack(data: Review) -> bytes:
    """The meeting pack of a review as .xlsx bytes: the sheets of :data:`SHEETS`, each with a bold title, a
    header row, number formats, frozen panes and fitted column widths."""
    buf = io.BytesIO()
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with pd.ExcelWriter(buf, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        book = writer.book
        quoted = book.add_format({"quote_prefix": True})
        title = book.add_format({"bold": True, "font_size": 14})
        header = book.add_format({"bold": True, "bg_color": "#DBEAFE", "border": 1})
        money = book.add_format({"num_format": "#,##0"})
        share = book.add_format({"num_format": "0.0%"})

        def sheet(name: str, frame: pd.DataFrame, heading: str, formats: dict[str, Any] | None = None) -> None:
            frame = frame.copy()
            for col in frame.columns:
                if pd.api.types.is_datetime64_any_dtype(frame[col]):
                    frame[col] = frame[col].dt.strftime("%Y-%m-%d")
            frame.to_excel(writer, sheet_name=name, startrow=2, index=False)
            ws = writer.sheets[name]
            ws.write_string(0, 0, heading, title)
            for j, col in enumerate(frame.columns):  # a text a spreadsheet would read as a formula: quote-prefixed
                for i, value in enumerate(frame[col].tolist()):
                    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
                        ws.write_string(3 + i, j, value, quoted)
            for j, col in enumerate(frame.columns):
                ws.write_string(2, j, str(col), header)
                width = max(10, min(48, int(frame[col].astype(str).str.len().max() if len(frame) else 10) + 2,
                                    ))
                width = max(width, len(str(col)) + 2)
                ws.set_column(j, j, width, (formats or {}).get(col))
            ws.freeze_panes(3, 0)

        rows = [(label, by_kind(v, kind, pack=True)) for label, v, kind in headline_rows(data)]
        if data.unsourced:
            rows.append(("Warning: unlimited supply", data.unsourced))
        head = pd.DataFrame(rows, columns=["Figure", "Value"])
        sheet("Summary", head, f"S&OP executive review — cycle {data.label}")
        table = data.table
        demand = table.pivot_table(index="family", columns=table["period"].dt.strftime("%Y-%m"),
                                   values="demand_qty", aggfunc="sum").reset_index()
        sheet("Demand review", demand, "Demand by family and month [units]",
              {c: money for c in demand.columns if c != "family"})
        hours = {"load_hours": money, "capacity_hours": money, "utilisation": share, "shortfall_hours": money}
        sheet("Supply review", data.demand_capacity[CAPACITY_COLUMNS],
              f"{data.demand_basis}: rough-cut load vs regular capacity [hours], as on the Supply review page",
              hours)
        sheet("Reconciliation", data.scenarios, "Scenarios of the cycle",
              {"revenue": money, "margin": money, "margin_rate": share, "inventory_value_end": money,
               "fill_rate": share})
        sheet("Executive review", table, f"Plan by family and month [{CURRENCY}, units]; margin = "
              f"{data.line_margin_basis}",
              {c: money for c in ("demand_qty", "supply_qty", "inventory_qty", "revenue", "cost", "margin",
                                  "budget_revenue")})
        sheet("Plan capacity", data.capacity[CAPACITY_COLUMNS],
              f"{data.plan_load_basis}: rough-cut load vs regular capacity [hours], as on the Executive "
              "review page", hours)
        d = data.diff
        if d is not None:
            fam = d.by("family")
            wf = d.waterfall[["label", "value"]]
            sheet("Plan diff", pd.concat([wf.rename(columns={"label": "family", "value": "change"}), fam],
                                         ignore_index=True),
                  f"Plan change {d.before_label} → {d.after_label} by cause over {d.basis} [{CURRENCY}]",
                  {c: money for c in ("change", "before", "after", *diff_math.CAUSES)})
        else:
            sheet("Plan diff", pd.DataFrame({"note": ["no earlier signed plan to compare with"]}), "Plan change")
        parts = [f for f in (data.decisions.assign(cycle=data.label), data.past) if not f.empty]
        dec = pd.concat(parts, ignore_index=True) if parts else data.decisions
        sheet("Decisions", dec.drop(columns=["scenario_id"], errors="ignore"), "Decision log",
              {"planned_qty": money, "actual_qty": money, "volume_vs_plan": share, "planned_revenue": money,
               "actual_revenue": money, "actual_vs_plan": share})
        sheet("Sign-off", data.signoff, "Sign-off by role")
    log.info("Excel pack of cycle %s: %d bytes", data.label, buf.tell())
    return buf.getvalue()


# --------------------------------------------------------------------------- deck
def _png(fig: Any) -> io.BytesIO:
    import matplotlib.pyplot as plt

    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    out.seek(0)
    return out


def waterfall_png(waterfall: pd.DataFrame, title: str) -> io.BytesIO:
    """The plan-diff waterfall (:func:`sop_core.planning.plan_diff.waterfall`) drawn as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.5))
    running = 0.0
    for i, r in enumerate(waterfall.itertuples(index=False)):
        if r.kind in ("absolute", "total"):
            ax.bar(i, r.value / 1e6, color="#1f2937")
            running = r.value
        else:
            color = "#16a34a" if r.value >= 0 else "#dc2626"
            ax.bar(i, r.value / 1e6, bottom=running / 1e6, color=color)
            running += r.value
    ax.set_xticks(range(len(waterfall)), waterfall["label"], rotation=20, ha="right")
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


def revenue_png(table: pd.DataFrame) -> io.BytesIO:
    """Plan revenue vs budget by month as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by = table.groupby("period", as_index=False)[["revenue", "budget_revenue"]].sum(min_count=1)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.bar(by["period"].dt.strftime("%Y-%m"), by["revenue"] / 1e6, color="#2563eb", label="Plan")
    ax.plot(by["period"].dt.strftime("%Y-%m"), by["budget_revenue"] / 1e6, color="#d97706", marker="o",
            label="Budget")
    ax.set_ylabel(f"million {CURRENCY}")
    ax.tick_params(axis="x", rotation=45)
    ax.legend()
    return _png(fig)


def deck(data: Review) -> bytes:
    """The executive deck of a review as .pptx bytes: the slides of :data:`SLIDES` (charts as PNG images)."""
    from pptx import Presentation
    from pptx.util import Inches, Pt

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)

    def slide(title: str) -> Any:
        s = prs.slides.add_slide(prs.slide_layouts[5])  # title only
        s.shapes.title.text = title
        return s

    def bullets(s: Any, lines: list[str], size: int = 20) -> None:
        box = s.shapes.add_textbox(Inches(0.7), Inches(1.6), Inches(12), Inches(5.5))
        frame = box.text_frame
        frame.word_wrap = True
        for i, text in enumerate(lines or ["–"]):
            para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            para.text = text
            para.font.size = Pt(size)

    first = prs.slides.add_slide(prs.slide_layouts[0])
    first.shapes.title.text = SLIDES[0]
    first.placeholders[1].text = f"Cycle {data.label} · plan {data.headline.get('scenario_name')}"
    s = slide(SLIDES[1])
    bullets(s, [f"{label}: {by_kind(v, kind, pack=True)}" for label, v, kind in headline_rows(data)], 16)
    s = slide(SLIDES[2])
    d = data.diff
    if d is not None:
        s.shapes.add_picture(waterfall_png(d.waterfall, f"{d.before_label} → {d.after_label}"),
                             Inches(1.2), Inches(1.4), width=Inches(10.5))
        steps = d.waterfall.set_index("step")["value"]
        note = s.shapes.add_textbox(Inches(0.7), Inches(6.3), Inches(12), Inches(1.0)).text_frame
        note.word_wrap = True
        note.text = (f"Revenue vs last plan: {d.before_label} {money_in_full(steps['before'])} → "
                     f"{d.after_label} {money_in_full(steps['after'])}, total change {money_in_full(d.total_change)} "
                     f"over {d.basis}")
        note.paragraphs[0].font.size = Pt(14)
    else:
        bullets(s, ["No earlier signed plan to compare with."])
    s = slide(SLIDES[3])
    s.shapes.add_picture(revenue_png(data.table), Inches(0.7), Inches(1.5), width=Inches(11.5))
    s = slide(SLIDES[4])
    lines = [f"Warning: {data.unsourced}"] if data.unsourced else []
    lines += [f"Risk: {r}" for r in data.risks["text"]]
    lines += [f"Opportunity: {r}" for r in data.opportunities["text"]]
    if (data.risks["kind"] == "capacity").any():
        lines.append(f"Capacity risks: {data.plan_load_basis.lower()} (rough-cut).")
    bullets(s, lines, 18)
    s = slide(SLIDES[5])
    sc_lines = [
        f"{r['name']} ({r['status']}): revenue {money_in_full(r['revenue'])}, margin {money_in_full(r['margin'])}"
        for r in data.scenarios.to_dict("records")
    ]
    bullets(s, sc_lines or ["No saved scenario."], 18)
    s = slide(SLIDES[6])
    dec = [f"{r['decision']} — {r['owner']}, due {r['due_date']}" for r in data.decisions.to_dict("records")]
    dec += [
        f"[{r['cycle']}] {r['decision']} ({r['scope']}): "
        + (f"revenue vs plan {percent(r['actual_vs_plan'], separator='')}" if r["months"] else r["result"])
        for r in data.past.to_dict("records")
    ]
    bullets(s, dec or ["No decision logged."], 16)
    buf = io.BytesIO()
    prs.save(buf)
    log.info("deck of cycle %s: %d slides", data.label, len(prs.slides))
    return buf.getvalue()

