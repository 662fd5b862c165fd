"""How the pages' tables show a frame (not a page): the column headers as human labels (:mod:`sop_core.labels`),
each number in the format of its column's kind (:data:`sop_core.labels.KINDS`, as :mod:`sop_core.formatting`
writes it), months as "Dec 2026", and a missing value as "–" (:data:`sop_core.formatting.MISSING`), never "None",
"nan" or "NaT".

:func:`presented` renames a shown frame's columns to the headers a reader sees, so that the table, its download and
a test read the same names; :func:`editor_config` labels an editor's columns without renaming them, as the page
reads the edited frame by the contract's names.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

from sop_core import formatting
from sop_core.config import CURRENCY
from sop_core.labels import KINDS, label

#: A column named by a month ("2026-12"), as the pivots of a measure per month name them.
_MONTH_NAME = re.compile(r"\d{4}-\d{2}")
#: The browser's number format of each kind (sprintf-style), as :mod:`sop_core.formatting` writes the value: money
#: whole with thousands separators and the currency code (:func:`~sop_core.formatting.money_in_full`), units whole
#: with thousands separators (:func:`~sop_core.formatting.quantity`), a share in percent with one decimal
#: (:func:`~sop_core.formatting.percent`: the values are sent × 100), a value already in percent signed with one
#: decimal, a count whole.
NUMBER_FORMATS = {"money": f"%,.0f {CURRENCY}", "qty": "%,.0f", "share": "%.1f %%", "pct": "%+.1f", "count": "%d"}
#: The browser's format of each kind of time: a month as "Dec 2026" (:func:`~sop_core.formatting.month`).
TIME_FORMATS = {"month": "MMM YYYY", "date": "YYYY-MM-DD", "time": "YYYY-MM-DD HH:mm"}

Config = Mapping[str, Any]


def header(column: object, given: object = None) -> str:
    """The header a reader sees: the label the page gave the column (``given``: a text or a column config), else a
    month's name for a column named by a month ("Dec 2026"), else :func:`sop_core.labels.label`."""
    text = given if isinstance(given, str) else given.get("label") if isinstance(given, Mapping) else None
    if text:
        return str(text)
    if isinstance(column, dt.date) or (isinstance(column, str) and _MONTH_NAME.fullmatch(column)):
        return formatting.month(column)
    return label(str(column))


def _page_formats(given: object) -> bool:
    """True when the page's column config sets how the values show (a number format, or a type other than a plain
    number): then the column's kind leaves its values and format alone."""
    if not isinstance(given, Mapping) or not given.get("type_config"):
        return False
    type_config = given["type_config"]
    return type_config.get("type") != "number" or type_config.get("format") is not None


def text_or_missing(values: pd.Series) -> pd.Series:
    """A column of text with each missing value (None, NaN) as :data:`~sop_core.formatting.MISSING`; a column of
    mixed types (which the browser would receive as ``str()`` of each value, "None" included) as text; any other
    column as it is (the table shows its missing values as "–")."""
    if values.dtype != object:
        return values
    present = values[values.notna()]
    types = set(present.map(type))
    if types <= {str}:
        return values.where(values.notna(), formatting.MISSING)
    if len(types) > 1:
        return values.map(lambda v: formatting.MISSING if v is None or pd.isna(v) else str(v))
    return values


def _dates(values: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(values):
        return True
    present = values[values.notna()]
    return values.dtype == object and len(present) > 0 and bool(present.map(lambda v: isinstance(v, dt.date)).all())


def by_kind(values: pd.Series, kind: str | None) -> tuple[pd.Series, dict[str, Any] | None]:
    """The values a column of ``kind`` sends to the browser and the column config that formats them (None: none).

    A share is sent in percent, rounded to 0.1 and without a negative zero (never "-0.0 %"); a month held as text
    ("2026-12") is sent as its name ("Dec 2026"), a text that is not a month as it is.
    """
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if kind in NUMBER_FORMATS and numeric:
        if kind in ("share", "pct"):
            values = (values * (100 if kind == "share" else 1)).round(1) + 0.0  # -0.0 + 0.0 is 0.0
        return values, st.column_config.NumberColumn(format=NUMBER_FORMATS[kind])
    if kind in TIME_FORMATS and _dates(values):
        column = st.column_config.DatetimeColumn if kind == "time" else st.column_config.DateColumn
        return values, column(format=TIME_FORMATS[kind])
    if kind == "month" and values.dtype == object:
        try:
            return values.map(formatting.month), None
        except (TypeError, ValueError):  # not a month (an uploaded file's preview): the text as it is
            pass
    return text_or_missing(values), None


def presented(
    frame: pd.DataFrame,
    column_config: Config | None = None,
    column_order: Iterable[str] | None = None,
    kinds: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any], list[str] | None]:
    """``frame`` as a table shows it: ``(frame, column_config, column_order)`` for ``st.dataframe``.

    Each column is renamed to its :func:`header`; a column the page gave no format to is formatted by its kind
    (:data:`sop_core.labels.KINDS`, or ``kinds`` for the page's own columns; :func:`by_kind`); the page's config
    (help, width, its own format) is kept under the new name; the index's names become headers too.
    """
    given_config = dict(column_config or {})
    kinds = {**KINDS, **(kinds or {})}
    out = frame.copy(deep=False)
    config: dict[str, Any] = {}
    headers: dict[object, str] = {}
    for position, column in enumerate(frame.columns):
        given = given_config.pop(column, given_config.pop(str(column), None))
        head = header(column, given)
        if head in headers.values():  # two columns under one label: the second says its name
            head = f"{head} ({column})"
        headers[column] = head
        if column in (column_config or {}) and given is None:  # the page hides it
            config[head] = None
            continue
        values, kind_config = (text_or_missing(frame.iloc[:, position]), None) if _page_formats(given) else by_kind(
            frame.iloc[:, position], kinds.get(str(column)))
        out.isetitem(position, values.array)
        shown = {k: v for k, v in (given.items() if isinstance(given, Mapping) else ()) if v is not None}
        if kind_config is not None:
            shown["type_config"] = kind_config["type_config"]
        shown.pop("label", None)  # the header is the column's name now
        if shown:
            config[head] = shown
    out.columns = [headers[c] for c in frame.columns]
    out.index = out.index.set_names([None if n is None else header(n) for n in out.index.names])
    config.update(given_config)  # what names no column: the index's config ("_index")
    order = None if column_order is None else [headers.get(c, c) for c in column_order]
    return out, config, order


def editor_config(frame: pd.DataFrame, column_config: Config | None = None) -> dict[str, Any]:
    """An editor's column config with every column under its :func:`header` (the page's label, else its human
    label); the columns keep their names, so the page reads the edited frame by the contract's names."""
    config: dict[str, Any] = dict(column_config or {})
    for column in frame.columns:
        if column in config and config[column] is None:  # hidden
            continue
        given = config.get(column)
        if isinstance(given, Mapping):
            config[column] = {**given, "label": header(column, given)}
        else:
            config[column] = header(column, given)
    return config


def rows_matching(frame: pd.DataFrame, text: str) -> pd.DataFrame:
    """The rows of ``frame`` in which every word of ``text`` appears (case-insensitive) in some column's text; every
    row when ``text`` is blank.

    >>> f = pd.DataFrame({"sku": ["KT-1", "KT-2", "GD-3"], "supplier": ["Acme", "Brio", "Acme"], "qty": [5, 12, 7]})
    >>> rows_matching(f, "acme kt")["sku"].tolist(), rows_matching(f, "12")["sku"].tolist(), len(rows_matching(f, " "))
    (['KT-1'], ['KT-2'], 3)
    """
    words = text.lower().split()
    if not words or frame.empty:
        return frame
    joined = pd.Series("", index=frame.index)
    for column in frame.columns:
        joined = joined + "\x1f" + frame[column].astype(str).str.lower()
    keep = pd.Series(True, index=frame.index)
    for word in words:
        keep &= joined.str.contains(word, regex=False)
    return frame[keep]
