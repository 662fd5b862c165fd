"""Bad import files: each is refused with one exact message, and the database is left exactly as it was.

The files live in tests/data/bad_imports/; tests/data/bad_imports/base/ is the small valid company every
test loads first. Runs on SQLite and PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.engine import session_scope
from sop_core.db.schema import ALL_MODELS
from sop_core.io import ingest
from sop_core.io.import_issues import ImportFailed

#: Every service write checks its user: the demo users exist in the test's databases.
pytestmark = pytest.mark.usefixtures("demo_users")

BAD = Path(__file__).resolve().parent.parent / "data" / "bad_imports"
BASE = BAD / "base"
TABLES = ", ".join(m.INPUT_TABLES)
PRODUCT_COLUMNS = "sku, name, family, category, unit_price, unit_cost, holding_rate, order_cost, service_target"


def case(files: list[str], fields: tuple, message: str, count: int = 1, *, id: str) -> object:  # noqa: A002
    """A bad import: the files imported together, the first issue's fields and message, the issue count."""
    return pytest.param(files, fields, message, count, id=id)


NOT_A_TABLE = f"does not name an input table; start the file name with one of {TABLES} (e.g. sales_history_2026.csv)"

CASES = [
    case(
        ["sales_history_wrong_type.csv"],
        (
            "sales_history_wrong_type.csv",
            3,
            "quantity",
            "twelve",
            "is not a number; write digits with a decimal point, e.g. 12.5",
        ),
        "sales_history_wrong_type.csv row 3, column quantity: twelve is not a number; write digits with a decimal "
        "point, e.g. 12.5",
        id="wrong-type",
    ),
    case(
        ["product_missing_column.csv"],
        ("product_missing_column.csv", 1, "unit_cost", None, "required column is missing from the header"),
        "product_missing_column.csv row 1, column unit_cost: required column is missing from the header",
        id="missing-required-column",
    ),
    case(
        ["product_extra_column.csv"],
        ("product_extra_column.csv", 1, "colour", None, f"unknown column; product has the columns {PRODUCT_COLUMNS}"),
        f"product_extra_column.csv row 1, column colour: unknown column; product has the columns {PRODUCT_COLUMNS}",
        id="unknown-extra-column",
    ),
    case(
        ["sales_history_unknown_sku.csv"],
        (
            "sales_history_unknown_sku.csv",
            3,
            "sku",
            "Z-999",
            "is not a known SKU; add it to product (in the database or in the same import)",
        ),
        "sales_history_unknown_sku.csv row 3, column sku: Z-999 is not a known SKU; add it to product (in the "
        "database or in the same import)",
        id="unknown-sku",
    ),
    case(
        ["supplier_item_unknown_supplier.csv"],
        (
            "supplier_item_unknown_supplier.csv",
            2,
            "supplier",
            "S9",
            "is not a known supplier; add it to supplier (in the database or in the same import)",
        ),
        "supplier_item_unknown_supplier.csv row 2, column supplier: S9 is not a known supplier; add it to supplier "
        "(in the database or in the same import)",
        id="unknown-supplier",
    ),
    case(
        ["routing_unknown_resource.csv"],
        (
            "routing_unknown_resource.csv",
            3,
            "resource",
            "R9",
            "is not a known resource; add it to resource (in the database or in the same import)",
        ),
        "routing_unknown_resource.csv row 3, column resource: R9 is not a known resource; add it to resource (in "
        "the database or in the same import)",
        id="unknown-resource",
    ),
    case(
        ["sales_history_duplicate_key.csv"],
        (
            "sales_history_duplicate_key.csv",
            4,
            "sku/period",
            "A-100/2026-07-01",
            "repeats the key of row 2; each sku/period may appear only once in an import",
        ),
        "sales_history_duplicate_key.csv row 4, columns sku/period: A-100/2026-07-01 repeats the key of row 2; "
        "each sku/period may appear only once in an import",
        id="duplicate-key",
    ),
    case(
        ["sales_history_negative.csv"],
        ("sales_history_negative.csv", 14, "quantity", "-4", "is negative; quantities must be ≥ 0"),
        "sales_history_negative.csv row 14, column quantity: -4 is negative; quantities must be ≥ 0",
        id="negative-quantity",
    ),
    case(
        ["receipt_bad_date.csv"],
        ("receipt_bad_date.csv", 3, "promised_date", "31/08/2026", "is not a date; write dates as YYYY-MM-DD"),
        "receipt_bad_date.csv row 3, column promised_date: 31/08/2026 is not a date; write dates as YYYY-MM-DD",
        id="bad-date",
    ),
    case(
        ["budget_not_month_start.csv"],
        (
            "budget_not_month_start.csv",
            3,
            "period",
            "2027-01-15",
            "is not the first day of a month; periods are month starts (YYYY-MM-01)",
        ),
        "budget_not_month_start.csv row 3, column period: 2027-01-15 is not the first day of a month; periods are "
        "month starts (YYYY-MM-01)",
        id="period-not-month-start",
    ),
    case(
        ["sales_history_header_only.csv"],
        ("sales_history_header_only.csv", None, None, None, "has no data rows; add at least one row below the header"),
        "sales_history_header_only.csv has no data rows; add at least one row below the header",
        id="header-only",
    ),
    case(
        ["product_zero_bytes.csv"],
        ("product_zero_bytes.csv", None, None, None, "is empty (0 bytes); expected a header row and data rows"),
        "product_zero_bytes.csv is empty (0 bytes); expected a header row and data rows",
        id="zero-bytes",
    ),
    case(
        ["product_latin1.csv"],
        (
            "product_latin1.csv",
            2,
            "name",
            "byte 0xE9",
            "is not valid UTF-8; save the file as CSV UTF-8 (Excel: Save as → CSV UTF-8)",
        ),
        "product_latin1.csv row 2, column name: byte 0xE9 is not valid UTF-8; save the file as CSV UTF-8 (Excel: "
        "Save as → CSV UTF-8)",
        id="latin1-encoding",
    ),
    case(
        ["orders.csv"],
        ("orders.csv", None, None, None, NOT_A_TABLE),
        f"orders.csv {NOT_A_TABLE}",
        id="unknown-table",
    ),
    case(
        ["sales_history_unreadable.xlsx"],
        (
            "sales_history_unreadable.xlsx",
            None,
            None,
            None,
            "is not a readable Excel workbook (.xlsx); save it again from Excel as .xlsx or CSV UTF-8",
        ),
        "sales_history_unreadable.xlsx is not a readable Excel workbook (.xlsx); save it again from Excel as .xlsx "
        "or CSV UTF-8",
        id="unreadable-xlsx",
    ),
    case(
        ["event_end_before_start.csv"],
        (
            "event_end_before_start.csv",
            2,
            "end",
            "2027-05-03",
            "is before start 2027-05-10; an event must end on or after its start",
        ),
        "event_end_before_start.csv row 2, column end: 2027-05-03 is before start 2027-05-10; an event must end on "
        "or after its start",
        id="event-end-before-start",
    ),
    case(
        ["open_order_bad_source.csv"],
        ("open_order_bad_source.csv", 3, "source", "transfer", "is not a valid source; use purchase or production"),
        "open_order_bad_source.csv row 3, column source: transfer is not a valid source; use purchase or production",
        id="bad-source",
    ),
    case(
        ["product_service_target.csv"],
        (
            "product_service_target.csv",
            2,
            "service_target",
            "95",
            "is outside (0, 1); service_target is a share such as 0.95",
        ),
        "product_service_target.csv row 2, column service_target: 95 is outside (0, 1); service_target is a share "
        "such as 0.95",
        id="service-target-out-of-range",
    ),
    case(
        ["inventory_missing_value.csv"],
        ("inventory_missing_value.csv", 3, "on_hand", None, "empty cell; on_hand is required"),
        "inventory_missing_value.csv row 3, column on_hand: empty cell; on_hand is required",
        id="empty-required-cell",
    ),
    case(
        ["product_new.csv", "sales_history_new.csv"],
        ("sales_history_new.csv", 3, "period", "2026-10-1x", "is not a date; write dates as YYYY-MM-DD"),
        "sales_history_new.csv row 3, column period: 2026-10-1x is not a date; write dates as YYYY-MM-DD",
        id="second-file-bad",
    ),
    case(
        ["sales_history_cut_short.csv"],
        (
            "sales_history_cut_short.csv",
            3,
            "sku",
            "Z-999",
            "is not a known SKU; add it to product (in the database or in the same import)",
        ),
        "sales_history_cut_short.csv row 3, column sku: Z-999 is not a known SKU; add it to product (in the "
        "database or in the same import)",
        3,  # + -3 on row 4 + the line cut short on row 5 (see test_every_problem_of_a_file_is_named_in_row_order)
        id="line-cut-short-and-two-bad-rows",
    ),
    case(
        ["sales_history_no_header.csv"],
        (
            "sales_history_no_header.csv",
            None,
            None,
            None,
            "has no header row: none of rows 1–10 names a column of sales_history; the header names the columns "
            "sku, period, quantity (required) and net_price, promo (optional)",
        ),
        "sales_history_no_header.csv has no header row: none of rows 1–10 names a column of sales_history; the "
        "header names the columns sku, period, quantity (required) and net_price, promo (optional)",
        id="no-header-row",
    ),
    case(
        ["sales_history_column_twice.csv"],
        (
            "sales_history_column_twice.csv",
            1,
            "quantity",
            None,
            "appears twice in the header (columns C and D); each column may appear only once",
        ),
        "sales_history_column_twice.csv row 1, column quantity: appears twice in the header (columns C and D); "
        "each column may appear only once",
        id="column-twice",
    ),
    case(
        ["sales_history_wrong_type.csv", "sales_history_negative.csv", "orders.csv"],
        (
            "sales_history_wrong_type.csv",
            3,
            "quantity",
            "twelve",
            "is not a number; write digits with a decimal point, e.g. 12.5",
        ),
        "sales_history_wrong_type.csv row 3, column quantity: twelve is not a number; write digits with a decimal "
        "point, e.g. 12.5",
        5,  # + -4 in sales_history_negative.csv, which also repeats two keys of the first file; + orders.csv
        id="three-bad-files-all-reported",
    ),
]


def _snapshot(engine: Engine) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    with session_scope(engine) as s:
        tables = {mdl.__tablename__: repo.read_table(s, mdl.__tablename__) for mdl in ALL_MODELS}
        counts = repo.table_counts(s)
    return tables, counts


def _base_frames() -> dict[str, pd.DataFrame]:
    """The base company's CSV files read plainly with pandas (empty text cells stay '')."""
    return {
        table: pd.read_csv(BASE / f"{table}.csv", dtype={"supplier": str}, keep_default_na=False)
        for table in m.INPUT_TABLES
    }


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    """The engine's database holding the small valid company of tests/data/bad_imports/base/."""
    with session_scope(engine) as s:
        for table, frame in _base_frames().items():
            repo.upsert_frame(s, table, frame)
    return engine


def test_base_company_imports_cleanly(engine: Engine) -> None:
    report = ingest.import_files(engine, sorted(BASE.glob("*.csv")))
    assert report.rows == {t: len(f) for t, f in _base_frames().items()}
    assert report.rows["sales_history"] == 7 and sum(report.updated.values()) == 0
    with session_scope(engine) as s:
        stored = repo.read_table(s, "open_order")
    assert stored[["sku", "source", "supplier"]].values.tolist() == [
        ["A-100", "production", ""],
        ["B-300", "purchase", "S1"],
    ]


@pytest.mark.parametrize(("files", "fields", "message", "count"), CASES)
def test_bad_import_is_refused_and_changes_nothing(
    loaded: Engine, files: list[str], fields: tuple, message: str, count: int
) -> None:
    before_tables, before_counts = _snapshot(loaded)
    with pytest.raises(ImportFailed) as info:
        ingest.import_files(loaded, [BAD / f for f in files])
    issues = info.value.issues
    first = issues[0]
    assert (first.file, first.row, first.column, first.value, first.reason) == fields
    assert str(first) == message
    assert len(issues) == count, [str(i) for i in issues]
    assert str(info.value) == (message if count == 1 else f"{message} (and {count - 1} more)")
    after_tables, after_counts = _snapshot(loaded)
    assert after_counts == before_counts
    for table, frame in before_tables.items():
        pd.testing.assert_frame_equal(after_tables[table], frame, obj=table)


def test_every_problem_of_a_file_is_named_in_row_order(loaded: Engine) -> None:
    with pytest.raises(ImportFailed) as info:
        ingest.import_files(loaded, [BAD / "sales_history_cut_short.csv"])
    assert [(i.row, i.column, i.value) for i in info.value.issues] == [
        (3, "sku", "Z-999"),
        (4, "quantity", "-3"),
        (5, "net_price", None),
    ]
    assert str(info.value.issues[2]) == (
        "sales_history_cut_short.csv row 5, column net_price: the line ends before this column, after 3 of the "
        "header's 5 values; a line cut short is refused, not filled in; write an empty cell as nothing between two "
        "separators"
    )


def test_second_file_bad_leaves_first_unwritten(loaded: Engine) -> None:
    with pytest.raises(ImportFailed):
        ingest.import_files(loaded, [BAD / "product_new.csv", BAD / "sales_history_new.csv"])
    with session_scope(loaded) as s:
        skus = set(repo.read_table(s, "product")["sku"])
    assert skus == {"A-100", "A-200", "B-300"}
    # the same product file alone is valid and lands
    report = ingest.import_files(loaded, [BAD / "product_new.csv"])
    assert (report.inserted, report.updated) == ({"product": 1}, {"product": 0})


def test_at_least_twelve_distinct_bad_files_are_covered() -> None:
    used = {f for param in CASES for f in param.values[0]} - {"product_new.csv"}
    stored = {p.name for p in BAD.iterdir() if p.is_file() and p.suffix in (".csv", ".xlsx")}
    assert used <= stored
    assert len(used) >= 12
