"""`python -m sop_core`: help, one-line errors without traceback, and the batch commands on a demo copy."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sop_core.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOP_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "sop_core", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )


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
    proc = _run(["import", str(bad)], demo_url, tmp_path)
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
    proc = _run(["forecast", "--horizon", "6"], demo_url, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"forecast run \d+ stored \(statistical, horizon 6\)", proc.stdout), proc.stdout
    assert "100.0 %" in proc.stderr  # the progress bar reached the end
    proc = _run(["kpi"], demo_url, tmp_path)
    assert proc.returncode == 0, proc.stderr
    for kpi in ("Fill rate", "OTIF", "Inventory turns", "Days of supply"):
        assert kpi.lower() in proc.stdout.lower()
