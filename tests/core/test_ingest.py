"""Import of extracts: reading, the schemas, validation messages, the upsert rule, templates."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import Engine

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.engine import session_scope
from sop_core.io import import_checks, import_issues, import_readers, import_schema, import_templates, ingest
from sop_core.io.import_issues import ImportFailed, ImportIssue
from sop_core.io.import_plausible import PeriodWindow

#: Every service write checks its user: the demo users exist in the test's databases.
pytestmark = pytest.mark.usefixtures("demo_users")

KNOWN = {"sku": {"A-100", "A-200"}, "family": {"FRAMES"}, "supplier": {"S1"}, "resource": {"R1"}}
WINDOW = PeriodWindow.around(dt.date(2026, 11, 1), past_years=20, future_years=3)


def frames_of(**files: bytes) -> dict[str, tuple[str, pd.DataFrame]]:
    """file name (``.`` written as ``__``) -> CSV bytes, read as the import reads them."""
    out = {}
    for key, data in files.items():
        name = key.replace("__", ".")
        frame = import_readers.read_extract(data, name)
        out[name] = (frame.attrs["table"], frame)
    return out


def messages(**files: bytes) -> list[str]:
    return [str(i) for i in import_checks.validate(frames_of(**files), KNOWN, WINDOW)]


# --------------------------------------------------------------------------- issues
def test_issue_text_names_file_row_column_value_and_reason() -> None:
    issue = ImportIssue("sales_history.csv", 14, "quantity", "-4", "is negative; quantities must be ≥ 0")
    assert str(issue) == "sales_history.csv row 14, column quantity: -4 is negative; quantities must be ≥ 0"
    assert str(ImportIssue("orders.csv", None, None, None, "does not name an input table")) == (
        "orders.csv does not name an input table"
    )
    assert str(ImportIssue("p.csv", 1, "unit_cost", None, "required column is missing from the header")) == (
        "p.csv row 1, column unit_cost: required column is missing from the header"
    )
    assert str(ImportIssue("s.csv", 4, "sku/period", "A/2026-01-01", "repeats the key of row 2")) == (
        "s.csv row 4, columns sku/period: A/2026-01-01 repeats the key of row 2"
    )


def test_import_failed_shows_first_issue_and_how_many_more() -> None:
    a = ImportIssue("a.csv", 2, "sku", "X", "is not a known SKU")
    b = ImportIssue("a.csv", 3, "sku", "Y", "is not a known SKU")
    assert str(ImportFailed([a])) == "a.csv row 2, column sku: X is not a known SKU"
    assert str(ImportFailed([a, b, b])) == "a.csv row 2, column sku: X is not a known SKU (and 2 more)"
    assert ImportFailed([a, b]).issues == [a, b]
    frame = import_issues.issues_frame([a, b])
    assert frame.columns.tolist() == ["file", "row", "column", "value", "reason"]
    assert frame["row"].tolist() == [2, 3]


# --------------------------------------------------------------------------- file names and reading
@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("sales_history.csv", "sales_history"),
        ("sales_history_2026.csv", "sales_history"),
        ("Sales_History-2026-10.xlsx", "sales_history"),
        ("products.csv", "product"),
        ("supplier_item.csv", "supplier_item"),
        ("supplier_items_q3.csv", "supplier_item"),
        ("supplier_2026.csv", "supplier"),
        ("/tmp/extracts/open_order.csv", "open_order"),
    ],
)
def test_table_for_file(name: str, table: str) -> None:
    assert import_readers.table_for_file(name) == table


@pytest.mark.parametrize("name", ["orders.csv", "productline.csv", "history.csv"])
def test_table_for_file_refuses_other_names(name: str) -> None:
    with pytest.raises(ImportFailed, match=rf"^{name} does not name an input table"):
        import_readers.table_for_file(name)


def test_csv_row_numbers_skip_blank_lines_and_keep_the_line_number() -> None:
    data = b"SKU , Period,quantity\r\nA-100,2026-08-01,4\r\n\r\nA-200,2026-08-01,5\r\n"
    frame = import_readers.read_extract(data, "sales_history.csv")
    assert frame.columns.tolist() == ["sku", "period", "quantity"]
    assert frame.index.tolist() == [2, 4]
    assert frame.loc[4].tolist() == ["A-200", "2026-08-01", "5"]


def test_csv_with_bom_and_semicolons_is_read() -> None:
    data = "\ufeffsku;period;quantity\nA-100;2026-08-01;4\n".encode()
    frame = import_readers.read_extract(data, "sales_history.csv")
    assert frame.to_dict("records") == [{"sku": "A-100", "period": "2026-08-01", "quantity": "4"}]
    assert import_checks.validate({"sales_history.csv": ("sales_history", frame)}, KNOWN, WINDOW) == []


def test_more_values_than_headers_is_refused() -> None:
    with pytest.raises(ImportFailed) as info:
        import_readers.read_extract(b"sku,as_of,on_hand\nA-100,2026-10-31,4,9\n", "inventory.csv")
    assert str(info.value) == "inventory.csv row 2 has 4 values but the header has 3 columns"


def _xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_rows_are_excel_row_numbers_and_the_table_sheet_wins() -> None:
    data = _xlsx(
        {
            "notes": [["exported from the ERP"]],
            "sales_history": [
                ["sku", "period", "quantity"],
                ["A-100", dt.datetime(2026, 8, 1), 4],
                [None, None, None],
                ["A-200", dt.datetime(2026, 8, 1), -2.5],
            ],
        }
    )
    frame = import_readers.read_extract(data, "sales_history_export.xlsx")
    assert frame.index.tolist() == [2, 4]
    assert frame["period"].tolist() == ["2026-08-01", "2026-08-01"]
    issues = import_checks.validate({"sales_history_export.xlsx": ("sales_history", frame)}, KNOWN, WINDOW)
    assert [str(i) for i in issues] == [
        "sales_history_export.xlsx row 4, column quantity: -2.5 is negative; quantities must be ≥ 0"
    ]


TITLE = "Sales history export – Halden & Voss – printed 2026-11-03"


def test_a_title_row_above_the_header_is_skipped_in_xlsx_and_csv() -> None:
    xlsx = _xlsx(
        {
            "Export": [
                [TITLE],
                [],
                ["SKU", "Period", "Quantity"],
                ["A-100", dt.datetime(2026, 10, 1), 4],
                ["A-200", dt.datetime(2026, 10, 1), -2],
            ]
        }
    )
    csv = f"{TITLE}, page 1\n\nsku;period;quantity\nA-100;2026-10-01;4\nA-200;2026-10-01;-2\n".encode()
    for name, data in (("sales_history_halden.xlsx", xlsx), ("sales_history_halden.csv", csv)):
        frame = import_readers.read_extract(data, name)
        assert frame.columns.tolist() == ["sku", "period", "quantity"], name
        assert frame.index.tolist() == [4, 5]  # the row numbers of the file, title and blank row counted
        assert frame["quantity"].tolist() == ["4", "-2"]
        assert (frame.attrs["header_row"], frame.attrs["title_rows"]) == (3, (1,))
        assert import_readers.header_note(frame) == "header found in row 3; rows 1–2 skipped (title)"
        assert [str(i) for i in import_checks.validate({name: ("sales_history", frame)}, KNOWN, WINDOW)] == [
            f"{name} row 5, column quantity: -2 is negative; quantities must be ≥ 0"
        ]
    plain = import_readers.read_extract(b"sku,period,quantity\nA-100,2026-10-01,4\n", "sales_history.csv")
    assert import_readers.header_note(plain) is None
    one = import_readers.read_extract(b"Supplier\nsupplier,name\nS2,Nordic\n", "supplier.csv")  # a title that is a column
    assert (one.index.tolist(), import_readers.header_note(one)) == ([3], "header found in row 2; row 1 skipped (title)")


def test_the_header_row_found_names_its_own_missing_and_unknown_columns() -> None:
    data = f"{TITLE}\nsku,Periode,quantity\nA-100,2026-10-01,4\n".encode()
    assert messages(sales_history__csv=data) == [
        "sales_history.csv row 2, column period: required column is missing from the header",
        "sales_history.csv row 2, column periode: unknown column; sales_history has the columns sku, period, "
        "quantity, net_price, promo",
    ]


NO_HEADER = (
    "has no header row: none of rows 1–10 names a column of sales_history; the header names the columns sku, "
    "period, quantity (required) and net_price, promo (optional)"
)


@pytest.mark.parametrize(
    "data",
    [
        f"{TITLE}\n\nArtikel,Periode,Menge\nA-100,2026-10-01,4\n".encode(),
        b"\n" * 10 + b"sku,period,quantity\nA-100,2026-10-01,4\n",  # the header in row 11
    ],
    ids=["other-names", "below-row-10"],
)
def test_no_header_row_in_the_first_ten_rows_is_named(data: bytes) -> None:
    with pytest.raises(ImportFailed) as info:
        import_readers.read_extract(data, "sales_history.csv")
    assert [i.as_dict() for i in info.value.issues] == [
        {"file": "sales_history.csv", "row": None, "column": None, "value": None, "reason": NO_HEADER}
    ]
    assert str(info.value) == f"sales_history.csv {NO_HEADER}"


def test_a_column_twice_or_values_under_an_empty_header_cell_are_named() -> None:
    with pytest.raises(ImportFailed) as info:
        import_readers.read_extract(b"sku,period,quantity,quantity,sku,quantity\nA,2026-10-01,1,2,A,3\n", "sales_history.csv")
    assert [str(i) for i in info.value.issues] == [
        "sales_history.csv row 1, column sku: appears twice in the header (columns A and E); each column may appear "
        "only once",
        "sales_history.csv row 1, column quantity: appears 3 times in the header (columns C, D and F); each column "
        "may appear only once",
    ]
    xlsx = _xlsx(
        {"sales_history": [[TITLE], ["sku", "period", None, "quantity", None], ["A-100", "2026-10-01", None, 4, "x"]]}
    )
    with pytest.raises(ImportFailed) as info:
        import_readers.read_extract(xlsx, "sales_history.xlsx")
    assert [str(i) for i in info.value.issues] == [
        "sales_history.xlsx row 2, column E: has an empty header cell but holds values from row 3; name the column "
        "or delete it"
    ]


def test_a_csv_line_cut_short_is_refused_not_filled_in() -> None:
    data = b"sku,period,quantity,net_price,promo\nA-100,2026-10-01,4,118,0\nA-200,2026-10-01,5\nA-100,2026-11-01,6,,\n"
    with pytest.raises(ImportFailed) as info:
        import_readers.read_extract(data, "sales_history.csv")
    assert [(i.row, i.column) for i in info.value.issues] == [(3, "net_price")]
    assert str(info.value) == (
        "sales_history.csv row 3, column net_price: the line ends before this column, after 3 of the header's 5 "
        "values; a line cut short is refused, not filled in; write an empty cell as nothing between two separators"
    )
    # empty cells written out (row 4) are fine; an XLSX row simply ends at its last filled cell
    frame = import_readers.read_extract(data.replace(b"A-200,2026-10-01,5\n", b""), "sales_history.csv")
    assert frame.loc[3].tolist() == ["A-100", "2026-11-01", "6", "", ""]
    xlsx = _xlsx({"sales_history": [["sku", "period", "quantity", "net_price"], ["A-100", "2026-10-01", 4]]})
    assert import_readers.read_extract(xlsx, "sales_history.xlsx").loc[2].tolist() == ["A-100", "2026-10-01", "4", ""]


def test_every_row_of_a_bad_width_is_named_with_the_other_problems(sqlite_engine: Engine) -> None:
    ingest.import_files(sqlite_engine, list(MASTER.items()))
    data = (
        b"sku,period,quantity,net_price,promo\n"
        b"A-100,2026-10-01,4,118,0\n"
        b"X-1,2026-10-01,4,118,0\n"
        b"A-200,2026-10-01,5\n"
        b"A-200,2026-11-01,5,128,0,9\n"
        b"A-100,2026-11-01,-6,118,0\n"
    )
    issues = ingest.validate_files(sqlite_engine, [("sales_history.csv", data)])
    assert [(i.row, i.column, i.value) for i in issues] == [
        (3, "sku", "X-1"),
        (4, "net_price", None),
        (5, None, None),
        (6, "quantity", "-6"),
    ]
    assert str(issues[2]) == "sales_history.csv row 5 has 6 values but the header has 5 columns"
    with pytest.raises(ImportFailed) as info:
        ingest.import_files(sqlite_engine, [("sales_history.csv", data)])
    assert info.value.issues == issues
    with session_scope(sqlite_engine) as s:
        assert repo.table_counts(s)["sales_history"] == 0


def test_a_file_whose_only_rows_are_cut_short_is_not_also_said_to_have_no_rows(sqlite_engine: Engine) -> None:
    issues = ingest.validate_files(sqlite_engine, [("inventory.csv", b"sku,as_of,on_hand\nA-100,2026-10-31\n")])
    assert [(i.row, i.column) for i in issues] == [(2, "on_hand")]


def test_issues_csv_holds_every_issue_with_empty_fields_for_none() -> None:
    issues = [
        ImportIssue("a.csv", None, None, None, "has no header row"),
        ImportIssue("a.csv", 4, "quantity", "-3", "is negative; quantities must be ≥ 0"),
        ImportIssue("a.csv", 5, "net_price", None, "the line ends before this column, after 3 values"),
    ]
    data = import_issues.issues_csv(issues)
    assert data.startswith(b"\xef\xbb\xbf")  # a byte-order mark: Excel shows ≥ as written
    assert data.decode("utf-8-sig").splitlines() == [
        "file,row,column,value,reason",
        "a.csv,,,,has no header row",
        "a.csv,4,quantity,-3,is negative; quantities must be ≥ 0",
        'a.csv,5,net_price,,"the line ends before this column, after 3 values"',
    ]
    assert import_issues.issues_csv([]).decode("utf-8-sig") == "file,row,column,value,reason\n"


# --------------------------------------------------------------------------- schemas
OPTIONAL = {
    "product": {"holding_rate", "order_cost", "service_target"},
    "supplier": set(),
    "resource": {"plant", "overtime_hours", "overtime_cost_per_hour"},
    "sales_history": {"net_price", "promo"},
    "inventory": set(),
    "open_order": {"supplier"},
    "supplier_item": {"lead_time_std_days", "moq", "priority"},
    "receipt": {"received_date", "qty_received"},
    "routing": set(),
    "event": {"scope", "uplift_pct"},
    "budget": {"margin"},
}


@pytest.mark.parametrize("table", list(m.INPUT_TABLES))
def test_schema_columns_and_required_flags_follow_the_model(table: str) -> None:
    schema = import_schema.schema_for(table)
    assert list(schema.columns) == repo.input_columns(table)
    assert {c for c, col in schema.columns.items() if not col.required} == OPTIONAL[table]
    assert schema.strict is True


def test_optional_columns_may_be_left_out_and_empty_cells_take_the_default() -> None:
    frames = frames_of(
        supplier_item__csv=b"supplier,sku,lead_time_days,unit_cost,priority\nS1,A-100,14,60,\n",
        open_order__csv=b"sku,due_period,quantity,source\nA-100,2026-11-01,5,production\n",
    )
    assert import_checks.validate(frames, KNOWN, WINDOW) == []


def test_several_problems_are_listed_by_row_then_column() -> None:
    data = (
        b"sku,period,quantity,net_price,promo\n"
        b"A-100,2026-08-01,4,-1,0\n"
        b"X-1,2026-08-15,abc,10,2\n"
        b",2026-09-01,3,,0\n"
        b"A-100,2026-08-01,1,10,1\n"
    )
    assert messages(sales_history__csv=data) == [
        "sales_history.csv row 2, column net_price: -1 is negative; prices must be ≥ 0",
        "sales_history.csv row 3, column sku: X-1 is not a known SKU; add it to product (in the database or in the "
        "same import)",
        "sales_history.csv row 3, column period: 2026-08-15 is not the first day of a month; periods are month "
        "starts (YYYY-MM-01)",
        "sales_history.csv row 3, column quantity: abc is not a number; write digits with a decimal point, e.g. 12.5",
        "sales_history.csv row 3, column promo: 2 is not 0 or 1; promo is 1 in promotion months, else 0",
        "sales_history.csv row 4, column sku: empty cell; sku is required",
        "sales_history.csv row 5, columns sku/period: A-100/2026-08-01 repeats the key of row 2; each sku/period "
        "may appear only once in an import",
    ]


@pytest.mark.parametrize(
    ("key", "data", "expected"),
    [
        (
            "resource__csv",
            b"resource,name,capacity_hours\nR2,Paint,-8\n",
            "resource.csv row 2, column capacity_hours: -8 is negative; hours must be ≥ 0",
        ),
        (
            "product__csv",
            b"sku,name,family,category,unit_price,unit_cost\nP,Pump,F,C,10,-3\n",
            "product.csv row 2, column unit_cost: -3 is negative; costs must be ≥ 0",
        ),
        (
            "product__csv",
            b"sku,name,family,category,unit_price,unit_cost,service_target\nP,Pump,F,C,10,3,1\n",
            "product.csv row 2, column service_target: 1 is outside (0, 1); service_target is a share such as 0.95",
        ),
        (
            "supplier_item__csv",
            b"supplier,sku,lead_time_days,unit_cost,priority\nS1,A-100,-2,5,1\n",
            "supplier_item.csv row 2, column lead_time_days: -2 is negative; lead times must be ≥ 0",
        ),
        (
            "supplier_item__csv",
            b"supplier,sku,lead_time_days,unit_cost,priority\nS1,A-100,2,5,0\n",
            "supplier_item.csv row 2, column priority: 0 is below 1; priority 1 is the preferred supplier, 2 and up "
            "are alternates",
        ),
        (
            "open_order__csv",
            b"sku,due_period,quantity,source,supplier\nA-100,2026-11-01,5,purchase,S7\n",
            "open_order.csv row 2, column supplier: S7 is not a known supplier; add it to supplier (in the database or "
            "in the same import)",
        ),
        (
            "open_order__csv",
            b"sku,due_period,quantity,source\nA-100,2026-11-20,5,production\n",
            "open_order.csv row 2, column due_period: 2026-11-20 is not the first day of a month; periods are month "
            "starts (YYYY-MM-01)",
        ),
        (
            "budget__csv",
            b"family,period,volume,revenue\nPUMPS,2026-11-01,5,50\n",
            "budget.csv row 2, column family: PUMPS is not a known product family; families come from product.family",
        ),
        (
            "event__csv",
            b"name,start,end,scope\nFair,2026-11-01,2026-11-03,NOPE\n",
            "event.csv row 2, column scope: NOPE is not a known SKU or product family; use a SKU, a family or * for all",
        ),
        (
            "inventory__csv",
            b"sku,as_of,on_hand\nA-100,2026-10-31,1e999\n",
            "inventory.csv row 2, column on_hand: 1e999 is not a number; write digits with a decimal point, e.g. 12.5",
        ),
        (
            "sales_history__csv",
            b"sku,period,quantity,promo\nA-100,2026-10-01,4,0.5\n",
            "sales_history.csv row 2, column promo: 0.5 is not 0 or 1; promo is 1 in promotion months, else 0",
        ),
    ],
)
def test_value_checks(key: str, data: bytes, expected: str) -> None:
    assert messages(**{key: data}) == [expected]


def test_budget_margin_is_optional_may_be_negative_and_never_above_revenue() -> None:
    header = b"family,period,volume,revenue,margin\n"
    assert messages(budget__csv=header + b"FRAMES,2026-11-01,5,500,175\nFRAMES,2026-12-01,5,500,-20\n"
                    b"FRAMES,2027-01-01,5,500,\n") == []  # a loss-making month, and one without a margin budget
    assert messages(budget__csv=b"family,period,volume,revenue\nFRAMES,2026-11-01,5,500\n") == []
    assert messages(budget__csv=header + b"FRAMES,2026-11-01,5,500,175\nFRAMES,2026-12-01,5,500,650\n"
                    b"FRAMES,2027-01-01,5,500,lots\n") == [
        "budget.csv row 3, column margin: 650 is above revenue 500; the margin budget is revenue − cost of goods "
        "sold, so it cannot exceed the revenue",
        "budget.csv row 4, column margin: lots is not a number; write digits with a decimal point, e.g. 12.5",
    ]


def test_master_data_of_the_same_import_counts_as_known() -> None:
    frames = frames_of(
        product__csv=b"sku,name,family,category,unit_price,unit_cost\nN-1,New,PUMPS,C,10,5\n",
        sales_history__csv=b"sku,period,quantity\nN-1,2026-10-01,3\n",
        budget__csv=b"family,period,volume,revenue\nPUMPS,2026-11-01,5,50\n",
        event__csv=b"name,start,end,scope\nFair,2026-11-01,2026-11-03,*\n",
    )
    assert import_checks.validate(frames, KNOWN, WINDOW) == []


def test_a_key_repeated_across_two_files_of_one_import_is_refused() -> None:
    assert messages(
        sales_history_2025__csv=b"sku,period,quantity\nA-100,2026-01-01,3\n",
        sales_history_2026__csv=b"sku,period,quantity\nA-200,2026-01-01,3\nA-100,2026-01-01,4\n",
    ) == [
        "sales_history_2026.csv row 3, columns sku/period: A-100/2026-01-01 repeats the key of "
        "sales_history_2025.csv row 2; each sku/period may appear only once in an import"
    ]


# --------------------------------------------------------------------------- importing into a database
MASTER = {
    "product.csv": b"sku,name,family,category,unit_price,unit_cost\n"
    b"A-100,Frame S,FRAMES,COMPONENT,120,70\nA-200,Frame L,FRAMES,COMPONENT,130,76\n",
    "supplier.csv": b"supplier,name\nS1,Rimworks\n",
    "resource.csv": b"resource,name,capacity_hours\nR1,Welding,300\n",
}
HISTORY = (
    b"sku,period,quantity,net_price,promo\n"
    b"A-100,2026-09-01,44,118,0\nA-100,2026-10-01,52,110,1\nA-200,2026-10-01,25,128,0\n"
)


def test_good_import_writes_every_table_in_one_go(engine: Engine) -> None:
    files = [("sales_history.csv", HISTORY), *MASTER.items()]  # order given does not matter
    files.append(("routing.csv", b"sku,resource,hours_per_unit\nA-100,R1,1.5\n"))
    files.append(("open_order.csv", b"sku,due_period,quantity,source\nA-200,2026-11-01,30,production\n"))
    report = ingest.import_files(engine, files, user="dana")
    assert report.rows == {
        "product": 2,
        "supplier": 1,
        "resource": 1,
        "sales_history": 3,
        "open_order": 1,
        "routing": 1,
    }
    assert report.inserted == report.rows and set(report.updated.values()) == {0}
    assert str(report).startswith("Imported 6 files, 9 rows: product 2 (2 new, 0 updated), supplier 1 (1 new")
    with session_scope(engine) as s:
        product = repo.read_table(s, "product").set_index("sku")
        history = repo.read_table(s, "sales_history")
        order = repo.read_table(s, "open_order")
        audit = repo.read_table(s, "audit_log")
        resource = repo.read_table(s, "resource")
    assert product.loc["A-200", "unit_cost"] == 76.0
    assert product.loc["A-100", "service_target"] == 0.95  # model default for a column left out
    assert resource.loc[0, "plant"] == "" and resource.loc[0, "overtime_hours"] == 0.0
    assert history["quantity"].tolist() == [44.0, 52.0, 25.0]
    assert history["period"].dt.date.tolist() == [dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 10, 1)]
    assert order.loc[0, "supplier"] == ""
    assert audit[["username", "action"]].values.tolist() == [["dana", "import"]]
    assert [f["rows"] for f in audit.loc[0, "detail"]["files"]] == [2, 1, 1, 3, 1, 1]


def test_reimport_updates_by_natural_key_and_deletes_nothing(engine: Engine) -> None:
    ingest.import_files(engine, [*MASTER.items(), ("sales_history.csv", HISTORY)])
    changed = b"sku,period,quantity\nA-100,2026-10-01,60\nA-200,2026-11-01,9\n"
    report = ingest.import_files(engine, [("sales_history_fix.csv", changed)])
    assert (report.inserted, report.updated) == ({"sales_history": 1}, {"sales_history": 1})
    assert str(report) == "Imported 1 file, 2 rows: sales_history 2 (1 new, 1 updated)"
    with session_scope(engine) as s:
        history = repo.read_table(s, "sales_history")
        counts = repo.table_counts(s)
    assert counts["sales_history"] == 4 and counts["audit_log"] == 2
    row = history[(history["sku"] == "A-100") & (history["period"] == "2026-10-01")].iloc[0]
    assert row["quantity"] == 60.0
    assert row["net_price"] == 110.0 and row["promo"] == 1  # columns the file leaves out keep their values
    assert history.loc[history["sku"] == "A-100", "quantity"].tolist() == [44.0, 60.0]


def test_import_accepts_paths_and_a_table_for_oddly_named_files(sqlite_engine: Engine, tmp_path: Path) -> None:
    ingest.import_files(sqlite_engine, list(MASTER.items()))
    path = tmp_path / "erp_export_17.csv"
    path.write_bytes(HISTORY)
    report = ingest.import_files(sqlite_engine, [path], table="sales_history")
    assert report.rows == {"sales_history": 3}
    assert ingest.validate_files(sqlite_engine, [path], table="sales_history") == []


def test_validate_files_checks_against_the_database_without_writing(sqlite_engine: Engine) -> None:
    ingest.import_files(sqlite_engine, list(MASTER.items()))
    issues = ingest.validate_files(sqlite_engine, [("routing.csv", b"sku,resource,hours_per_unit\nA-100,R2,1\n")])
    assert [str(i) for i in issues] == [
        "routing.csv row 2, column resource: R2 is not a known resource; add it to resource (in the database or in "
        "the same import)"
    ]
    assert ingest.validate_files(sqlite_engine, [("routing.csv", b"sku,resource,hours_per_unit\nA-100,R1,1\n")]) == []
    with session_scope(sqlite_engine) as s:
        assert repo.table_counts(s)["routing"] == 0


# --------------------------------------------------------------------------- templates
@pytest.mark.parametrize("table", list(m.INPUT_TABLES))
def test_template_has_the_headers_and_two_valid_rows(table: str) -> None:
    frame = import_templates.template_frame(table)
    assert frame.columns.tolist() == repo.input_columns(table)
    assert len(frame) == 2
    csv_text = import_templates.template_bytes(table, "csv").decode("utf-8")
    assert csv_text.splitlines()[0] == ",".join(repo.input_columns(table))
    book = openpyxl.load_workbook(io.BytesIO(import_templates.template_bytes(table, "xlsx")), read_only=True)
    assert book.sheetnames == [table, "columns"]


def test_templates_reimport_cleanly(engine: Engine, tmp_path: Path) -> None:
    paths = import_templates.write_templates(tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{t}.{x}" for t in m.INPUT_TABLES for x in ("csv", "xlsx"))
    report = ingest.import_files(engine, [p for p in paths if p.suffix == ".csv"])
    assert report.rows == {t: 2 for t in m.INPUT_TABLES}
    # the XLSX templates hold the same rows: every one is an update
    report = ingest.import_files(engine, [p for p in paths if p.suffix == ".xlsx"])
    assert report.updated == {t: 2 for t in m.INPUT_TABLES} and set(report.inserted.values()) == {0}
    with session_scope(engine) as s:
        receipt = repo.read_table(s, "receipt")
        counts = repo.table_counts(s)
    assert all(counts[t] == 2 for t in m.INPUT_TABLES)
    assert receipt["received_date"].isna().tolist() == [False, True]


def test_each_template_alone_imports_into_a_database_with_the_master_data(sqlite_engine: Engine) -> None:
    masters = [(f"{t}.csv", import_templates.template_bytes(t, "csv")) for t in ("product", "supplier", "resource")]
    ingest.import_files(sqlite_engine, masters)
    for table in m.INPUT_TABLES:
        report = ingest.import_files(sqlite_engine, [(f"{table}.xlsx", import_templates.template_bytes(table, "xlsx"))])
        assert report.rows == {table: 2}


def test_the_demo_company_passes_validation() -> None:
    from sop_core.io import demo

    frames = {}
    for table, frame in demo.generate().items():
        data = frame.to_csv(index=False).encode("utf-8")
        frames[f"{table}.csv"] = (table, import_readers.read_extract(data, f"{table}.csv"))
    assert import_checks.validate(frames, {}, WINDOW) == []


def test_an_unknown_table_given_explicitly_is_refused() -> None:
    with pytest.raises(ImportFailed) as info:
        import_readers.read_extract(b"a,b\n1,2\n", "export.csv", table="orders")
    assert str(info.value) == "export.csv cannot load table 'orders'; the input tables are " + ", ".join(m.INPUT_TABLES)
