"""Generated import files (hypothesis, 500 examples per run, derandomized): small CSVs of the sales history,
product and event tables with hostile cells (formulas, NUL and control characters, bytes that are not UTF-8,
huge and far-off numbers and dates, quotes, odd separators, short and long rows) go through the import service on
a throw-away SQLite database. Whatever the file, the import either loads it or raises ImportFailed and writes
nothing; every issue names the file, a row (or none for a whole-file problem), a column of the table (or none)
and a reason."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from sop_core.db import models as m
from sop_core.db import repo, user_repo
from sop_core.db.engine import make_engine, session_scope
from sop_core.db.schema import ALL_MODELS
from sop_core.io import ingest
from sop_core.io.import_issues import ImportFailed
from sop_core.services.bootstrap import DEMO_USERS

BASE = {
    "product.csv": "sku,name,family,category,unit_price,unit_cost\nA-100,Frame S,FRAMES,COMP,120,70\n"
                   "A-200,Frame L,FRAMES,COMP,130,76\n",
    "sales_history.csv": "sku,period,quantity\nA-100,2026-09-01,40\n",
}
HOSTILE_TEXT = ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2", "@SUM(A1)", "a\x00b", "bell\x07", "\t", "é", "€",
                "![img](http://x/y.png)", "<script>", '"', '""', "a,b", "a;b", "n" * 300, " ", ""]
NUMBERS = ["4", "0", "-4", "1e308", "1e9", "1e10", "inf", "nan", "1,5", "12.5", "0x10", "--1", "1e-300", "9" * 40]
DATES = ["2026-10-01", "2026-10-15", "2100-01-01", "1700-01-01", "0001-01-01", "9999-12-01", "2026-13-01",
         "2026-02-30", "01/10/2026", "2026-10-01T00:00", "20261001"]
COLUMNS = {
    "sales_history": {"sku": ["A-100", "A-200", "Z-9"], "period": DATES, "quantity": NUMBERS,
                      "net_price": NUMBERS, "promo": ["0", "1", "2", "0.5"]},
    "product": {"sku": ["B-1", "B-2", "A-100"], "name": ["Frame"], "family": ["F"], "category": ["C"],
                "unit_price": NUMBERS, "unit_cost": NUMBERS, "service_target": ["0.95", "1", "0"]},
    "event": {"name": ["Promo"], "start": DATES, "end": DATES, "scope": ["FRAMES", "*", "A-100", "X"],
              "uplift_pct": ["20", "-1000", "1001", "-100", "1000"]},
}


def _cell(column: str, table: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(COLUMNS[table][column]), st.sampled_from(HOSTILE_TEXT),
                     st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8))


@st.composite
def import_files(draw: st.DrawFn) -> tuple[str, bytes]:
    table = draw(st.sampled_from(sorted(COLUMNS)))
    names = list(COLUMNS[table])
    header = draw(st.lists(st.sampled_from([*names, "colour", ""]), min_size=1, max_size=len(names) + 1))
    header = header if draw(st.booleans()) else names  # mostly a valid header
    sep = draw(st.sampled_from([",", ";", "\t"]))
    quote = draw(st.booleans())
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        width = len(header) + draw(st.sampled_from([0, 0, 0, -1, 1]))
        cells = [draw(_cell(header[i] if i < len(header) and header[i] in names else names[0], table))
                 for i in range(max(width, 0))]
        rows.append(cells)
    def line(cells: list[str]) -> str:
        if quote:
            return sep.join('"' + c.replace('"', '""') + '"' for c in cells)
        return sep.join(cells)
    text = "\n".join(line(r) for r in [header, *rows]) + draw(st.sampled_from(["\n", "", "\r\n"]))
    data = text.encode("utf-8")
    if draw(st.integers(0, 9)) == 0:
        data = data.replace(b"e", b"\xe9")  # Latin-1 bytes: not UTF-8
    if draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" + data  # a byte-order mark
    title = draw(st.sampled_from(["", "", "", "Export of 2026-10\n"]))
    return f"{table}_fuzz.csv", title.encode() + data


def counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        return {mdl.__tablename__: int(s.scalar(select(func.count()).select_from(mdl)) or 0) for mdl in ALL_MODELS}


@pytest.fixture(scope="module")
def fuzz_engine(empty_db_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """One throw-away SQLite database for every example: the demo users (``demo``, an admin, imports), a small
    company and the current cycle 2026-11."""
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    shutil.copyfile(empty_db_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with session_scope(engine) as s:
        user_repo.add_missing_users(s, DEMO_USERS)
    ingest.import_files(engine, [(n, t.encode()) for n, t in BASE.items()])
    with session_scope(engine) as s:
        s.add(m.PlanCycle(month=dt.date(2026, 11, 1), status="demand_review", status_at=dt.datetime(2026, 11, 2)))
    return engine


@settings(max_examples=500, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(file=import_files())
def test_any_generated_file_loads_or_is_refused_whole_with_named_issues(fuzz_engine: Engine,
                                                                        file: tuple[str, bytes]) -> None:
    name, data = file
    table = name.split("_fuzz")[0]
    before = counts(fuzz_engine)
    try:
        ingest.import_files(fuzz_engine, [(name, data)])
    except ImportFailed as err:
        assert counts(fuzz_engine) == before, "a refused import wrote rows"
        assert err.issues
        known = {*repo.input_columns(table), "/".join(m.NATURAL_KEYS[table])}
        for issue in err.issues:
            assert issue.file == name
            assert issue.reason.strip()
            assert issue.row is None or issue.row >= 1
            assert issue.column is None or issue.column in known or issue.column.isupper() or issue.column in \
                data.decode("utf-8", "replace").lower(), issue  # a column of the table, a letter, or the header's
            assert str(issue).startswith(name)
    else:
        after = counts(fuzz_engine)
        assert after[table] >= before[table]
