"""The plausibility rules of an import, after the types and the schema's checks: values a file can hold but no
business can mean, which would break the next forecast or plan (a quantity of 1e308, a sale dated 2100-01, a
period of 1700, an uplift of −1000 %, a receipt received before it was ordered), and text cells the database
cannot store (a NUL or control character).

* Numbers: each bounded column (:data:`UPPER_BOUNDS`) at most its bound in absolute value (quantities 1e9 units,
  unit prices and costs 1e7, totals 1e13, lead times 10 years…); ``event.uplift_pct`` within −100…+1000 %.
* Dates: every date column within :class:`PeriodWindow`, from ``SOP_IMPORT_PAST_YEARS`` (20) before the current
  cycle's month to ``SOP_IMPORT_FUTURE_YEARS`` (3) after it.
* Receipts: received and promised on or after the order date.
* Text: no NUL, control character or lone surrogate (:mod:`sop_core.text_checks`).

>>> import pandas as pd
>>> window = PeriodWindow.around(dt.date(2026, 11, 1), past_years=20, future_years=3)
>>> window.first, window.last
(datetime.date(2006, 11, 1), datetime.date(2029, 11, 30))
>>> raw = pd.DataFrame({"name": ["Spring"], "start": ["2027-03-01"], "end": ["2027-03-31"], "uplift_pct": ["-1000"]},
...                    index=pd.Index([2], name="row"))
>>> typed = raw.assign(start=pd.to_datetime(raw["start"]), end=pd.to_datetime(raw["end"]), uplift_pct=[-1000.0])
>>> [str(i) for i in plausibility_issues("event.csv", "event", raw, typed, window, set())]
['event.csv row 2, column uplift_pct: -1000 is below -100; an uplift is a change in % from −100 (no sales) to +1000']
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sop_core import config
from sop_core.io.import_issues import ImportIssue
from sop_core.io.import_schema import column_specs
from sop_core.text_checks import problem

_QUANTITY = (1e9, "quantities must be at most 1,000,000,000 units; check the unit and the decimal separator")
_UNIT_MONEY = (1e7, "a price or cost per unit must be at most 10,000,000; check the unit and the decimal separator")
_TOTAL_MONEY = (1e13, "a total must be at most 10,000,000,000,000; check the unit and the decimal separator")
_HOURS = (1e6, "hours per month must be at most 1,000,000")

#: Column -> (the largest absolute value a file may give, the reason when it is passed).
UPPER_BOUNDS: dict[str, tuple[float, str]] = {
    "quantity": _QUANTITY, "on_hand": _QUANTITY, "moq": _QUANTITY, "qty_ordered": _QUANTITY,
    "qty_received": _QUANTITY, "volume": _QUANTITY,
    "unit_price": _UNIT_MONEY, "unit_cost": _UNIT_MONEY, "net_price": _UNIT_MONEY, "order_cost": _UNIT_MONEY,
    "overtime_cost_per_hour": _UNIT_MONEY,
    "revenue": _TOTAL_MONEY, "margin": _TOTAL_MONEY,
    "capacity_hours": _HOURS, "overtime_hours": _HOURS,
    "hours_per_unit": (1e4, "hours per unit must be at most 10,000"),
    "lead_time_days": (3650.0, "lead times must be at most 3,650 days (10 years)"),
    "lead_time_std_days": (3650.0, "lead times must be at most 3,650 days (10 years)"),
    "holding_rate": (10.0, "the holding rate is a share of the unit cost per year, at most 10"),
}
UPLIFT_RANGE = (-100.0, 1000.0)
UPLIFT_REASON = "an uplift is a change in % from −100 (no sales) to +1000"
#: Receipt date columns that cannot be before the order date.
AFTER_ORDER = ("promised_date", "received_date")


@dataclass(frozen=True)
class PeriodWindow:
    """The dates an import accepts: ``first`` to ``last`` (inclusive), around the current cycle's month."""

    first: dt.date
    last: dt.date
    cycle: dt.date
    past_years: int
    future_years: int

    @classmethod
    def around(cls, month: dt.date, past_years: int | None = None, future_years: int | None = None) -> PeriodWindow:
        """From ``past_years`` before ``month`` (its first day) to the end of the month ``future_years`` after it
        (defaults: ``SOP_IMPORT_PAST_YEARS``, ``SOP_IMPORT_FUTURE_YEARS``)."""
        past = config.import_past_years() if past_years is None else past_years
        future = config.import_future_years() if future_years is None else future_years
        start = month.replace(day=1)
        first = start.replace(year=max(start.year - past, 1))
        end_year = min(start.year + future, 9999)
        last = start.replace(year=end_year, day=calendar.monthrange(end_year, start.month)[1])
        return cls(first, last, start, past, future)


def _value(raw: pd.DataFrame, row: int, column: str) -> str | None:
    value = raw.at[row, column] if column in raw.columns else None
    return None if value in (None, "") else str(value)


def _number_issues(file: str, table: str, raw: pd.DataFrame, typed: pd.DataFrame) -> list[ImportIssue]:
    issues = []
    for column in typed.columns:
        values = typed[column]
        if table == "event" and column == "uplift_pct":
            low, high = UPLIFT_RANGE
            number = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            for row in typed.index[number < low]:
                issues.append(ImportIssue(file, int(row), column, _value(raw, row, column), f"is below {low:g}; {UPLIFT_REASON}"))
            for row in typed.index[number > high]:
                issues.append(ImportIssue(file, int(row), column, _value(raw, row, column), f"is above {high:g}; {UPLIFT_REASON}"))
        elif column in UPPER_BOUNDS:
            bound, reason = UPPER_BOUNDS[column]
            number = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            for row in typed.index[np.abs(number) > bound]:
                issues.append(ImportIssue(file, int(row), column, _value(raw, row, column), f"is too large; {reason}"))
    return issues


def _date_issues(file: str, table: str, raw: pd.DataFrame, typed: pd.DataFrame,
                 window: PeriodWindow) -> list[ImportIssue]:
    issues = []
    first, last = pd.Timestamp(window.first), pd.Timestamp(window.last)
    cycle = f"{window.cycle:%Y-%m}"
    for spec in column_specs(table):
        if spec.kind != "date" or spec.name not in typed.columns:
            continue
        days = pd.to_datetime(typed[spec.name], errors="coerce")
        for row in typed.index[(days < first).to_numpy()]:
            reason = (f"is before {window.first:%Y-%m-%d}, the earliest date an import takes ({window.past_years} "
                      f"years before the current cycle {cycle}; SOP_IMPORT_PAST_YEARS)")
            issues.append(ImportIssue(file, int(row), spec.name, _value(raw, row, spec.name), reason))
        for row in typed.index[(days > last).to_numpy()]:
            reason = (f"is after {window.last:%Y-%m-%d}, the latest date an import takes ({window.future_years} "
                      f"years after the current cycle {cycle}; SOP_IMPORT_FUTURE_YEARS)")
            issues.append(ImportIssue(file, int(row), spec.name, _value(raw, row, spec.name), reason))
    if table == "receipt" and "order_date" in typed.columns:
        ordered = pd.to_datetime(typed["order_date"], errors="coerce")
        for column in AFTER_ORDER:
            if column not in typed.columns:
                continue
            early = (pd.to_datetime(typed[column], errors="coerce") < ordered).to_numpy()
            for row in typed.index[early]:
                what = "received" if column == "received_date" else "promised"
                reason = f"is before the order date {raw.at[row, 'order_date']}; a receipt cannot be {what} before it was ordered"
                issues.append(ImportIssue(file, int(row), column, _value(raw, row, column), reason))
    return issues


#: A NUL or control character (C0 but tab, line feed and carriage return; DEL; C1), in RE2 syntax: the cells that
#: :func:`~sop_core.text_checks.problem` may refuse. Arrow strings are valid UTF-8, so no lone surrogate is looked for.
_SUSPECT = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x{9f}]"


def _text_issues(file: str, table: str, raw: pd.DataFrame) -> list[ImportIssue]:
    """Text cells holding a NUL or control character: one regular-expression pass in C++ over each text column,
    then the reason of each suspect cell."""
    issues = []
    for spec in column_specs(table):
        if spec.kind != "str" or spec.name not in raw.columns:
            continue
        cells = pa.array(raw[spec.name], type=pa.string(), from_pandas=True)  # no copy when the frame is arrow-backed
        suspect = pc.fill_null(pc.match_substring_regex(cells, _SUSPECT), False).to_numpy(zero_copy_only=False)
        for row in raw.index[np.asarray(suspect, dtype=bool)]:
            text = str(raw.at[row, spec.name])
            reason = problem(text, len(text), single_line=False)
            if reason is not None:
                issues.append(ImportIssue(file, int(row), spec.name, None, reason))
    return issues


def plausibility_issues(file: str, table: str, raw: pd.DataFrame, typed: pd.DataFrame, window: PeriodWindow,
                        unparsed: set[tuple[int, str]]) -> list[ImportIssue]:
    """The plausibility rules' issues of one file (see the module docstring); a cell that is no number or date
    (named already) is not named again."""
    found = (_number_issues(file, table, raw, typed) + _date_issues(file, table, raw, typed, window)
             + _text_issues(file, table, raw))
    return [i for i in found if (i.row, i.column) not in unparsed]
