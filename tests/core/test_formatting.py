"""The one number formatter shows what the pages, the KPI table and the meeting pack show today."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sop_core import formatting as fmt
from sop_core.config import CURRENCY

pytestmark = pytest.mark.skipif(CURRENCY != "EUR", reason="the expected strings are in euros")

NAN = float("nan")

MONEY = [
    (None, 1, "–"), (NAN, 1, "–"), (0, 1, "€0"), (0.4, 1, "€0"), (999.5, 1, "€1,000"), (9_999.4, 1, "€9,999"),
    (9_999.5, 1, "€10,000"), (10_000, 1, "€10k"), (350_400, 1, "€350k"), (999_499, 1, "€999k"),
    (999_999, 1, "€1000k"), (1_000_000, 1, "€1.0M"), (1_234_567, 1, "€1.2M"), (1_250_000, 2, "€1.25M"),
    (2.5e9, 1, "€2.5B"), (-12_500, 1, "-€12k"), (-1_234_567, 1, "-€1.2M"), (-0.4, 1, "-€0"),
    (np.float64(4_321.0), 1, "€4,321"), (7, 0, "€7"),
]  # fmt: skip
QTY = [
    (None, "–"), (NAN, "–"), (0, "0"), (12_345.6, "12,346"), (0.5, "0"), (1.5, "2"), (-1_234.4, "-1,234"),
    (-0.4, "-0"), (np.float64(1e6), "1,000,000"),
]  # fmt: skip
PCT = [
    (None, 1, "–"), (NAN, 1, "–"), (0.953, 1, "95.3 %"), (1.0, 0, "100 %"), (0.12345, 2, "12.35 %"),
    (0.0, 1, "0.0 %"), (-0.05, 1, "-5.0 %"), (1.2, 1, "120.0 %"), (np.float64(0.5), 1, "50.0 %"),
]  # fmt: skip
NUM = [
    (None, 1, "–"), (NAN, 1, "–"), (1234.56, 1, "1,234.6"), (0.25, 2, "0.25"), (5, 0, "5"), (-3.14159, 3, "-3.142"),
    (1e6, 1, "1,000,000.0"),
]  # fmt: skip


@pytest.mark.parametrize(("value", "digits", "expected"), MONEY)
def test_money_is_what_the_pages_show(value: float | None, digits: int, expected: str) -> None:
    assert fmt.money(value, digits) == expected


@pytest.mark.parametrize(("value", "expected"), QTY)
def test_quantity_is_what_the_pages_show(value: float | None, expected: str) -> None:
    assert fmt.quantity(value) == expected


@pytest.mark.parametrize(("value", "digits", "expected"), PCT)
def test_percent_is_what_the_pages_show(value: float | None, digits: int, expected: str) -> None:
    assert fmt.percent(value, digits) == expected


def test_percent_never_shows_minus_zero() -> None:
    assert [fmt.percent(v) for v in (-0.0004, -0.0, -0.00049)] == ["0.0 %"] * 3
    assert fmt.percent(-0.0004, 0) == "0 %"
    assert fmt.percent(-0.0006) == "-0.1 %"


@pytest.mark.parametrize(("value", "digits", "expected"), NUM)
def test_number_is_what_the_pages_show(value: float | None, digits: int, expected: str) -> None:
    assert fmt.number(value, digits) == expected


def test_meeting_pack_formats() -> None:
    assert fmt.money_in_full(1_234_567.8) == "1,234,568 EUR"
    assert fmt.percent(0.953, separator="") == f"{0.953:.1%}" == "95.3%"
    assert fmt.count(12.9) == "12"
    assert [fmt.money_in_full(None), fmt.percent(NAN, separator=""), fmt.count(None)] == ["–"] * 3


@pytest.mark.parametrize(
    ("value", "unit", "shown", "gap", "gap_shown"),
    [
        (94.94, "%", "94.9 %", -0.06, "-0.1 pts"),
        (1048.46, "days", "1,048.5 days", 8.5, "+8.5 days"),
        (3, "SKUs", "3", 9, "+9"),
        (1234, "SKUs", "1,234", -1234, "-1,234"),
        (5.23, "turns", "5.2", 0.6, "+0.6"),
        (None, "%", "–", None, ""),
        (NAN, "days", "–", NAN, ""),
    ],
)
def test_kpi_values_and_gaps_as_the_kpi_table_shows_them(
    value: float | None, unit: str, shown: str, gap: float | None, gap_shown: str
) -> None:
    assert fmt.kpi_value(value, unit) == shown
    assert fmt.kpi_gap(gap, unit) == gap_shown


def test_values_by_kind_as_the_what_if_cards_and_the_meeting_pack_show_them() -> None:
    assert [fmt.by_kind(v, k) for v, k in [(1_234_567, "money"), (12_345.6, "qty"), (0.953, "share"), (2.25, "num")]] \
        == ["€1.2M", "12,346", "95.3 %", "2.2"]  # fmt: skip
    pack = [(1_234_567.8, "money"), (0.953, "share"), (12.9, "count"), ("Signed off", "text"), (None, "money"),
            (NAN, "share"), (None, "text")]  # fmt: skip
    assert [fmt.by_kind(v, k, pack=True) for v, k in pack] == [
        "1,234,568 EUR", "95.3%", "12", "Signed off", "–", "–", "–"
    ]  # fmt: skip
    with pytest.raises(KeyError):
        fmt.by_kind(1.0, "weight")


def test_changes_by_kind_as_the_what_if_cards_show_them() -> None:
    changes = [(0.015, "share"), (-0.2, "share"), (1_234_567, "money"), (0.0, "money"), (-350_400, "money"),
               (2.46, "num"), (-1_234.4, "qty"), (0.4, "qty")]  # fmt: skip
    assert [fmt.delta_by_kind(v, k) for v, k in changes] == [
        "+1.5 pts", "-20.0 pts", "+€1.2M", "+€0", "-€350k", "+2.5", "-1,234", "+0"
    ]  # fmt: skip


@pytest.mark.parametrize(("n", "word", "many", "expected"), [
    (0, "SKU", None, "0 SKUs"), (1, "SKU", None, "1 SKU"), (2, "SKU", None, "2 SKUs"), (1.0, "row", None, "1 row"),
    (12_345, "row", None, "12,345 rows"), (np.int64(1), "supplier", None, "1 supplier"),
    (1, "entry", "entries", "1 entry"), (3, "entry", "entries", "3 entries"), (-1, "day", None, "-1 days"),
])  # fmt: skip
def test_plural_counts_things_in_the_singular_only_for_one(
    n: float, word: str, many: str | None, expected: str
) -> None:
    assert fmt.plural(n, word, many) == expected


def test_months_show_as_short_name_and_year() -> None:
    assert [fmt.month(v) for v in ("2026-12", "2026-12-01", pd.Timestamp("2027-01-31 10:00"), dt.date(2026, 2, 1))] \
        == ["Dec 2026", "Dec 2026", "Jan 2027", "Feb 2026"]  # fmt: skip
    assert [fmt.month(v) for v in (None, NAN, pd.NaT)] == ["–"] * 3
