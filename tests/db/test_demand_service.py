"""Demand-review services on a small constructed company, on SQLite and PostgreSQL (``engine``)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import Engine

from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.errors import EditConflict
from sop_core.services import demand, demand_accuracy, forecasting, overrides

#: Every service write checks its user: the demo users exist in the test's databases.
pytestmark = pytest.mark.usefixtures("demo_users")

JAN, FEB = pd.Timestamp("2027-01-01"), pd.Timestamp("2027-02-01")
T0 = dt.datetime(2026, 12, 2, 9, 0)


def _company(engine: Engine, status: str = "demand_review") -> int:
    """SKUs A, B (family F1), C (F2), D (F3); cycle 2026-12 with a run: Jan A 30 B 10 C 60 D 0, Feb A B 0 C D 50."""
    stat = {"A": (30.0, 0.0), "B": (10.0, 0.0), "C": (60.0, 50.0), "D": (0.0, 50.0)}
    fam = {"A": ("F1", "C1"), "B": ("F1", "C1"), "C": ("F2", "C1"), "D": ("F3", "C2")}
    with session_scope(engine) as s:
        s.add(m.AppUser(username="erin", display_name="Erin", role="demand_planner"))  # a second demand planner
        s.add_all([m.Product(sku=k, name=f"Item {k}", family=f, category=c, unit_price=10.0, unit_cost=5.0)
                   for k, (f, c) in fam.items()])
        cyc = m.PlanCycle(month=dt.date(2026, 12, 1), status=status, status_by="dana", status_at=T0)
        s.add(cyc)
        s.flush()
        run = m.ForecastRun(cycle_id=cyc.id, created_at=T0, created_by="dana", engine="statistical", horizon=2,
                            freq="MS", params={}, versions={}, data_hash="x", backtest={}, status="done")
        s.add(run)
        s.flush()
        for sku, (jan, feb) in stat.items():
            for p, q in ((JAN, jan), (FEB, feb)):
                s.add(m.Forecast(run_id=run.id, sku=sku, period=p.date(), yhat=q, yhat_lo_80=q * 0.8,
                                 yhat_hi_80=q * 1.2, yhat_lo_95=q * 0.7, yhat_hi_95=q * 1.3, model="ETS"))
        return int(cyc.id)


def _add_override(engine: Engine, cycle_id: int, level: str, item: str, period: pd.Timestamp,
                  value: float | None, pct: float | None, at: dt.datetime = T0) -> None:
    with session_scope(engine) as s:
        s.add(m.ForecastOverride(cycle_id=cycle_id, level=level, item=item, period=period.date(), value=value,
                                 pct=pct, reason="promotion", comment="", author="dana", created_at=at))


def _q(frame: pd.DataFrame, sku: str, period: pd.Timestamp) -> float:
    return float(frame.loc[(frame["sku"] == sku) & (frame["period"] == period), "qty"].iloc[0])


def test_consensus_demand_is_statistical_plus_overrides(engine: Engine) -> None:
    cid = _company(engine)
    base = demand.consensus_demand(engine, cid)
    assert list(base.columns) == ["sku", "period", "qty"]
    assert base["qty"].tolist() == [30.0, 0.0, 10.0, 0.0, 60.0, 50.0, 0.0, 50.0]
    _add_override(engine, cid, "family", "F1", JAN, None, 25.0)  # A 37.5, B 12.5
    _add_override(engine, cid, "total", "*", FEB, 150.0, None)  # Feb 100 → 150: C 75, D 75
    _add_override(engine, cid, "sku", "D", JAN, 8.0, None)
    out = demand.consensus_demand(engine, cid)
    assert _q(out, "A", JAN) == pytest.approx(37.5)
    assert _q(out, "B", JAN) == pytest.approx(12.5)
    assert _q(out, "C", JAN) == 60.0
    assert _q(out, "D", JAN) == 8.0
    assert _q(out, "C", FEB) == pytest.approx(75.0)
    assert _q(out, "D", FEB) == pytest.approx(75.0)
    assert _q(out, "A", FEB) == 0.0


def test_consensus_demand_without_run_is_empty(engine: Engine) -> None:
    with session_scope(engine) as s:
        cyc = m.PlanCycle(month=dt.date(2027, 1, 1), status="draft", status_by="", status_at=T0)
        s.add(cyc)
        s.flush()
        cid = int(cyc.id)
    out = demand.consensus_demand(engine, cid)
    assert out.empty and list(out.columns) == ["sku", "period", "qty"]


# ---------------------------------------------------------------------------- saving overrides
def _grid_edit(engine: Engine, cid: int, level: str, item: str, period: pd.Timestamp, **changes: object
               ) -> tuple[pd.DataFrame, dict]:
    grid = overrides.override_grid(engine, cid, level, item)
    edited = grid.copy()
    row = edited.index[edited["period"] == period][0]
    for k, v in changes.items():
        edited.at[row, k] = v
    return overrides.grid_edits(grid, edited)


def test_save_overrides_stores_who_when_and_updates_consensus(engine: Engine) -> None:
    cid = _company(engine)
    edits, versions = _grid_edit(engine, cid, "family", "F1", JAN, pct=25.0, reason="promotion", comment="spring")
    assert len(edits) == 1 and versions == {JAN: None, FEB: None}
    saved = overrides.save_overrides(engine, cid, "family", "F1", edits, "dana", versions)
    row = saved.iloc[0]
    assert (row["level"], row["item"], row["pct"], row["reason"], row["author"], row["version"]) == (
        "family", "F1", 25.0, "promotion", "dana", 1)
    assert row["created_at"] is not None
    grid = overrides.override_grid(engine, cid, "family", "F1")
    assert grid["statistical"].tolist() == [40.0, 0.0]
    assert grid["consensus"].tolist() == pytest.approx([50.0, 0.0])  # 40 · 1.25
    assert _q(demand.consensus_demand(engine, cid), "A", JAN) == pytest.approx(37.5)
    # the total grid shows the family change: 100 → 110
    assert overrides.override_grid(engine, cid, "total", "Total")["consensus"].tolist() == pytest.approx([110.0, 100.0])
    # a change is a new version by the new author; clearing the row removes the override
    edits, versions = _grid_edit(engine, cid, "family", "F1", JAN, pct=None, value=80.0, reason="new customer")
    saved = overrides.save_overrides(engine, cid, "family", "F1", edits, "erin", versions)
    assert (saved.iloc[0]["value"], saved.iloc[0]["author"], saved.iloc[0]["version"]) == (80.0, "erin", 2)
    assert _q(demand.consensus_demand(engine, cid), "A", JAN) == pytest.approx(60.0)  # 80 · 30/40
    edits, versions = _grid_edit(engine, cid, "family", "F1", JAN, value=None, reason=None)
    assert overrides.save_overrides(engine, cid, "family", "F1", edits, "erin", versions).empty
    with session_scope(engine) as s:
        from sqlalchemy import select
        actions = s.scalars(select(m.AuditLog.detail).where(m.AuditLog.action == "override_save")).all()
    assert [a["changes"][0]["action"] for a in actions] == ["added", "changed", "removed"]


def test_a_reason_code_is_required(engine: Engine) -> None:
    cid = _company(engine)
    edits = pd.DataFrame({"period": [JAN], "value": [5.0], "pct": [None], "reason": [None], "comment": [""]})
    with pytest.raises(forecasting.DemandError, match="2027-01: a reason code is required"):
        overrides.save_overrides(engine, cid, "sku", "A", edits, "dana", {})
    edits["reason"] = "because"
    with pytest.raises(forecasting.DemandError, match="unknown reason 'because'"):
        overrides.save_overrides(engine, cid, "sku", "A", edits, "dana", {})
    assert overrides.list_overrides(engine, cid).empty


@pytest.mark.parametrize("status", ["supply_review", "signed"])
def test_overrides_are_locked_after_demand_review(engine: Engine, status: str) -> None:
    cid = _company(engine, status=status)
    assert "overrides are locked" in overrides.overrides_locked(engine, cid)
    edits = pd.DataFrame({"period": [JAN], "value": [5.0], "reason": ["promotion"]})
    with pytest.raises(overrides.OverridesLocked, match=f"Cycle 2026-12 is in {status.replace('_', ' ')}"):
        overrides.save_overrides(engine, cid, "sku", "A", edits, "dana", {})
    assert overrides.list_overrides(engine, cid).empty


def test_stale_edit_is_a_conflict_and_saves_nothing(engine: Engine) -> None:
    cid = _company(engine)
    # two planners open the SKU A grid; the first saves Jan, the second then saves Jan and Feb
    first, v1 = _grid_edit(engine, cid, "sku", "A", JAN, value=33.0, reason="promotion")
    second_grid = overrides.override_grid(engine, cid, "sku", "A")
    overrides.save_overrides(engine, cid, "sku", "A", first, "dana", v1)
    edited = second_grid.copy()
    edited["value"] = [40.0, 5.0]
    edited["reason"] = ["market intelligence", "market intelligence"]
    edits, versions = overrides.grid_edits(second_grid, edited)
    with pytest.raises(EditConflict, match=r"2027-01 by dana at .*Nothing was saved") as err:
        overrides.save_overrides(engine, cid, "sku", "A", edits, "erin", versions)
    stored = overrides.list_overrides(engine, cid)
    assert stored[["period", "value", "author"]].values.tolist() == [[JAN, 33.0, "dana"]]
    # what dana changed, against erin's value; Feb (no one saved it) is no conflict
    assert [(c.what, c.who, c.theirs, c.mine) for c in err.value.changes] == [("2027-01", "dana", "33", "40")]
    assert err.value.seen == {JAN: 1, FEB: None}
    # an unrelated month is no conflict
    feb, vf = _grid_edit(engine, cid, "sku", "A", FEB, value=5.0, reason="other")
    overrides.save_overrides(engine, cid, "sku", "A", feb, "erin", vf)
    assert len(overrides.list_overrides(engine, cid)) == 2


def test_months_outside_the_forecast_and_unknown_items_are_refused(engine: Engine) -> None:
    cid = _company(engine)
    edits = pd.DataFrame({"period": [pd.Timestamp("2030-01-01")], "value": [5.0], "reason": ["promotion"]})
    with pytest.raises(forecasting.DemandError, match="no forecast month 2030-01"):
        overrides.save_overrides(engine, cid, "sku", "A", edits, "dana", {})
    with pytest.raises(forecasting.DemandError, match="no family 'F9'"):
        overrides.save_overrides(engine, cid, "family", "F9", edits.assign(period=[JAN]), "dana", {})


# ---------------------------------------------------------------------------- accuracy on earlier cycles
MONTHS = pd.date_range("2025-01-01", "2026-12-01", freq="MS")
EARLY = pd.date_range("2026-07-01", "2027-01-01", freq="MS")  # the 2026-07 cycle's forecast months


def _history(sku: str, p: pd.Timestamp) -> float:
    if sku == "A":
        return {11: 80.0, 12: 260.0}.get(p.month, 100.0) if p.year == 2025 else {11: 100.0, 12: 200.0}.get(
            p.month, 110.0)
    return 60.0 if sku == "B" and p >= EARLY[0] else 50.0 if sku == "B" else 0.0


def _earlier_cycle(engine: Engine) -> None:
    """Cycle 2026-07 (signed): forecast Jul 2026 – Jan 2027; actuals to Dec 2026.

    A: statistical 110 Jul–Oct (perfect), Nov 120, Dec 150, Jan 20; overrides Nov = 105 (erin), Dec = 190
    (dana); actual Nov 100, Dec 200; seasonal naive = the 2025 month (100 Jul–Oct, 80, 260).
    B: statistical 50 every month, actual 60 every month (six under-forecasts: tracking signal 6).
    C: 0 everywhere except Jan 60; D: 0 except Jan 10.
    """
    stat = {"A": [110.0] * 4 + [120.0, 150.0, 20.0], "B": [50.0] * 7, "C": [0.0] * 6 + [60.0],
            "D": [0.0] * 6 + [10.0]}
    with session_scope(engine) as s:
        s.add_all([m.SalesHistory(sku=k, period=p.date(), quantity=_history(k, p)) for k in "ABCD" for p in MONTHS])
        cyc = m.PlanCycle(month=dt.date(2026, 7, 1), status="signed", status_by="eric", status_at=T0)
        s.add(cyc)
        s.flush()
        run = m.ForecastRun(cycle_id=cyc.id, created_at=T0, created_by="dana", engine="statistical", horizon=7,
                            freq="MS", params={}, versions={}, data_hash="y", backtest={}, status="done")
        s.add(run)
        s.flush()
        s.add_all([m.Forecast(run_id=run.id, sku=k, period=p.date(), yhat=q, model="ETS")
                   for k, qs in stat.items() for p, q in zip(EARLY, qs, strict=True)])
        for period, value, who in ((EARLY[4], 105.0, "erin"), (EARLY[5], 190.0, "dana")):
            s.add(m.ForecastOverride(cycle_id=cyc.id, level="sku", item="A", period=period.date(), value=value,
                                     pct=None, reason="promotion", comment="", author=who, created_at=T0))


def test_accuracy_on_earlier_cycles_by_hand(sqlite_engine: Engine) -> None:
    cid = _company(sqlite_engine)
    _earlier_cycle(sqlite_engine)
    pairs = demand_accuracy.frozen_pairs(sqlite_engine, cid)
    assert len(pairs) == 4 * 6 and set(pairs["cycle"]) == {"2026-07"}  # Jan 2027 has no actual yet
    acc = demand_accuracy.accuracy_vs_actuals(sqlite_engine, cid, "sku").set_index("item")
    a = acc.loc["A"]
    # Σy = 4·110 + 100 + 200 = 740; |e| naive 4·10 + 20 + 60 = 120, statistical 20 + 50, consensus 5 + 10
    assert (a["n"], a["actual"]) == (6, 740.0)
    assert a["wmape_naive"] == pytest.approx(120 / 740)
    assert a["wmape_statistical"] == pytest.approx(70 / 740)
    assert a["wmape_consensus"] == pytest.approx(15 / 740)
    assert a["bias"] == pytest.approx(-5 / 740)  # (105 + 190) − 300
    assert a["tracking_signal"] == pytest.approx(5 / (15 / 6))  # Σ(y − ŷ) = −5 + 10, MAD = 15/6
    assert a["mase"] == pytest.approx((15 / 6) / 10)  # training |y_t − y_{t−12}| = 10 (2026-01..06)
    b = acc.loc["B"]
    assert b["tracking_signal"] == pytest.approx(6.0) and bool(b["flagged"])  # 6 · 10 / 10
    assert not bool(a["flagged"])
    assert demand_accuracy.tracking_flags(sqlite_engine, cid)["item"].tolist() == ["B"]


def test_mase_at_the_total_by_hand_ignores_skus_the_forecasts_did_not_cover(sqlite_engine: Engine) -> None:
    # Hyndman & Koehler (2006): MASE = mean|y − ŷ| / mean|Y_s − Y_{s−12}| over the training history.
    # Total of the 2026-07 cycle, Jul–Dec 2026: y = A + B = 170 ×4, 160, 260; consensus 160 ×4, 155, 240 →
    # |e| = 10 ×4, 5, 20, MAE = 65 / 6. Training total before 2026-07: 2025 Jan–Oct 150, Nov 130, Dec 310;
    # 2026 Jan–Jun 160 → |Y_s − Y_{s−12}| = 10 for 2026-01..06 → scale 10 → MASE = (65/6) / 10.
    cid = _company(sqlite_engine)
    _earlier_cycle(sqlite_engine)

    def total_mase() -> tuple[float, float]:
        acc = demand_accuracy.accuracy_vs_actuals(sqlite_engine, cid, "total").set_index("item")
        table = demand_accuracy.item_accuracy(sqlite_engine, cid, "total", "Total").set_index("forecast")
        return float(acc.loc["Total", "mase"]), float(table.loc["Consensus", "mase"])

    assert total_mase() == pytest.approx(((65 / 6) / 10, (65 / 6) / 10))
    # sales of an unrelated SKU (no forecast in any cycle) arrive, a history growing by 100 a month (its own
    # seasonal naive error is 1200): the total's MASE stays, and so does its family's
    with session_scope(sqlite_engine) as s:
        s.add(m.Product(sku="Z", name="Item Z", family="F1", category="C1", unit_price=1.0, unit_cost=0.5))
        s.flush()
        s.add_all([m.SalesHistory(sku="Z", period=p.date(), quantity=100.0 * i) for i, p in enumerate(MONTHS)])
    assert total_mase() == pytest.approx(((65 / 6) / 10, (65 / 6) / 10))
    # the family F1 (A, B): |e| as the total; training F1 = the total (C, D sell nothing) → same MASE
    assert demand_accuracy.accuracy_vs_actuals(sqlite_engine, cid, "family").set_index("item").loc["F1", "mase"] == \
        pytest.approx((65 / 6) / 10)


def test_last_year_sums_the_skus_the_run_forecasts(sqlite_engine: Engine) -> None:
    # the 2026-12 run forecasts A–D for Jan–Feb 2027; a year earlier F1 (A, B) sold 110 + 50 a month. Z, in F1
    # too but not forecast by the run, sold 1000 a month then: it enters neither last year nor the change
    cid = _company(sqlite_engine)
    _earlier_cycle(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        s.add(m.Product(sku="Z", name="Item Z", family="F1", category="C1", unit_price=1.0, unit_cost=0.5))
        s.flush()
        s.add_all([m.SalesHistory(sku="Z", period=p.date(), quantity=1000.0) for p in MONTHS])
    run_id = demand.latest_run(sqlite_engine, cid)["id"]
    f1 = demand.family_summary(sqlite_engine, run_id).set_index("family").loc["F1"]
    assert (f1["forecast_3m"], f1["last_year_3m"]) == (40.0, 320.0)  # Jan 30 + 10, Feb 0; 2026-01, -02: 2 · 160
    summary = demand.item_summary(sqlite_engine, "family", "F1", run_id, cid)
    assert (summary["actual_from"], summary["actual_to"]) == (pd.Timestamp("2026-01-01"), pd.Timestamp("2026-12-01"))
    # A + B in 2026: Jan–Jun 110 + 50 = 160 ×6, Jul–Oct 110 + 60 = 170 ×4, Nov 100 + 60, Dec 200 + 60
    assert summary["actual_last_12m"] == 6 * 160.0 + 4 * 170.0 + 160.0 + 260.0
    assert summary["change_12m"] is None  # the run forecasts 2 months, not 12


def test_forecast_freshness_names_what_came_in_after_the_run(engine: Engine) -> None:
    from sop_core.io import ingest

    cid = _company(engine)
    with session_scope(engine) as s:  # sales up to 2026-12, the month before the run's first forecast month
        s.add_all([m.SalesHistory(sku=k, period=p.date(), quantity=10.0) for k in "ABCD" for p in MONTHS])
    run_id = demand.latest_run(engine, cid)["id"]
    fresh = demand.forecast_freshness(engine, run_id)
    assert (fresh.data_until, fresh.sales_until, fresh.imported_at, fresh.skus_without_forecast) == (
        pd.Timestamp("2026-12-01"), pd.Timestamp("2026-12-01"), None, 0)
    assert not fresh.stale and fresh.message() is None
    # an import brings January 2027 for A and a new SKU Z
    products = "sku,name,family,category,unit_price,unit_cost\nZ,Item Z,F9,C9,1.0,0.5\n"
    sales = "sku,period,quantity\nA,2027-01-01,12\nZ,2026-12-01,500\n"
    ingest.import_files(engine, [("product.csv", products.encode()), ("sales_history.csv", sales.encode())],
                        user="dana")
    fresh = demand.forecast_freshness(engine, run_id)
    assert (fresh.sales_until, fresh.skus_without_forecast, fresh.frozen) == (pd.Timestamp("2027-01-01"), 1, False)
    assert fresh.imported_at is not None and fresh.imported_at > T0 and fresh.stale
    assert fresh.message() == (
        "This forecast was made on 2026-12-02 09:00 from sales up to 2026-12; sales up to 2027-01 have been "
        "imported since, and 1 SKU with sales has no forecast in it: run the forecast again to plan on the new "
        "data.")
    # a closed cycle cannot run its forecast again: the message says so
    with session_scope(engine) as s:
        s.get(m.PlanCycle, cid).status = "closed"
    assert demand.forecast_freshness(engine, run_id).message().endswith(
        "cycle 2026-12 is signed off, so its forecast stays as it was signed; the open cycle's forecast takes the "
        "new data.")


def test_forecast_value_added_by_hand(sqlite_engine: Engine) -> None:
    cid = _company(sqlite_engine)
    _earlier_cycle(sqlite_engine)
    fva = demand_accuracy.fva_table(sqlite_engine, cid).set_index(["group", "name"])
    # all SKU-months: Σy = 740 + 360; naive |e| 120 + 6·10, statistical 70 + 60, consensus 15 + 60
    total = fva.loc[("All", "all SKU-months")]
    assert total["wmape_naive"] == pytest.approx(180 / 1100)
    assert total["fva_statistical"] == pytest.approx(50 / 1100)
    assert total["fva_consensus"] == pytest.approx(55 / 1100)
    # per author: erin's November (stat |e| 20, consensus 5 on y = 100), dana's December (50 vs 10 on 200)
    assert fva.loc[("Author", "erin"), "fva_consensus"] == pytest.approx(0.15)
    assert fva.loc[("Author", "dana"), "fva_consensus"] == pytest.approx(0.20)
    assert fva.loc[("Override level", "sku"), "fva_consensus"] == pytest.approx(55 / 300)
    # family F1 = A + B summed per month before the error: no cancellation here, same as the SKU sums
    assert fva.loc[("Level", "total"), "n"] == 6


def test_item_accuracy_rows(sqlite_engine: Engine) -> None:
    cid = _company(sqlite_engine)
    _earlier_cycle(sqlite_engine)
    table = demand_accuracy.item_accuracy(sqlite_engine, cid, "sku", "A").set_index("forecast")
    assert table.loc["Consensus", "wmape"] == pytest.approx(15 / 740)
    assert table.loc["Statistical", "mase"] == pytest.approx((70 / 6) / 10)
    assert table.loc["Seasonal naive", "wmape"] == pytest.approx(120 / 740)


def test_changes_vs_last_cycle(sqlite_engine: Engine) -> None:
    cid = _company(sqlite_engine)
    _earlier_cycle(sqlite_engine)
    # overlap = Jan 2027: last cycle A 20, B 50, C 60, D 10; this cycle A 30, B 10, C 60, D 0
    fam = demand_accuracy.changes_vs_last_cycle(sqlite_engine, cid, "family")
    assert fam.attrs == {"previous": "2026-07", "months": 1}
    assert fam["item"].tolist()[:2] == ["F1", "F3"]
    assert fam.iloc[0][["last_cycle", "this_cycle", "change"]].tolist() == [70.0, 40.0, -30.0]
    assert fam.iloc[0]["change_pct"] == pytest.approx(-30 / 70)
    assert fam.iloc[1][["change", "change_pct"]].tolist() == [-10.0, -1.0]
    sku = demand_accuracy.changes_vs_last_cycle(sqlite_engine, cid, "sku", top=2)
    assert sku["item"].tolist() == ["B", "A"] and sku["change"].tolist() == [-40.0, 10.0]
