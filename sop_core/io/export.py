"""The executive meeting pack: a formatted Excel workbook (one sheet per step), and what it shares with the
slide deck (:mod:`sop_core.io.export_deck`): the review it is rendered from and its headline figures.

Both are rendered from the executive review they are handed (:class:`Review`; no browser and no database
needed): the workbook with xlsxwriter, numbers as numbers in number formats, headers as human labels
(:mod:`sop_core.labels`). Money is in the company currency (:data:`sop_core.config.CURRENCY`), quantities in units.

Every text cell of the workbook is a string, never a formula or a link: a decision written as
``=HYPERLINK("http://…","y")`` stays that text (xlsxwriter's ``strings_to_formulas`` and ``strings_to_urls`` are
off), and a text that a spreadsheet would take for a formula when edited (it starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return, :data:`~sop_core.text_checks.FORMULA_STARTS`) carries Excel's quote prefix.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from typing import Any, Protocol

import numpy as np
import pandas as pd
import xlsxwriter

from sop_core.config import CURRENCY
from sop_core.formatting import money_in_full, percent
from sop_core.labels import KINDS, label
from sop_core.text_checks import FORMULA_STARTS

log = logging.getLogger(__name__)

#: Sheets of the Excel pack, in order.
SHEETS = ("Summary", "Demand review", "Supply review", "Reconciliation", "Executive review", "Plan capacity",
          "Plan diff", "Decisions", "Sign-off")
#: Columns of the two capacity sheets (rough-cut load per resource and month).
CAPACITY_COLUMNS = ["resource", "period", "load_hours", "capacity_hours", "utilisation", "shortfall_hours", "status"]


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


def plan_status(head: dict[str, Any]) -> str:
    """What the plan of a review is: "signed" once its version is signed off and frozen, else "proposed" (a
    promoted scenario) or "no scenario promoted" (the baseline)."""
    if head.get("frozen"):
        return "signed"
    return "no scenario promoted" if head.get("source") == "baseline" else str(head.get("source"))


def headline_rows(review: Review) -> list[tuple[str, Any, str]]:
    """``(label, value, kind)`` rows of the review's headline figures (kind: money | share | count | text, shown by
    :func:`sop_core.formatting.by_kind` as the deck writes it, in the workbook the number in the format of its
    kind). The cycle's state is the last row, the only one that states it.

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
        ("Plan", f"{head.get('scenario_name')} (version {head.get('plan_version')}, {plan_status(head)})", "text"),
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
#: Number formats of the workbook by kind of value: money in the company currency, units and hours whole,
#: shares as percentages, values already in percent with one decimal, months, dates and times.
NUMBER_FORMATS = {
    "money": f'#,##0 "{CURRENCY}"',
    "qty": "#,##0",
    "share": "0.0%",
    "pct": "0.0",
    "count": "0",
    "month": "yyyy-mm",
    "date": "yyyy-mm-dd",
    "time": "yyyy-mm-dd hh:mm",
}
#: Who signed, for a role that has not signed yet.
NOT_SIGNED = "not signed"
#: Widest column [characters]; longer text wraps in the cell.
MAX_WIDTH = 60


def _shown(value: Any, kind: str) -> str:
    """A cell's value roughly as Excel shows it in its number format (to fit the column's width)."""
    if isinstance(value, str):
        return value
    if kind == "money":
        return money_in_full(value)
    if kind == "share":
        return percent(value, separator="")
    return {"month": "2026-10", "date": "2026-10-31", "time": "2026-10-31 12:00"}.get(kind, f"{value:,.1f}")


def _cell_value(value: Any) -> Any:
    """A frame's value as a cell takes it: None for a missing value or empty text, a naive datetime (UTC) for a time,
    "yes"/"no" for a flag, a float or int for a number; text as it is."""
    if isinstance(value, str):
        return value or None
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.tz_convert("UTC").tz_localize(None) if value.tzinfo else value
        return value.to_pydatetime()
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


class _Sheet:
    """One sheet of the pack being written: a bold title, then regions — each one table under its own header
    row —, the first header row frozen, the columns fitted to what they show."""

    def __init__(self, book: Any, styles: dict[str, Any], name: str, title: str) -> None:
        self.ws = book.add_worksheet(name)
        self.styles = styles
        self.widths: dict[int, int] = {}
        self.row = 2
        self.text(0, 0, title, styles["title"], fit=False)
        self.ws.freeze_panes(3, 0)

    def text(self, row: int, col: int, text: str, style: Any = None, *, fit: bool = True) -> None:
        """Write one text cell (every text cell of the pack is written here): a text a spreadsheet would read as a
        formula when edited carries the quote prefix."""
        if text.startswith(FORMULA_STARTS):
            style = self.styles["quoted_wrap" if style is self.styles["wrap"] else "quoted"]
        self.ws.write_string(row, col, text, style)
        if fit:
            self._fit(col, text)

    def _fit(self, col: int, shown: str) -> None:
        self.widths[col] = max(self.widths.get(col, 0), len(shown))

    def value(self, row: int, col: int, value: Any, kind: str | None) -> None:
        """Write one cell: text as text, a number or a time as itself in the number format of its ``kind``."""
        value = _cell_value(value)
        if value is None:
            return
        if isinstance(value, str):
            self.text(row, col, value, self.styles["wrap"] if len(value) > MAX_WIDTH else None)
        elif isinstance(value, dt.date):
            kind = kind if kind in ("month", "date", "time") else "date"
            self.ws.write_datetime(row, col, value, self.styles[kind])
            self._fit(col, _shown(value, kind))
        else:
            self.ws.write_number(row, col, value, self.styles.get(kind or ""))
            self._fit(col, _shown(value, kind or ""))

    def header(self, labels: list[str]) -> None:
        for col, text in enumerate(labels):
            self.text(self.row, col, text, self.styles["header"])
        self.row += 1

    def table(self, frame: pd.DataFrame, kinds: dict[str, str] | None = None, *, empty: str = "none") -> None:
        """A region: the frame's columns as a header of human labels (:func:`sop_core.labels.label`), one row
        per record, each value in the number format of its column's kind (:data:`sop_core.labels.KINDS`; ``kinds``
        the kind of a column not named there)."""
        kinds = {**KINDS, **(kinds or {})}
        self.header([label(str(c)) for c in frame.columns])
        if frame.empty:
            self.text(self.row, 0, empty)
            self.row += 1
        for record in frame.itertuples(index=False):
            for col, (name, value) in enumerate(zip(frame.columns, record, strict=True)):
                self.value(self.row, col, value, kinds.get(str(name)))
            self.row += 1

    def subtitle(self, text: str) -> None:
        """Start a further region: a blank row, then its bold title."""
        self.row += 1
        self.text(self.row, 0, text, self.styles["bold"], fit=False)
        self.row += 1

    def close(self) -> None:
        for col, width in self.widths.items():
            self.ws.set_column(col, col, min(MAX_WIDTH, max(8, width + 2)))


def _signoff_table(data: Review) -> pd.DataFrame:
    """Who signed which plan version when, per sign-off role (empty who/when while unsigned)."""
    frame = data.signoff
    version = data.headline.get("plan_version")
    return pd.DataFrame({
        "role": frame["label"],
        "username": [who if signed else NOT_SIGNED for who, signed in zip(frame["username"], frame["signed"],
                                                                            strict=True)],
        "signed_at": frame["signed_at"],
        "plan_version": [version if signed else None for signed in frame["signed"]],
        "comment": frame["comment"],
    })


def excel_pack(data: Review) -> bytes:
    """The meeting pack of a review as .xlsx bytes: the sheets of :data:`SHEETS`, each with a bold title and
    one or more regions, each a table under its own header row of human labels; numbers stay numbers in the
    number formats of :data:`NUMBER_FORMATS`, the first header row is frozen and the columns fit their content."""
    buf = io.BytesIO()
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    book = xlsxwriter.Workbook(buf, options)
    styles = {kind: book.add_format({"num_format": fmt}) for kind, fmt in NUMBER_FORMATS.items()}
    styles.update(title=book.add_format({"bold": True, "font_size": 14}), bold=book.add_format({"bold": True}),
                  header=book.add_format({"bold": True, "bg_color": "#DBEAFE", "border": 1, "text_wrap": True}),
                  wrap=book.add_format({"text_wrap": True, "valign": "top"}),
                  quoted=book.add_format({"quote_prefix": True}),
                  quoted_wrap=book.add_format({"quote_prefix": True, "text_wrap": True, "valign": "top"}))

    def sheet(name: str, title: str) -> _Sheet:
        return _Sheet(book, styles, name, title)

    summary = sheet("Summary", f"S&OP executive review — cycle {data.label}")
    summary.header(["Figure", "Value"])
    rows = headline_rows(data)
    if data.unsourced:
        rows.append(("Warning: unlimited supply", data.unsourced, "text"))
    for figure, value, kind in rows:
        summary.text(summary.row, 0, figure)
        summary.value(summary.row, 1, value, kind)
        summary.row += 1
    summary.close()

    table = data.table
    demand = table.pivot_table(index="family", columns=table["period"].dt.strftime("%Y-%m"),
                               values="demand_qty", aggfunc="sum").reset_index().rename_axis(columns=None)
    s = sheet("Demand review", "Demand by family and month [units]")
    s.table(demand, dict.fromkeys(demand.columns[1:], "qty"))
    s.close()
    s = sheet("Supply review", f"{data.demand_basis}: rough-cut load vs regular capacity [hours], as on the "
              "Supply review page")
    s.table(data.demand_capacity[CAPACITY_COLUMNS])
    s.close()
    s = sheet("Reconciliation", "Scenarios of the cycle")
    s.table(data.scenarios, empty="No saved scenario.")
    s.close()
    s = sheet("Executive review", f"Plan by family and month [{CURRENCY}, units]; margin = {data.line_margin_basis}")
    s.table(table)
    s.close()
    s = sheet("Plan capacity", f"{data.plan_load_basis}: rough-cut load vs regular capacity [hours], as on the "
              "Executive review page")
    s.table(data.capacity[CAPACITY_COLUMNS])
    s.close()
    d = data.diff
    if d is not None:
        s = sheet("Plan diff", f"Plan change {d.before_label} → {d.after_label} by cause over {d.basis} [{CURRENCY}]")
        s.table(d.waterfall[["label", "value"]].set_axis(["step", "change"], axis=1))
        s.subtitle(f"Plan change {d.before_label} → {d.after_label} by family and cause [{CURRENCY}]")
        s.table(d.by("family"))
    else:
        s = sheet("Plan diff", "Plan change")
        s.table(pd.DataFrame({"note": ["no earlier signed plan to compare with"]}))
    s.close()
    s = sheet("Decisions", f"Decisions of cycle {data.label}")
    s.table(data.decisions.drop(columns=["scenario_id"], errors="ignore"), empty="No decision logged.")
    s.subtitle("Decisions of earlier cycles against actual sales")
    s.table(data.past.drop(columns=["scenario_id"], errors="ignore"), empty="No earlier decision.")
    s.close()
    s = sheet("Sign-off", f"Sign-off of plan version {data.headline.get('plan_version')} by role")
    s.table(_signoff_table(data))
    s.close()
    book.close()
    log.info("Excel pack of cycle %s: %d bytes", data.label, buf.tell())
    return buf.getvalue()
