"""The contract of the input tables as an import sees it: each table's columns (:func:`column_specs`, derived
from the model), the pandera schema a file's typed frame must pass (:func:`schema_for`), the columns that must
name known master data (:data:`REFERENCES`), and the reasons the checks give.

>>> [(s.name, s.kind, s.required) for s in column_specs("routing")]
[('sku', 'str', True), ('resource', 'str', True), ('hours_per_unit', 'float', True)]
>>> sorted(REFERENCES["open_order"].items())
[('sku', 'sku'), ('supplier', 'supplier')]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
import pandera.pandas as pa
from sqlalchemy import Date, Float, Integer

from sop_core.db import models as m
from sop_core.db import repo

Kind = Literal["str", "float", "int", "date"]

#: Period columns that must be month starts (monthly tables).
MONTH_START_COLUMNS: dict[str, tuple[str, ...]] = {
    "sales_history": ("period",),
    "open_order": ("due_period",),
    "budget": ("period",),
}

#: Columns that must name a known master-data item: column -> kind of item (a key of ``known``).
REFERENCES: dict[str, dict[str, str]] = {
    "sales_history": {"sku": "sku"},
    "inventory": {"sku": "sku"},
    "open_order": {"sku": "sku", "supplier": "supplier"},
    "supplier_item": {"supplier": "supplier", "sku": "sku"},
    "receipt": {"supplier": "supplier", "sku": "sku"},
    "routing": {"sku": "sku", "resource": "resource"},
    "budget": {"family": "family"},
    "event": {"scope": "scope"},
}

#: Where each kind of master-data item comes from: kind -> (table, column).
MASTER_SOURCES: dict[str, tuple[str, str]] = {
    "sku": ("product", "sku"),
    "family": ("product", "family"),
    "supplier": ("supplier", "supplier"),
    "resource": ("resource", "resource"),
}

MONTH_START_REASON = "is not the first day of a month; periods are month starts (YYYY-MM-01)"
END_BEFORE_START_REASON = "is before start; an event must end on or after its start"
MARGIN_ABOVE_REVENUE_REASON = (
    "is above revenue; the margin budget is revenue − cost of goods sold, so it cannot exceed the revenue"
)
#: Float columns that may be negative (an uplift can be a drop; a family can be budgeted at a loss).
SIGNED_COLUMNS: dict[str, tuple[str, ...]] = {"event": ("uplift_pct",), "budget": ("margin",)}
SOURCE_REASON = "is not a valid source; use purchase or production"
SERVICE_TARGET_REASON = "is outside (0, 1); service_target is a share such as 0.95"
PROMO_REASON = "is not 0 or 1; promo is 1 in promotion months, else 0"
PRIORITY_REASON = "is below 1; priority 1 is the preferred supplier, 2 and up are alternates"


@dataclass(frozen=True)
class ColumnSpec:
    """An input column as the import sees it (derived from the model)."""

    name: str
    kind: Kind
    required: bool
    default: Any
    max_length: int | None


def column_specs(table: str) -> list[ColumnSpec]:
    """The import columns of ``table`` in template order, with type, required flag and default."""
    model = m.INPUT_TABLES[table]
    specs = []
    for name in repo.input_columns(table):
        col = model.__table__.columns[name]
        if isinstance(col.type, Date):
            kind: Kind = "date"
        elif isinstance(col.type, Float):
            kind = "float"
        elif isinstance(col.type, Integer):
            kind = "int"
        else:
            kind = "str"
        default = col.default.arg if col.default is not None and not callable(col.default.arg) else None
        required = not col.nullable and col.default is None
        specs.append(ColumnSpec(name, kind, required, default, getattr(col.type, "length", None)))
    return specs


def _non_negative_reason(column: str) -> str:
    if "price" in column:
        what = "prices"
    elif "cost" in column:
        what = "costs"
    elif "hours" in column:
        what = "hours"
    elif column.endswith("_days"):
        what = "lead times"
    elif column.endswith("_rate"):
        what = "rates"
    elif column == "revenue":
        what = "revenues"
    else:
        what = "quantities"
    return f"is negative; {what} must be ≥ 0"


def _is_month_start(s: pd.Series) -> pd.Series:
    return s.dt.is_month_start


def _end_not_before_start(df: pd.DataFrame) -> pd.Series:
    return ~(df["end"] < df["start"])


def _margin_not_above_revenue(df: pd.DataFrame) -> pd.Series:
    if "margin" not in df.columns:
        return pd.Series(True, index=df.index)
    return ~(df["margin"] > df["revenue"] + 1e-9)


_DTYPES = {"str": str, "float": "float64", "int": "Int64", "date": "datetime64[ns]"}


def schema_for(table: str) -> pa.DataFrameSchema:
    """The pandera schema of an input table, applied to the parsed (typed) frame of a file.

    Columns and types come from the model; required columns must be present and filled; no other column
    is allowed. Checks: quantities, hours, prices and costs ≥ 0; period columns of monthly tables are month
    starts; ``service_target`` in (0, 1); ``open_order.source`` in {purchase, production}; ``promo`` in
    {0, 1}; ``priority`` ≥ 1; an event's ``end`` ≥ ``start``; a budget's ``margin`` (optional, may be
    negative) ≤ its ``revenue``.
    """
    columns: dict[str, pa.Column] = {}
    for spec in column_specs(table):
        checks: list[pa.Check] = []
        if spec.kind == "float" and spec.name == "service_target":
            checks.append(pa.Check.in_range(0, 1, include_min=False, include_max=False, error=SERVICE_TARGET_REASON))
        elif spec.kind == "float" and spec.name not in SIGNED_COLUMNS.get(table, ()):
            checks.append(pa.Check.ge(0, error=_non_negative_reason(spec.name)))
        if spec.name == "promo":
            checks.append(pa.Check.isin([0, 1], error=PROMO_REASON))
        if spec.name == "priority":
            checks.append(pa.Check.ge(1, error=PRIORITY_REASON))
        if table == "open_order" and spec.name == "source":
            checks.append(pa.Check.isin(["purchase", "production"], error=SOURCE_REASON))
        if spec.name in MONTH_START_COLUMNS.get(table, ()):
            checks.append(pa.Check(_is_month_start, error=MONTH_START_REASON))
        if spec.kind == "str" and spec.max_length:
            checks.append(
                pa.Check.str_length(max_value=spec.max_length, error=f"is longer than {spec.max_length} characters")
            )
        columns[spec.name] = pa.Column(
            _DTYPES[spec.kind], checks, nullable=not spec.required, required=spec.required, coerce=spec.kind != "str"
        )
    frame_checks = {
        "event": [pa.Check(_end_not_before_start, error=END_BEFORE_START_REASON)],
        "budget": [pa.Check(_margin_not_above_revenue, error=MARGIN_ABOVE_REVENUE_REASON)],
    }.get(table, [])
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=True, name=table)


#: The column a frame-wide check reports its failures on.
FRAME_CHECK_COLUMN = {END_BEFORE_START_REASON: "end", MARGIN_ABOVE_REVENUE_REASON: "margin"}
