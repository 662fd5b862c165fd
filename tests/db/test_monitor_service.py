"""KPI targets with optimistic locking and the monitor storing exceptions once, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from sop_core.cli.main import main
from sop_core.db import repo
from sop_core.db.engine import session_scope
from sop_core.db.models import AppUser, AuditLog, Forecast, ForecastRun, PlanCycle, SalesHistory
from sop_core.db.models_monitor import KpiException
from sop_core.errors import EditConflict, NotAllowed
from sop_core.services import inventory_policy as policy_service
from sop_core.services import kpi_targets as targets_service
from sop_core.services import monitor as monitor_service

#: Every service write checks its user: the demo users exist in the test's databases.
pytestmark = pytest.mark.usefixtures("demo_users")

TODAY = dt.date(2026, 11, 25)


def _load_kpi_tests():  # noqa: ANN202 - a module
    """The hand-built company of tests/core/test_kpi.py (a module loaded by path: ``tests`` is no package)."""
    spec = importlib.util.spec_from_file_location("kpi_cases", Path(__file__).parents[1] / "core" / "test_kpi.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


seed_small_company = _load_kpi_tests().seed_small_company


def _edit(key: str, target: float, version: int) -> pd.DataFrame:
    return pd.DataFrame({"key": [key], "target": [target], "version": [version]})


# --------------------------------------------------------------------------- targets
def test_targets_save_and_inherit(engine: Engine) -> None:
    defaults = targets_service.kpi_targets(engine)
    assert (defaults.loc["fill_rate", "target"], defaults.loc["fill_rate", "version"]) == (95.0, 0)
    assert set(defaults["source"]) == {"default"}
    assert targets_service.save_kpi_targets(engine, "all", _edit("fill_rate", 97.0, 0), "dana") == 1
    saved = targets_service.kpi_targets(engine).loc["fill_rate"]
    assert (saved["target"], saved["version"], saved["source"], saved["updated_by"]) == (97.0, 1, "all", "dana")
    # a family without its own target inherits the one of all SKUs; its own target then wins
    family = targets_service.kpi_targets(engine, "family:F1").loc["fill_rate"]
    assert (family["target"], family["source"], family["version"]) == (97.0, "all", 0)
    targets_service.save_kpi_targets(engine, "family:F1", _edit("fill_rate", 92.0, 0), "dana")
    assert targets_service.kpi_targets(engine, "family:F1").loc["fill_rate", "target"] == 92.0
    assert targets_service.kpi_targets(engine).loc["fill_rate", "target"] == 97.0
    # an unchanged row is no change
    unchanged = _edit("otif", 90.0, 0).assign(seen_target=90.0)
    assert targets_service.save_kpi_targets(engine, "all", unchanged, "dana") == 0
    assert _audit(engine) == [("all", {"fill_rate": 97.0}), ("family:F1", {"fill_rate": 92.0})]


def _audit(engine: Engine) -> list[tuple[str, dict[str, float]]]:
    with session_scope(engine) as s:
        rows = s.execute(
            select(AuditLog.entity_id, AuditLog.detail).where(AuditLog.action == "kpi_target").order_by(AuditLog.id)
        ).all()
    return [(r[0], r[1]) for r in rows]


def test_stale_target_edit_is_a_conflict_and_saves_nothing(engine: Engine) -> None:
    targets_service.save_kpi_targets(engine, "all", _edit("fill_rate", 97.0, 0), "dana")  # version 1
    # Bob and Carla both read version 1; Bob saves first (version 2)
    targets_service.save_kpi_targets(engine, "all", _edit("fill_rate", 96.0, 1), "sam")
    carla = pd.concat([_edit("otif", 85.0, 0), _edit("fill_rate", 99.0, 1)])
    with pytest.raises(EditConflict, match=r"Fill rate \(projected\) \(now 96 by sam\)"):
        targets_service.save_kpi_targets(engine, "all", carla, "eric")
    after = targets_service.kpi_targets(engine)
    # nothing of Carla's edit landed, not even the OTIF row that had no conflict; Bob's value stands
    assert (after.loc["fill_rate", "target"], after.loc["fill_rate", "version"]) == (96.0, 2)
    assert (after.loc["otif", "target"], after.loc["otif", "version"]) == (90.0, 0)
    assert len(_audit(engine)) == 2  # the refused edit left no trace either
    # two first saves of the same new row: the second one conflicts
    targets_service.save_kpi_targets(engine, "abc:A", _edit("excess", 5.0, 0), "sam")
    with pytest.raises(EditConflict, match="Excess stock"):
        targets_service.save_kpi_targets(engine, "abc:A", _edit("excess", 3.0, 0), "eric")


def test_bad_target_edits_are_refused(engine: Engine) -> None:
    with pytest.raises(targets_service.KpiError, match="must be a number"):
        targets_service.save_kpi_targets(engine, "all", _edit("otif", "lots", 0), "dana")  # type: ignore[arg-type]
    with pytest.raises(targets_service.KpiError, match="unknown KPI"):
        targets_service.save_kpi_targets(engine, "all", _edit("happiness", 1.0, 0), "dana")
    with session_scope(engine) as s:
        s.add(AppUser(username="vic", display_name="Vic Viewer", role="viewer"))
    with pytest.raises(NotAllowed, match="'vic' has the role viewer: only .* may change KPI targets"):
        targets_service.save_kpi_targets(engine, "all", _edit("otif", 80.0, 0), "vic")
    with pytest.raises(targets_service.KpiError, match="unknown segment"):
        targets_service.save_kpi_targets(engine, "region:north", _edit("otif", 80.0, 0), "dana")


# --------------------------------------------------------------------------- the monitor
def seed_monitor_case(engine: Engine) -> None:
    """The small company plus two late deliveries of C by S (S: 1 of 5 orders OTIF) and an alternate T for C."""
    seed_small_company(engine)
    with session_scope(engine) as s:
        repo.upsert_frame(s, "supplier", pd.DataFrame({"supplier": ["T"], "name": ["Supplier T"]}))
        repo.upsert_frame(
            s,
            "supplier_item",
            pd.DataFrame({"supplier": ["T"], "sku": ["C"], "lead_time_days": [30.0], "lead_time_std_days": [5.0],
                          "moq": [50.0], "unit_cost": [5.5], "priority": [2]}),
        )  # fmt: skip
        repo.upsert_frame(
            s,
            "receipt",
            pd.DataFrame({"supplier": "S", "sku": "C", "order_date": pd.to_datetime(["2026-07-01", "2026-08-01"]),
                          "promised_date": pd.to_datetime(["2026-07-21", "2026-08-21"]),
                          "received_date": pd.to_datetime(["2026-07-30", "2026-08-30"]),
                          "qty_ordered": 100.0, "qty_received": 100.0}),
        )  # fmt: skip


@pytest.fixture
def own_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin the reorder points and EOQs (continuous review, master-data lead times, z = Φ⁻¹(0.95) = 1.6449):
    A constant 30 a month, L = 1 month → ROP 30, EOQ sqrt(2·360·50 / 2.5) = 120; B: d̄ 7.5, sample σ_d
    sqrt(225 / 11), L = 1 → ROP 7.5 + 1.6449·4.5227, EOQ sqrt(2·90·50 / 5); C: d̄ 20, L = 2, σ_L = 0.5 month →
    ROP 40 + 1.6449·10 = 56.4, EOQ sqrt(2·240·50 / 1.25) = 138.6."""
    z95 = 1.6448536
    pinned = pd.DataFrame(
        {
            "sku": ["A", "B", "C"],
            "reorder_point": [30.0, 7.5 + z95 * (225 / 11) ** 0.5, 40.0 + 10 * z95],
            "eoq": [120.0, 1800**0.5, 19200**0.5],
        }
    )
    monkeypatch.setattr(policy_service, "inventory_policy", lambda _engine, _cycle_id: pinned)


def _exception_count(engine: Engine) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(KpiException)))


@pytest.mark.usefixtures("own_policy")
def test_monitor_stores_each_exception_once_and_resolves(engine: Engine) -> None:
    seed_monitor_case(engine)
    first = monitor_service.run_monitor(engine, user="sam", today=TODAY)
    # A: 60 on hand + 15 due − 80 forecast → position 0 < ROP 30 in November; S: OTIF 1 of 5 = 20 % < 90 %
    assert first.found == {"reorder_point": 1, "tracking_signal": 0, "supplier_otif": 1}
    assert (first.stored, first.already_open, first.resolved) == (2, 0, 0)
    listed = monitor_service.exception_list(engine).set_index("kind")
    order = listed.loc["reorder_point"]
    # EOQ of A: sqrt(2 · 360 · 50 / (0.25 · 10)) = 120 ≥ shortfall 30; made in house: due 25 Nov + 31 days
    assert (order["sku"], order["supplier"], order["value"], order["threshold"]) == ("A", "", 0.0, 30.0)
    assert order["action"] == "Order 120 (make in house) on 2026-11-25, due 2026-12-26"
    source = listed.loc["supplier_otif"]
    assert (source["sku"], source["supplier"], source["value"], source["threshold"]) == ("C", "S", 0.2, 0.9)
    assert source["action"] == "Source from T (lead time 30 days, unit cost 5.50)"

    again = monitor_service.run_monitor(engine, user="sam", today=TODAY)
    assert (again.stored, again.already_open, again.resolved) == (0, 2, 0)
    with session_scope(engine) as s:  # each run is in the audit trail: who, and the open exceptions before and after
        runs = s.scalars(select(AuditLog).where(AuditLog.action == "monitor_run").order_by(AuditLog.id)).all()
        assert [(r.username, r.detail["stored"], len(r.before["open"]), len(r.after["open"])) for r in runs] == [
            ("sam", 2, 0, 2), ("sam", 0, 2, 2)]
    assert _exception_count(engine) == 2

    # a production order of 100 for A in November lifts its position above the reorder point → resolved
    with session_scope(engine) as s:
        repo.upsert_frame(
            s,
            "open_order",
            pd.DataFrame(
                {
                    "sku": ["A"],
                    "due_period": [pd.Timestamp("2026-11-01")],
                    "quantity": [100.0],
                    "source": ["production"],
                    "supplier": [""],
                }
            ),
        )
    third = monitor_service.run_monitor(engine, user="sam", today=TODAY)
    assert (third.found["reorder_point"], third.stored, third.resolved) == (0, 0, 1)
    assert monitor_service.exception_list(engine)["kind"].tolist() == ["supplier_otif"]
    assert len(monitor_service.exception_list(engine, status=None)) == 2


@pytest.mark.usefixtures("own_policy")
def test_monitor_command_run_twice_stores_no_duplicates(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_monitor_case(engine)
    monkeypatch.setenv("SOP_DATABASE_URL", db_url)
    assert main(["monitor", "--as", "sam"]) == 0
    assert "stored 2 new, 0 already open, 0 resolved" in capsys.readouterr().out
    assert main(["monitor", "--once", "--as", "sam"]) == 0
    out = capsys.readouterr().out
    assert "stored 0 new, 2 already open, 0 resolved" in out
    assert "note: tracking signal: no earlier forecast covers a month with actuals yet" in out
    assert _exception_count(engine) == 2
    assert main(["monitor", "--every", "-5"]) == 1
    assert "--every must be a positive number" in capsys.readouterr().err


@pytest.mark.usefixtures("own_policy")
def test_monitor_every_minutes_loops_until_stopped(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_monitor_case(sqlite_engine)
    monkeypatch.setenv("SOP_DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 2:
            raise KeyboardInterrupt  # the operator stops the loop after the second run

    monkeypatch.setattr("sop_core.cli.monitor_commands.time.sleep", sleep)
    assert main(["monitor", "--every", "0.5", "--as", "sam"]) == 130
    out = capsys.readouterr().out
    # two runs: the first stores both exceptions, the second finds them open; each waits up to 30 s
    assert "stored 2 new, 0 already open" in out and "stored 0 new, 2 already open" in out
    assert len(pauses) == 2 and all(0 < p <= 30.0 for p in pauses)
    assert _exception_count(sqlite_engine) == 2


# --------------------------------------------------------------------------- tracking signal → re-forecast
def _earlier_forecast(engine: Engine, month: dt.date, yhat: dict[str, float]) -> None:
    """A signed earlier cycle of ``month`` whose forecast run holds A's forecast ``yhat[YYYY-MM]``."""
    with session_scope(engine) as s:
        cyc = PlanCycle(month=month, status="signed", status_by="eric", status_at=dt.datetime.combine(month, dt.time()))
        s.add(cyc)
        s.flush()
        run = ForecastRun(cycle_id=cyc.id, engine="statistical", horizon=len(yhat), created_by="dana")
        s.add(run)
        s.flush()
        repo.insert_frame(s, Forecast, pd.DataFrame({"sku": "A", "period": pd.to_datetime([f"{k}-01" for k in yhat]),
                                                    "yhat": list(yhat.values())}), run_id=run.id)


@pytest.mark.parametrize(
    ("month", "forecasts", "fires"),
    [
        # A sells 30 a month; forecast 25 in each of June–October: Σ(y − ŷ) = 25, MAD = 5 → TS = +5 > 4
        (dt.date(2026, 6, 1), {"2026-06": 25.0, "2026-07": 25.0, "2026-08": 25.0, "2026-09": 25.0, "2026-10": 25.0},
         True),
        # the same but October forecast 35: Σ = 20 − 5 = 15, MAD = 5 → TS = +3
        (dt.date(2026, 6, 1), {"2026-06": 25.0, "2026-07": 25.0, "2026-08": 25.0, "2026-09": 25.0, "2026-10": 35.0},
         False),
        # the same five-month miss, one month fewer (July–October): TS = +4, not beyond the limit
        (dt.date(2026, 7, 1), {"2026-07": 25.0, "2026-08": 25.0, "2026-09": 25.0, "2026-10": 25.0}, False),
    ],
    ids=["five-months-short", "one-month-over", "four-months-short"],
)
@pytest.mark.usefixtures("own_policy")
def test_tracking_signal_trigger_on_a_constructed_case(
    engine: Engine, month: dt.date, forecasts: dict[str, float], fires: bool
) -> None:
    seed_small_company(engine)
    _earlier_forecast(engine, month, forecasts)
    result = monitor_service.run_monitor(engine, user="sam", today=TODAY)
    assert result.found["tracking_signal"] == int(fires)
    stored = monitor_service.exception_list(engine)
    signals = stored[stored["kind"] == "tracking_signal"]
    if not fires:
        assert signals.empty
        return
    row = signals.iloc[0]
    assert (row["sku"], row["value"], row["threshold"]) == ("A", 5.0, 4.0)
    assert row["proposal"] == {"action": "reforecast", "direction": "under-forecast", "periods": 5,
                               "cumulative_error": 25.0, "mad": 5.0}
    assert row["message"] == "A: tracking signal +5.0 beyond ±4 (under-forecast); re-forecast"
    assert row["action"] == "Re-forecast (under-forecast, 5 months scored)"


def test_monitor_on_the_demo_proposes_a_reforecast_for_the_drifting_sku(demo_engine: Engine) -> None:
    from sop_core.io import demo, demo_company

    result = monitor_service.run_monitor(demo_engine, user="sam", today=TODAY)
    assert result.found["tracking_signal"] > 0 and result.stored == sum(result.found.values())
    stored = monitor_service.exception_list(demo_engine)
    signals = stored[stored["kind"] == "tracking_signal"].set_index("sku")
    assert demo.DRIFT_SKU in signals.index
    # by hand from the stored forecasts: June–August from the 2026-06 cycle (no cycle over the summer),
    # September and October from their own cycle; every month sold more than forecast → TS = 5 · Σe / Σ|e| = 5
    with session_scope(demo_engine) as s:
        rows = s.execute(
            select(PlanCycle.month, Forecast.period, Forecast.yhat)
            .join(ForecastRun, ForecastRun.cycle_id == PlanCycle.id)
            .join(Forecast, Forecast.run_id == ForecastRun.id)
            .where(Forecast.sku == demo.DRIFT_SKU, PlanCycle.month < demo_company.CURRENT_CYCLE)
        ).all()
        sales = dict(s.execute(select(SalesHistory.period, SalesHistory.quantity)
                               .where(SalesHistory.sku == demo.DRIFT_SKU)).all())
    fc = pd.DataFrame(rows, columns=["cycle", "period", "yhat"])
    fc = fc[(fc["cycle"] <= fc["period"]) & (fc["period"] <= demo_company.LAST_ACTUAL)]
    fc = fc.sort_values(["period", "cycle"]).drop_duplicates("period", keep="last")
    assert [f"{c:%Y-%m}" for c in fc["cycle"]] == ["2026-06"] * 3 + ["2026-09", "2026-10"]
    errors = [sales[p] - y for p, y in zip(fc["period"], fc["yhat"], strict=True)]
    assert all(e > 0 for e in errors)
    hit = signals.loc[demo.DRIFT_SKU]
    assert (hit["value"], hit["threshold"]) == (5.0, 4.0)
    assert hit["proposal"]["direction"] == "under-forecast" and hit["proposal"]["periods"] == 5
    assert hit["proposal"]["cumulative_error"] == pytest.approx(sum(errors), abs=1e-3)
    # a stable SKU of the same family (its errors cancel out: TS about +0.2) is not flagged
    assert "KT-1018" not in signals.index
    again = monitor_service.run_monitor(demo_engine, user="sam", today=TODAY)
    assert again.stored == 0 and again.already_open == result.stored
