"""`python -m sop_core`: help, one-line errors without traceback, and the batch commands on a demo copy."""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from sop_core.cli.main import main
from sop_core.db import repo
from sop_core.db.engine import session_scope
from sop_core.io import ingest

#: Every service write checks its user: the demo users exist in the test's databases.
pytestmark = pytest.mark.usefixtures("demo_users")

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOP_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "sop_core", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(("args", "who", "what"), [
    (["import", "product.csv"], None, "import data"),
    (["monitor", "--as", "ghost"], "ghost", "run the KPI monitor"),
    (["forecast", "--horizon", "2", "--as", "eric"], "eric", "run the forecast"),
    (["demo", "--reset", "--as", "sam"], "sam", "reset the database to the demo company"),
])
def test_a_refused_write_is_one_line_naming_the_acting_user(tmp_path: Path, demo_url: str, args: list[str],
                                                           who: str | None, what: str) -> None:
    (tmp_path / "product.csv").write_text("sku,name,family,category,unit_price,unit_cost\nX,X,F,C,1,1\n")
    proc = _run(args, demo_url, tmp_path)
    acting = who or getpass.getuser()  # without --as: the operating-system user
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith(f"error: '{acting}' ")
    assert f"may {what} (acting user: {acting}; act as a user with that role with --as NAME)" in proc.stderr


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("init-db", "demo", "import", "template", "forecast", "kpi", "cycle", "user"):
        assert command in out


def test_missing_file_is_one_line_and_non_zero(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    proc = _run(["import", "nowhere/sales_history.csv"], url, tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: nowhere/sales_history.csv: no such file"
    assert "Traceback" not in proc.stderr


def test_bad_import_names_file_row_column_reason(tmp_path: Path, demo_url: str) -> None:
    bad = tmp_path / "sales_history.csv"
    bad.write_text("sku,period,quantity,net_price,promo\nNOPE-1,2026-10-01,5,10,0\n", encoding="utf-8")
    proc = _run(["import", "--as", "dana", str(bad)], demo_url, tmp_path)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("error: sales_history.csv row 2, column sku")
    assert "NOPE-1" in line
    assert "Traceback" not in proc.stderr


def test_init_db_template_and_cycle_list(tmp_path: Path, demo_url: str) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    proc = _run(["init-db"], url, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "schema head" in proc.stdout
    proc = _run(["template", "--out", str(tmp_path / "tpl")], url, tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = {p.name for p in (tmp_path / "tpl").iterdir()}
    assert {"product.csv", "product.xlsx", "sales_history.csv", "receipt.xlsx", "budget.csv"} <= names
    proc = _run(["cycle", "list"], demo_url, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2026-11" in proc.stdout and "demand_review" in proc.stdout


def test_demo_refuses_to_overwrite_without_reset(tmp_path: Path, demo_url: str) -> None:
    proc = _run(["demo"], demo_url, tmp_path)
    assert proc.returncode == 1
    assert "--reset" in proc.stderr


@pytest.mark.slow
def test_forecast_and_kpi_commands(tmp_path: Path, demo_url: str) -> None:
    proc = _run(["forecast", "--horizon", "6", "--as", "dana"], demo_url, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"forecast run \d+ stored \(statistical, horizon 6\)", proc.stdout), proc.stdout
    assert "100.0 %" in proc.stderr  # the progress bar reached the end
    proc = _run(["kpi"], demo_url, tmp_path)
    assert proc.returncode == 0, proc.stderr
    for kpi in ("Fill rate (projected)", "OTIF", "Inventory turns", "Days of supply"):
        assert kpi.lower() in proc.stdout.lower()


BAD = ROOT / "tests" / "data" / "bad_imports"


@pytest.fixture
def base_company(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The small valid company of tests/data/bad_imports/base/, in the database that SOP_DATABASE_URL names."""
    ingest.import_files(sqlite_engine, sorted((BAD / "base").glob("*.csv")))
    monkeypatch.setenv("SOP_DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    return sqlite_engine


def _stored(engine: Engine) -> tuple[pd.DataFrame, dict[str, int]]:
    with session_scope(engine) as s:
        return repo.read_table(s, "sales_history"), repo.table_counts(s)


def test_a_refused_import_prints_every_problem_and_writes_them_to_the_errors_file(
    tmp_path: Path, base_company: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    history, counts = _stored(base_company)
    monkeypatch.chdir(tmp_path)
    assert main(["import", "--as", "dana", str(BAD / "sales_history_cut_short.csv"), "--errors", "out/errors.csv"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "error: 3 problems; nothing was imported:",
        "  sales_history_cut_short.csv row 3, column sku: Z-999 is not a known SKU; add it to product (in the "
        "database or in the same import)",
        "  sales_history_cut_short.csv row 4, column quantity: -3 is negative; quantities must be ≥ 0",
        "  sales_history_cut_short.csv row 5, column net_price: the line ends before this column, after 3 of the "
        "header's 5 values; a line cut short is refused, not filled in; write an empty cell as nothing between two "
        "separators",
        "out/errors.csv written (3 problems)",
    ]
    with (tmp_path / "out" / "errors.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [
        ["file", "row", "column", "value", "reason"],
        [
            "sales_history_cut_short.csv",
            "3",
            "sku",
            "Z-999",
            "is not a known SKU; add it to product (in the database or in the same import)",
        ],
        ["sales_history_cut_short.csv", "4", "quantity", "-3", "is negative; quantities must be ≥ 0"],
        [
            "sales_history_cut_short.csv",
            "5",
            "net_price",
            "",
            "the line ends before this column, after 3 of the header's 5 values; a line cut short is refused, not "
            "filled in; write an empty cell as nothing between two separators",
        ],
    ]
    after_history, after_counts = _stored(base_company)
    assert after_counts == counts
    pd.testing.assert_frame_equal(after_history, history)


def test_a_line_cut_short_is_refused_and_nothing_is_written(
    tmp_path: Path, base_company: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    history, counts = _stored(base_company)
    path = tmp_path / "sales_history_dec.csv"
    path.write_text("sku,period,quantity,net_price,promo\nA-100,2026-12-01,5\n", encoding="utf-8")
    assert main(["import", "--as", "dana", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: sales_history_dec.csv row 2, column net_price: the line ends before this column, after 3 of the "
        "header's 5 values; a line cut short is refused, not filled in; write an empty cell as nothing between two "
        "separators"
    ]
    after_history, after_counts = _stored(base_company)
    assert after_counts == counts and len(after_history) == 7
    pd.testing.assert_frame_equal(after_history, history)


def test_problems_beyond_fifty_are_counted_and_the_errors_file_holds_them_all(
    tmp_path: Path, base_company: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sales_history_big.csv"
    path.write_text(
        "sku,period,quantity\n" + "".join(f"X-{n:03d},2026-12-01,{n}\n" for n in range(60)), encoding="utf-8"
    )
    assert main(["import", "--as", "dana", str(path)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 + 50 + 1
    assert lines[0] == "error: 60 problems; nothing was imported:"
    assert lines[1].startswith("  sales_history_big.csv row 2, column sku: X-000 is not a known SKU")
    assert lines[50].startswith("  sales_history_big.csv row 51, column sku: X-049 ")
    assert lines[51] == "  … and 10 more; --errors FILE.csv writes them all"
    errors = tmp_path / "errors.csv"
    assert main(["import", "--as", "dana", str(path), "--errors", str(errors)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[-2:] == [f"  … and 10 more; {errors} holds them all", f"{errors} written (60 problems)"]
    written = pd.read_csv(errors, encoding="utf-8-sig", keep_default_na=False)
    assert written.columns.tolist() == ["file", "row", "column", "value", "reason"]
    assert written["row"].tolist() == list(range(2, 62))
    assert written["value"].tolist() == [f"X-{n:03d}" for n in range(60)]
    assert _stored(base_company)[1]["sales_history"] == 7


def test_a_title_row_is_skipped_and_said_so_and_the_errors_file_is_emptied(
    tmp_path: Path, base_company: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    for row in (["Sales history export – Halden & Voss – printed 2026-11-03"], [], ["sku", "period", "quantity"]):
        book.active.append(row)
    book.active.append(["A-100", dt.datetime(2026, 12, 1), 9])
    path = tmp_path / "sales_history_halden.xlsx"
    book.save(path)
    errors = tmp_path / "errors.csv"
    errors.write_text("stale\n", encoding="utf-8")
    assert main(["import", "--as", "dana", str(path), "--errors", str(errors), "--no-figures"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Imported 1 file, 1 row: sales_history 1 (1 new, 0 updated)",
        "sales_history_halden.xlsx: header found in row 3; rows 1–2 skipped (title)",
    ]
    assert errors.read_text(encoding="utf-8-sig") == "file,row,column,value,reason\n"
    history, counts = _stored(base_company)
    assert counts["sales_history"] == 8
    assert history.loc[history["period"] == "2026-12-01", "quantity"].tolist() == [9.0]


def test_an_import_stores_the_figures_the_pages_open_with(
    tmp_path: Path, demo_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an import the pages open with figures of the new data (stored with its stamp), unless told not to."""
    from sqlalchemy import text

    from sop_core.db.engine import make_engine

    monkeypatch.setenv("SOP_DATABASE_URL", demo_url)
    engine = make_engine(demo_url)

    def stamps() -> dict[tuple[str, str, str], str]:
        with engine.connect() as c:
            rows = c.execute(text("SELECT name, args, part, stamp FROM stored_figure")).all()
        return {(r[0], r[1], r[2]): r[3] for r in rows}

    seeded = stamps()
    assert seeded  # the seeding stored the figures
    with session_scope(engine) as s:
        sku = str(repo.read_table(s, "product")["sku"].iloc[0])
    path = tmp_path / "sales_history.csv"
    path.write_text(f"sku,period,quantity\n{sku},2026-10-01,12345\n", encoding="utf-8")

    assert main(["import", "--as", "dana", str(path), "--no-figures"]) == 0
    assert stamps() == seeded  # left for a later `figures`
    path.write_text(f"sku,period,quantity\n{sku},2026-10-01,12346\n", encoding="utf-8")
    assert main(["import", "--as", "dana", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"\d+ page figures stored in [\d.]+ s: the pages open with them", out[-1]), out
    after = stamps()
    changed = {key[0] for key in after if after[key] != seeded.get(key)}
    # the sales history feeds the accuracy and the KPI review: their stored copies now carry the new stamp
    assert "kpi_review" in changed, changed
    assert int(out[-1].split()[0]) >= len(changed)


def test_commands_print_no_library_text(tmp_path: Path, demo_url: str) -> None:
    """The LP solver's banner and library warnings stay out of every command's output (a pipe gets our text)."""
    noise = re.compile(r"HiGHS|Copyright|third-party|Warning|warnings\.warn", re.IGNORECASE)
    for args in (["diff"], ["reproduce", "--cycle", "2026-10"], ["whatif", "--set", "demand_change_pct=10"],
                 ["export", "--cycle", "2026-10", "--out", str(tmp_path / "pack.xlsx")]):
        proc = _run(args, demo_url, tmp_path)
        assert proc.returncode == 0, (args, proc.stderr[-2000:])
        assert proc.stdout.strip(), args
        assert not noise.search(proc.stdout), (args, proc.stdout[:500])
        assert not noise.search(proc.stderr), (args, proc.stderr[:500])
