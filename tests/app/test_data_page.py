"""The Data page on the demo company: data health, validation of uploads, commit, templates."""

from __future__ import annotations

import io
from collections.abc import Iterator

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.engine import make_engine, session_scope
from sop_core.services import data as data_service


@pytest.fixture
def shared_engine(shared_demo_url: str) -> Iterator[Engine]:
    """The shared demo database, for the tests that only read it."""
    eng = make_engine(shared_demo_url)
    yield eng
    eng.dispose()


def _open(app_env: str, straight: bool = False) -> AppTest:
    """The page, opened from the default page; ``straight`` opens it alone (no sidebar: for a test that does
    not use it, on a database of its own where the default page would be drawn from cold caches first)."""
    at = AppTest.from_file(app_env, default_timeout=90)
    if not straight:
        at.run()
    at.switch_page("views/data.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {mt.label: mt.value for mt in at.metric}


def _health(at: AppTest) -> pd.DataFrame:
    return at.dataframe[0].value.set_index("Table")


def _a_history_row(engine: Engine) -> pd.Series:
    with session_scope(engine) as s:
        history = repo.read_table(s, "sales_history")
    return history.sort_values(["sku", "period"]).iloc[-1]


def test_data_health_shows_every_table_with_its_rows(shared_app_env: str, shared_engine: Engine) -> None:
    demo_engine = shared_engine
    at = _open(shared_app_env)
    assert at.title[0].value == "Data"
    with session_scope(demo_engine) as s:
        counts = repo.table_counts(s)
    health = _health(at)
    assert list(health.index) == list(m.INPUT_TABLES)
    assert health["Rows"].to_dict() == {t: counts[t] for t in m.INPUT_TABLES}
    assert health.loc["sales_history", "SKUs in master data"] == counts["product"]
    assert str(health.loc["sales_history", "First date"])[:10] == "2022-11-01"
    assert str(health.loc["sales_history", "Last date"])[:10] == "2026-10-01"
    metrics = _metrics(at)
    assert metrics["SKUs"] == f"{counts['product']:,}"
    assert metrics["Months of history"] == "48"
    assert metrics["Last actual period"] == "Oct 2026"
    assert metrics["Empty input tables"] == "0"
    labels = [b.label for b in at.get("download_button")]
    assert labels.count("CSV") == len(m.INPUT_TABLES) and labels.count("XLSX") == len(m.INPUT_TABLES)


def test_a_bad_upload_lists_its_issues_and_cannot_be_committed(shared_app_env: str, shared_engine: Engine) -> None:
    row = _a_history_row(shared_engine)  # nothing is imported: the shared database stays as it is
    content = f"sku,period,quantity\n{row['sku']},2026-10-01,12\nNO-SUCH-SKU,2026-10-01,-4\n".encode()
    at = _open(shared_app_env)
    at.file_uploader(key="data_uploads").set_value(("sales_history_fix.csv", content, "text/csv")).run()
    assert at.button(key="data_commit").disabled
    at.button(key="data_validate").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.error[0].value == "2 problems found; nothing was imported. Fix the files and validate again."
    issues = at.dataframe[-1].value
    assert issues.astype(str).values.tolist() == [
        [
            "sales_history_fix.csv",
            "3",
            "sku",
            "NO-SUCH-SKU",
            "is not a known SKU; add it to product (in the database or in the same import)",
        ],
        ["sales_history_fix.csv", "3", "quantity", "-4", "is negative; quantities must be ≥ 0"],
    ]
    assert at.button(key="data_commit").disabled


def test_a_valid_upload_is_committed_and_the_rows_are_updated(app_env: str, demo_engine: Engine) -> None:
    row = _a_history_row(demo_engine)
    period = f"{row['period']:%Y-%m-%d}"
    content = f"sku,period,quantity\n{row['sku']},{period},{row['quantity'] + 7:g}\n".encode()
    with session_scope(demo_engine) as s:
        before = repo.table_counts(s)
    at = _open(app_env, straight=True)
    at.file_uploader(key="data_uploads").set_value(("sales_history_fix.csv", content, "text/csv")).run()
    at.button(key="data_validate").click().run()
    assert at.success[0].value == "1 file valid: ready to commit."
    assert not at.button(key="data_commit").disabled
    at.button(key="data_commit").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.success[0].value == "Imported 1 file, 1 row: sales_history 1 (0 new, 1 updated)"
    after_row = _a_history_row(demo_engine)
    assert after_row["quantity"] == pytest.approx(row["quantity"] + 7)
    with session_scope(demo_engine) as s:
        after = repo.table_counts(s)
    assert after["sales_history"] == before["sales_history"]
    assert after["audit_log"] == before["audit_log"] + 1
    assert _health(at).loc["sales_history", "Rows"] == before["sales_history"]


def _workbook(rows: list[list[object]]) -> bytes:
    """An XLSX workbook with one sheet holding ``rows`` from A1 (None = an empty cell, [] = an empty row)."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TITLE = "Sales history export – Halden & Voss – printed 2026-11-03"


def test_a_title_row_above_the_header_is_skipped_and_the_file_commits(app_env: str, demo_engine: Engine) -> None:
    row = _a_history_row(demo_engine)
    content = _workbook(
        [[TITLE], [], ["sku", "period", "quantity"], [row["sku"], row["period"].to_pydatetime(), row["quantity"] + 7]]
    )
    at = _open(app_env, straight=True)
    at.file_uploader(key="data_uploads").set_value(("sales_history_halden.xlsx", content, XLSX)).run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error
    assert at.expander[0].label == "sales_history_halden.xlsx → sales_history (1 row)"
    assert [c.value for c in at.caption if "header found" in c.value] == [
        "sales_history_halden.xlsx: header found in row 3; rows 1–2 skipped (title)"
    ]
    preview = at.dataframe[-1].value
    assert preview.columns.tolist() == ["SKU", "Month", "Quantity (units)"]
    assert preview.index.tolist() == [4]  # the Excel row number of the only data row
    at.button(key="data_validate").click().run()
    assert at.success[0].value == "1 file valid: ready to commit."
    at.button(key="data_commit").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.success[0].value == "Imported 1 file, 1 row: sales_history 1 (0 new, 1 updated)"
    assert _a_history_row(demo_engine)["quantity"] == pytest.approx(row["quantity"] + 7)


def test_a_file_without_a_header_or_with_a_column_twice_is_named_not_a_traceback(
    shared_app_env: str, shared_engine: Engine
) -> None:
    row = _a_history_row(shared_engine)  # nothing is imported: the shared database stays as it is
    period = f"{row['period']:%Y-%m-%d}"
    no_header = _workbook([[TITLE], [], ["Artikel", "Periode", "Menge"], [row["sku"], period, 5]])
    twice = f"sku,period,quantity,quantity\n{row['sku']},{period},5,6\n".encode()
    at = _open(shared_app_env)
    at.file_uploader(key="data_uploads").set_value(
        [("sales_history_nohead.xlsx", no_header, XLSX), ("sales_history_twice.csv", twice, "text/csv")]
    ).run()
    assert not at.exception, [e.message for e in at.exception]
    no_header_message = (
        "sales_history_nohead.xlsx has no header row: none of rows 1–10 names a column of sales_history; the header "
        "names the columns sku, period, quantity (required) and net_price, promo (optional)"
    )
    twice_message = (
        "sales_history_twice.csv row 1, column quantity: appears twice in the header (columns C and D); "
        "each column may appear only once"
    )
    assert [e.value for e in at.error] == [no_header_message, twice_message]
    assert not at.expander or "→" not in at.expander[0].label  # no preview of an unreadable file
    assert at.button(key="data_commit").disabled
    at.button(key="data_validate").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.error[-1].value == "2 problems found; nothing was imported. Fix the files and validate again."
    issues = at.dataframe[-1].value
    assert issues.astype(str).values.tolist() == [
        ["sales_history_nohead.xlsx", "<NA>", "–", "–", no_header_message.split(" ", 1)[1]],
        ["sales_history_twice.csv", "1", "quantity", "–", twice_message.split(": ", 1)[1]],
    ]
    assert at.button(key="data_commit").disabled


def test_an_upload_is_read_once_not_on_every_rerun(
    shared_app_env: str, shared_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    read_extract = data_service.read_extract

    def counted(content: bytes, name: str) -> pd.DataFrame:
        reads.append(name)
        return read_extract(content, name)

    monkeypatch.setattr(data_service, "read_extract", counted)
    row = _a_history_row(shared_engine)
    at = _open(shared_app_env, straight=True)
    at.file_uploader(key="data_uploads").set_value(("sales_history_fix.csv", f"sku,period,quantity\n{row['sku']},"
                                                    "2026-10-01,12\n".encode(), "text/csv")).run()
    at.button(key="data_validate").click().run()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert reads == ["sales_history_fix.csv"]  # three runs with the upload, one reading
    at.file_uploader(key="data_uploads").set_value(("sales_history_fix.csv", b"sku,period,quantity\n", "text/csv"))
    at.run()
    assert reads == ["sales_history_fix.csv", "sales_history_fix.csv"]  # other bytes: read again
