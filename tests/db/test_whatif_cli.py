"""`python -m sop_core whatif`: the levers from a script give the library's figures, in total, per family and
per SKU; the parts add up to the total; a bad lever is one line and exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from sop_core.cli.main import main
from sop_core.cli.whatif_commands import parse_levers
from sop_core.db.engine import make_engine
from sop_core.planning import levers as lev
from sop_core.planning import scenario as sc
from sop_core.services import cycle as cycle_service
from sop_core.services import plan
from sop_core.services.whatif import LeverError

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOP_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "sop_core", "whatif", *args], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300,
    )


@pytest.fixture
def engine(shared_demo_url: str) -> Engine:
    eng = make_engine(shared_demo_url)
    yield eng
    eng.dispose()


def test_json_is_the_library_plan_and_its_parts_add_up(shared_demo_url: str, engine: Engine, tmp_path: Path) -> None:
    done = _run(["--set", "lead_time_change_days=14", "--set", "cycle_service_level=0.98",
                 "--set", "supplier_out=BRIGHTWAY:2026-11:2027-01", "--format", "json"], shared_demo_url, tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)  # nothing but the JSON on standard output
    levers = lev.Levers(lead_time_change_days=14, cycle_service_level=0.98,
                       supplier_disruptions={"BRIGHTWAY": ["2026-11", "2027-01"]})
    cycle = cycle_service.current_cycle(engine)
    k = sc.evaluate(plan.scenario_inputs(engine, cycle.id), levers).kpis
    total = out["total"]
    for name, kpi in [("revenue", "revenue"), ("margin", "margin"), ("fill_rate", "fill_rate"),
                      ("expected_fill_rate", "expected_fill_rate"), ("lost_units", "stockout_units"),
                      ("inventory_value", "inventory_value_end"), ("safety_stock_units", "safety_stock_units"),
                      ("overtime_cost", "overtime_cost"), ("demand_units", "demand_units"),
                      ("supplied_units", "supply_units")]:
        assert total[name] == pytest.approx(k[kpi], rel=1e-6, abs=1e-3), name
    for part in ("families", "skus"):
        for name in ("demand_units", "supplied_units", "lost_units", "revenue", "margin", "inventory_value",
                     "safety_stock_units", "overtime_cost"):
            assert sum(v[name] for v in out[part].values()) == pytest.approx(total[name], rel=1e-6, abs=1e-3)
    assert len(out["skus"]) == 176 and len(out["families"]) == 8
    assert set(out["total"]["suppliers"]) >= {"BRIGHTWAY"}
    assert "BRIGHTWAY delivers nothing 2026-11 to 2027-01" in out["total"]["levers"]


def test_bad_lever_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for args, message in [
        (["--set", "demand_chnge_pct=10"], "unknown lever 'demand_chnge_pct'"),
        (["--set", "demand_change_pct=ten"], "lever demand_change_pct: 'ten' is not a number"),
        (["--set", "cycle_service_level=1.5"], "lever cycle_service_level: 1.5"),
        (["--set", "supplier_out=BRIGHTWAY:2026-11"], "is not SUPPLIER:FIRST:LAST"),
    ]:
        assert main(["whatif", *args]) == 2  # refused before any database is opened
        done = capsys.readouterr()
        assert done.out == ""
        lines = done.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], done.err


def test_lever_texts() -> None:
    levers = parse_levers(
        ["demand_change_pct=10", "capacity_change_pct=-20", "capacity_changes=R2:5", "family_changes=GRILLS:8,COFFEE:-5",
         "overtime_allowed=false", "price_elasticity=learned", "fill_rate_target=0.97", "frozen_periods=2",
         "supplier_disruptions=S1:2026-11:2027-01,S2:2027-02:2027-02"],
        resources=["R1", "R2"],
    )
    assert levers == lev.Levers(
        demand_change_pct=10, capacity_changes={"R1": -20, "R2": 5}, family_changes={"GRILLS": 8, "COFFEE": -5},
        overtime_allowed=False, price_elasticity=None, fill_rate_target=0.97, frozen_periods=2,
        supplier_disruptions={"S1": ["2026-11", "2027-01"], "S2": ["2027-02", "2027-02"]},
    )
    with pytest.raises(LeverError, match="frozen_periods"):
        parse_levers(["frozen_periods=1.5"], [])
    with pytest.raises(LeverError, match="fill_rate_target"):
        parse_levers(["fill_rate_target=1"], [])
