"""Hostile and implausible import files: each is refused with an issue naming file, row, column and reason, and
nothing is written (SQLite and PostgreSQL); a hostile small file (one line of 20 MB, a workbook that unzips to
hundreds of MB or declares a million rows) is refused in seconds without holding much memory."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import hostile_files
import pytest
from sqlalchemy import Engine, func, select

from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.db.schema import ALL_MODELS
from sop_core.io import ingest
from sop_core.io.import_issues import ImportFailed, ImportIssue, issues_csv

ROOT = Path(__file__).resolve().parents[2]
BASE = {
    "product.csv": "sku,name,family,category,unit_price,unit_cost\nA-100,Frame S,FRAMES,COMP,120,70\n"
                   "A-200,Frame L,FRAMES,COMP,130,76\n",
    "supplier.csv": "supplier,name\nS1,Rimworks\n",
    "sales_history.csv": "sku,period,quantity\nA-100,2026-09-01,40\nA-100,2026-10-01,44\n",
}
#: Every import checks its user: the demo users (``demo``, an admin, imports) exist in the test's databases.
pytestmark = pytest.mark.usefixtures("demo_users")


def counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        return {mdl.__tablename__: int(s.scalar(select(func.count()).select_from(mdl)) or 0) for mdl in ALL_MODELS}


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    """The small company of :data:`BASE`, and the current cycle 2026-11 (the dates an import takes are around it)."""
    ingest.import_files(engine, [(n, t.encode()) for n, t in BASE.items()])
    with session_scope(engine) as s:
        s.add(m.PlanCycle(month=dt.date(2026, 11, 1), status="demand_review", status_at=dt.datetime(2026, 11, 2)))
    return engine


def refused(engine: Engine, name: str, data: bytes) -> list[ImportIssue]:
    """The issues of importing ``data`` as ``name``; asserts that nothing was written."""
    before = counts(engine)
    with pytest.raises(ImportFailed) as err:
        ingest.import_files(engine, [(name, data)])
    assert counts(engine) == before
    return err.value.issues


SHAPES = [
    pytest.param("sales_history.csv", "sku,period,quantity\nA-100,2026-11-01,1e308\n",
                 ("sales_history.csv", 2, "quantity", "1e308",
                  "is too large; quantities must be at most 1,000,000,000 units; check the unit and the decimal "
                  "separator"), id="quantity-1e308"),
    pytest.param("sales_history.csv", "sku,period,quantity\nA-100,2100-01-01,4\n",
                 ("sales_history.csv", 2, "period", "2100-01-01",
                  "is after 2029-11-30, the latest date an import takes (3 years after the current cycle 2026-11; "
                  "SOP_IMPORT_FUTURE_YEARS)"), id="sale-in-2100"),
    pytest.param("sales_history.csv", "sku,period,quantity\nA-100,1700-01-01,4\n",
                 ("sales_history.csv", 2, "period", "1700-01-01",
                  "is before 2006-11-01, the earliest date an import takes (20 years before the current cycle "
                  "2026-11; SOP_IMPORT_PAST_YEARS)"), id="period-1700"),
    pytest.param("event.csv", "name,start,end,scope,uplift_pct\nCrash,2027-03-01,2027-03-31,FRAMES,-1000\n",
                 ("event.csv", 2, "uplift_pct", "-1000",
                  "is below -100; an uplift is a change in % from −100 (no sales) to +1000"), id="uplift-minus-1000"),
    pytest.param("receipt.csv", "supplier,sku,order_date,promised_date,received_date,qty_ordered,qty_received\n"
                                "S1,A-100,2026-09-10,2026-09-30,2026-09-01,20,20\n",
                 ("receipt.csv", 2, "received_date", "2026-09-01",
                  "is before the order date 2026-09-10; a receipt cannot be received before it was ordered"),
                 id="received-before-ordered"),
    pytest.param("product.csv", "sku,name,family,category,unit_price,unit_cost\nB-1,Bad\x00name,F,C,1,1\n",
                 ("product.csv", 2, "name", None, "holds a NUL character (at position 4); remove it"), id="nul"),
    pytest.param("product.csv", "sku,name,family,category,unit_price,unit_cost\nB-1,Bell\x07,F,C,1,1\n",
                 ("product.csv", 2, "name", None, "holds the control character U+0007 (at position 5); remove it"),
                 id="control-character"),
    pytest.param("product.csv", "sku,name,family,category,unit_price,unit_cost\nB-1," + "n" * 10_001 + ",F,C,1,1\n",
                 ("product.csv", 2, "name", "n" * 10_001, "is longer than 200 characters"), id="name-10001"),
]


@pytest.mark.parametrize(("name", "text", "first"), SHAPES)
def test_an_implausible_file_is_refused_and_nothing_is_written(
    loaded: Engine, name: str, text: str, first: tuple
) -> None:
    issues = refused(loaded, name, text.encode())
    assert (issues[0].file, issues[0].row, issues[0].column, issues[0].value, issues[0].reason) == first
    assert len(issues) == 1


def test_a_lone_surrogate_is_refused_as_not_utf8(loaded: Engine) -> None:
    data = b"sku,name,family,category,unit_price,unit_cost\nB-1,Bad " + b"\xed\xa0\x80" + b",F,C,1,1\n"
    issues = refused(loaded, "product.csv", data)
    assert [(i.file, i.row, i.column, i.value) for i in issues] == [("product.csv", 2, "name", "byte 0xED")]
    assert issues[0].reason.startswith("is not valid UTF-8")


_MEASURE = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from sop_core.db.engine import make_engine
    from sop_core.io import ingest
    from sop_core.io.import_issues import ImportFailed

    def peak():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    engine = make_engine(sys.argv[1])
    data = Path(sys.argv[2]).read_bytes()
    ingest.validate_files(engine, [("warm.csv", b"x")])  # imports and connections warm
    Path("/proc/self/clear_refs").write_text("5")
    base = peak()
    start = time.perf_counter()
    try:
        ingest.import_files(engine, [(Path(sys.argv[2]).name, data)])
        print("accepted")
    except ImportFailed as err:
        print(f"{time.perf_counter() - start:.3f} {peak() - base} {err}")
""")


def _measured(url: str, path: Path) -> tuple[float, int, str]:
    out = subprocess.run([sys.executable, "-c", _MEASURE, url, str(path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True).stdout.strip()
    seconds, extra, message = out.split(" ", 2)
    return float(seconds), int(extra), message


@pytest.mark.sqlite
def test_a_one_line_csv_of_20_mb_is_refused_in_seconds(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "sales_history.csv"
    path.write_bytes(b"sku,period,quantity," + b"x" * 20_000_000)
    seconds, extra, message = _measured(sqlite_engine.url.render_as_string(hide_password=False), path)
    assert message == ("sales_history.csv row 1 is 20,000,020 bytes long; a line may be at most 65,536 bytes "
                       "(SOP_IMPORT_MAX_LINE_BYTES): is this a CSV file?")
    assert seconds < 5
    assert extra < 500 * 2**20, f"{extra / 2**20:.0f} MB more memory"


@pytest.mark.sqlite
@pytest.mark.parametrize(("rows", "dimension", "message"), [
    (3_000_000, False, "sales_history.xlsx unzips to 345 MB; a workbook may unzip to at most 256 MB "
                       "(SOP_IMPORT_MAX_XLSX_MB): save it as CSV UTF-8 or split it"),
    (1_000_000, True, "sales_history.xlsx holds 1,000,000 rows; a workbook may hold at most 100,000 "
                      "(SOP_IMPORT_MAX_XLSX_ROWS): save larger extracts as CSV UTF-8"),
    (1_000_000, False, "sales_history.xlsx holds 1,000,000 rows; a workbook may hold at most 100,000 "
                       "(SOP_IMPORT_MAX_XLSX_ROWS): save larger extracts as CSV UTF-8"),
])
def test_a_workbook_bomb_is_refused_in_seconds(
    sqlite_engine: Engine, tmp_path: Path, rows: int, dimension: bool, message: str
) -> None:
    path = tmp_path / "sales_history.xlsx"
    path.write_bytes(hostile_files.workbook(rows, dimension))
    assert path.stat().st_size < 3_000_000  # a small file
    seconds, extra, said = _measured(sqlite_engine.url.render_as_string(hide_password=False), path)
    assert said == message
    assert seconds < 5
    assert extra < 500 * 2**20, f"{extra / 2**20:.0f} MB more memory"


def test_a_formula_in_a_refused_file_stays_text_in_the_errors_csv(loaded: Engine) -> None:
    data = b'sku,period,quantity\nA-100,2026-10-01,"=HYPERLINK(""http://x"",""y"")"\nA-100,2026-09-01,-4\n'
    issues = refused(loaded, "sales_history.csv", data)
    lines = issues_csv(issues).decode("utf-8-sig").splitlines()
    assert lines == [
        "file,row,column,value,reason",
        "sales_history.csv,2,quantity,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",\"is not a number; write digits with a "
        "decimal point, e.g. 12.5\"",
        "sales_history.csv,3,quantity,-4,is negative; quantities must be ≥ 0",
    ]
