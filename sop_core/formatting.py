"""Numbers as the app, the command line and the meeting pack show them: money, quantities, percentages, numbers,
months, and counted things ("1 SKU", "2 SKUs").

Pure functions of a value (no user interface, no I/O). A missing value (None or NaN) shows as :data:`MISSING`.
The currency is :data:`sop_core.config.CURRENCY` (``SOP_CURRENCY``), shown by its symbol where it has one.

Example:
    >>> money(1_234_567), quantity(12_345.6), percent(0.953), number(1234.56), month("2026-12-01")
    ('€1.2M', '12,346', '95.3 %', '1,234.6', 'Dec 2026')
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from sop_core.config import CURRENCY

#: What a missing value (None or NaN) shows.
MISSING = "–"
#: The symbol of the company currency ("€" for EUR), or its code and a space ("CHF ").
CURRENCY_SYMBOL = {"EUR": "€", "USD": "$", "GBP": "£"}.get(CURRENCY, CURRENCY + " ")


def is_missing(value: object) -> bool:
    """True for None and NaN (a float, NumPy floats included).

    Example:
        >>> is_missing(None), is_missing(float("nan")), is_missing(0.0)
        (True, True, False)
    """
    return value is None or (isinstance(value, float) and math.isnan(value))


def money(value: float | None, digits: int = 1) -> str:
    """Compact money for metric cards: the currency symbol, billions "B" and millions "M" with ``digits``
    decimals, from 10,000 whole thousands "k", below that whole units with thousands separators.

    Returns:
        e.g. "€1.2M", "€350k", "€9,999", "-€2.5B"; :data:`MISSING` for a missing value.

    Example:
        >>> [money(v) for v in (2.5e9, 1_234_567, 350_400, 9_999, -12_500, 0)]
        ['€2.5B', '€1.2M', '€350k', '€9,999', '-€12k', '€0']
        >>> money(1_250_000, digits=2), money(None)
        ('€1.25M', '–')
    """
    if is_missing(value):
        return MISSING
    amount = float(value)  # type: ignore[arg-type]
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if amount >= 1e9:
        return f"{sign}{CURRENCY_SYMBOL}{amount / 1e9:.{digits}f}B"
    if amount >= 1e6:
        return f"{sign}{CURRENCY_SYMBOL}{amount / 1e6:.{digits}f}M"
    if amount >= 1e4:
        return f"{sign}{CURRENCY_SYMBOL}{amount / 1e3:.0f}k"
    return f"{sign}{CURRENCY_SYMBOL}{amount:,.0f}"


def money_in_full(value: float | None) -> str:
    """Money in whole units with thousands separators and the currency code, as the meeting pack writes it.

    Returns:
        e.g. "1,234,568 EUR"; :data:`MISSING` for a missing value.

    Example:
        >>> money_in_full(1_234_567.8), money_in_full(-950.2), money_in_full(None)
        ('1,234,568 EUR', '-950 EUR', '–')
    """
    return MISSING if is_missing(value) else f"{value:,.0f} {CURRENCY}"


def quantity(value: float | None) -> str:
    """Units (a quantity) in whole units with thousands separators.

    Returns:
        e.g. "12,346"; :data:`MISSING` for a missing value.

    Example:
        >>> quantity(12_345.6), quantity(-0.4), quantity(None)
        ('12,346', '-0', '–')
    """
    return MISSING if is_missing(value) else f"{float(value):,.0f}"  # type: ignore[arg-type]


def count(value: float | None) -> str:
    """A count as a whole number, truncated toward zero, without separators (the meeting pack's counts).

    Example:
        >>> count(12.0), count(1234), count(None)
        ('12', '1234', '–')
    """
    return MISSING if is_missing(value) else f"{int(value)}"  # type: ignore[arg-type]


def percent(share: float | None, digits: int = 1, *, separator: str = " ") -> str:
    """A share (0.953) as a percentage with ``digits`` decimals, the sign "%" after ``separator``.

    A share that rounds to zero shows without a sign: never "-0.0 %".

    Returns:
        e.g. "95.3 %" (``separator=""``: "95.3%", as the meeting pack writes it); :data:`MISSING` for a
        missing value.

    Example:
        >>> percent(0.953), percent(1.0, 0), percent(-0.0004), percent(0.12345, separator="")
        ('95.3 %', '100 %', '0.0 %', '12.3%')
    """
    if is_missing(share):
        return MISSING
    text = f"{100 * float(share):.{digits}f}"  # type: ignore[arg-type]
    if text.startswith("-") and not text.strip("-0."):
        text = text[1:]
    return f"{text}{separator}%"


def month(value: str | dt.date | None) -> str:
    """A month as the pages head and show it: the month's short name and the year.

    Args:
        value: a date, a time or a text a date parses from ("2026-12", "2026-12-01").

    Returns:
        e.g. "Dec 2026"; :data:`MISSING` for a missing value (None, NaN, NaT).

    Example:
        >>> month("2026-12-01"), month("2026-12"), month(dt.date(2027, 1, 31)), month(None)
        ('Dec 2026', 'Dec 2026', 'Jan 2027', '–')
    """
    if value is None or pd.isna(value):
        return MISSING
    return str(pd.Timestamp(value).strftime("%b %Y"))


def plural(n: float, word: str, many: str | None = None) -> str:
    """``n`` things: the count with thousands separators and the word, in the plural unless ``n`` is 1.

    Args:
        n: how many (a whole number; a float is shown without decimals).
        word: the singular ("SKU"); ``many`` the plural where it is not the word + "s" ("entries").

    Example:
        >>> plural(1, "SKU"), plural(2, "SKU"), plural(0, "row"), plural(12_345, "row"), plural(3, "entry", "entries")
        ('1 SKU', '2 SKUs', '0 rows', '12,345 rows', '3 entries')
    """
    return f"{n:,.0f} {word if n == 1 else many or word + 's'}"


def number(value: float | None, digits: int = 1) -> str:
    """A plain number with thousands separators and ``digits`` decimals.

    Example:
        >>> number(1234.56), number(0.25, 2), number(None)
        ('1,234.6', '0.25', '–')
    """
    return MISSING if is_missing(value) else f"{float(value):,.{digits}f}"  # type: ignore[arg-type]


def kpi_value(value: float | None, unit: str) -> str:
    """A KPI value in its display unit: "%" (the value already in percent), "days", "SKUs" or a plain number.

    Returns:
        e.g. "94.9 %", "48.5 days", "3", "5.2"; :data:`MISSING` for a missing value.

    Example:
        >>> kpi_value(94.94, "%"), kpi_value(1048.46, "days"), kpi_value(3, "SKUs"), kpi_value(5.23, "turns")
        ('94.9 %', '1,048.5 days', '3', '5.2')
    """
    if is_missing(value):
        return MISSING
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "days":
        return f"{value:,.1f} days"
    if unit == "SKUs":
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def kpi_gap(gap: float | None, unit: str) -> str:
    """A KPI's gap to its target, signed: percentage points for "%", days, SKUs, or a plain number.

    Returns:
        e.g. "-0.1 pts", "+8.5 days", "+9", "+0.6"; "" for a missing gap.

    Example:
        >>> kpi_gap(-0.06, "%"), kpi_gap(8.5, "days"), kpi_gap(9, "SKUs"), kpi_gap(0.6, "turns"), kpi_gap(None, "%")
        ('-0.1 pts', '+8.5 days', '+9', '+0.6', '')
    """
    if is_missing(gap):
        return ""
    if unit == "%":
        return f"{gap:+.1f} pts"
    if unit == "days":
        return f"{gap:+,.1f} days"
    if unit == "SKUs":
        return f"{gap:+,.0f}"
    return f"{gap:+,.1f}"


def by_kind(value: Any, kind: str, *, pack: bool = False) -> str:
    """A value shown by its kind, as the pages show it or (``pack=True``) as the meeting pack writes it.

    Kinds: "money" (compact on the pages, :func:`money`; in full in the pack, :func:`money_in_full`), "qty"
    (:func:`quantity`), "share" (:func:`percent`; "95.3%" in the pack), "num" (:func:`number`), "count"
    (:func:`count`) and "text" (the value as it is).

    Returns:
        the shown value; :data:`MISSING` for a missing value.

    Raises:
        KeyError: an unknown kind.

    Example:
        >>> by_kind(1_234_567, "money"), by_kind(1_234_567, "money", pack=True), by_kind(0.953, "share", pack=True)
        ('€1.2M', '1,234,567 EUR', '95.3%')
        >>> by_kind(12_345.6, "qty"), by_kind(2.5, "num"), by_kind(7.0, "count"), by_kind("Open", "text")
        ('12,346', '2.5', '7', 'Open')
    """
    show: dict[str, Callable[[Any], str]] = {
        "money": money_in_full if pack else money,
        "qty": quantity,
        "share": (lambda share: percent(share, separator="")) if pack else percent,
        "num": number,
        "count": count,
        "text": lambda text: MISSING if is_missing(text) else str(text),
    }
    return show[kind](value)


def delta_by_kind(change: float, kind: str) -> str:
    """A change shown by its kind, always signed: a share's change in percentage points ("share"), compact money
    ("money"), a plain number with one decimal ("num") or whole units ("qty").

    Returns:
        e.g. "+1.5 pts", "+€1.2M", "-€350k", "+2.5", "-1,234".

    Example:
        >>> delta_by_kind(0.015, "share"), delta_by_kind(1_234_567, "money"), delta_by_kind(-350_400, "money")
        ('+1.5 pts', '+€1.2M', '-€350k')
        >>> delta_by_kind(2.5, "num"), delta_by_kind(-1_234, "qty")
        ('+2.5', '-1,234')
    """
    if kind == "share":
        return f"{100 * change:+.1f} pts"
    if kind == "money":
        return ("+" if change >= 0 else "") + money(change)
    return f"{change:+,.1f}" if kind == "num" else f"{change:+,.0f}"
