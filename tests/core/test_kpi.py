"""Fill rate, OTIF, turns, days of supply, stockouts and excess on small hand-checked sets."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from sop_core import formatting
from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.engine import session_scope
from sop_core.planning import kpi_formulas as kpi
from sop_core.services import inventory_policy as policy_service
from sop_core.services import kpi as kpi_service
from sop_core.services import kpi_measures
from sop_core.services import kpi_targets as targets_service
from sop_core.units import DAYS_PER_MONTH

#: Every service write checks its user: the demo users exist in the test's databases.
pytestmark = pytest.mark.usefixtures("demo_users")


def test_fill_rate_is_quantity_weighted() -> None:
    # lines: ordered 100 / shipped 90, ordered 50 / shipped 50, ordered 10 / shipped 0
    # Σ shipped / Σ ordered = 140 / 160 = 0.875 (the mean of line ratios, 0.633, would be wrong)
    assert kpi.fill_rate([90, 50, 0], [100, 50, 10]) == pytest.approx(0.875)
    assert kpi.fill_rate(pd.Series([45.0]), pd.Series([50.0])) == pytest.approx(0.9)


def test_fill_rate_edge_cases() -> None:
    assert math.isnan(kpi.fill_rate([0, 0], [0, 0]))
    with pytest.raises(ValueError, match="≥ 0"):
        kpi.fill_rate([-1], [10])


@pytest.fixture
def orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_date": pd.to_datetime(["2026-01-01"] * 5),
            "promised_date": pd.to_datetime(["2026-01-10"] * 5),
            # early+full, on the day+short, late+full, on the day+full, open
            "received_date": pd.to_datetime(["2026-01-08", "2026-01-10", "2026-01-11", "2026-01-10", None]),
            "qty_ordered": [10.0, 10.0, 10.0, 20.0, 10.0],
            "qty_received": [10.0, 9.0, 10.0, 20.0, 0.0],
        }
    )


def test_otif_counts_orders_and_excludes_open_ones(orders: pd.DataFrame) -> None:
    # closed orders: 4; on time and in full: the 1st and 4th → 2 / 4
    assert kpi.otif(orders) == pytest.approx(0.5)
    # one day of tolerance makes the 3rd on time → 3 / 4; 10 % quantity tolerance makes the 2nd in full → 3 / 4
    assert kpi.otif(orders, on_time_tolerance_days=1) == pytest.approx(0.75)
    assert kpi.otif(orders, in_full_tolerance=0.10) == pytest.approx(0.75)
    flags = kpi.otif_flags(orders)
    assert flags["on_time"].tolist() == [True, True, False, True]
    assert flags["in_full"].tolist() == [True, False, True, True]
    assert flags["lead_time_days"].tolist() == [7.0, 9.0, 10.0, 9.0]


def test_otif_of_no_closed_order_is_nan(orders: pd.DataFrame) -> None:
    assert math.isnan(kpi.otif(orders.iloc[[4]]))
    with pytest.raises(ValueError, match="qty_received"):
        kpi.otif(orders.drop(columns="qty_received"))


def test_inventory_turns() -> None:
    # COGS 1.2 M / average inventory 200 k = 6 turns a year; per family as a Series
    assert kpi.inventory_turns(1_200_000, 200_000) == pytest.approx(6.0)
    turns = kpi.inventory_turns(
        pd.Series([900.0, 100.0], index=["f1", "f2"]), pd.Series([300.0, 0.0], index=["f1", "f2"])
    )
    assert turns["f1"] == pytest.approx(3.0)
    assert math.isnan(turns["f2"])


def test_days_of_supply() -> None:
    # 300 units at 10 a day = 30 days; 90 units at 3 a day = 30; no demand → NaN
    assert kpi.days_of_supply(300, 10) == pytest.approx(30.0)
    out = kpi.days_of_supply(np.array([90.0, 5.0]), np.array([3.0, 0.0]))
    assert out[0] == pytest.approx(30.0)
    assert math.isnan(out[1])


def test_stockouts_and_excess_counters() -> None:
    on_hand = [0.0, 5.0, 0.0, 400.0, 50.0, 10.0]
    daily = [1.0, 1.0, 0.0, 2.0, 0.1, 0.0]
    # out of stock: items 1 and 3
    assert kpi.stockouts(on_hand) == 2
    # days of supply: 0, 5, 0 (no stock, no demand), 200, 500, ∞ (stock without demand) → > 180: 3 items
    assert kpi.excess(on_hand, daily, max_days=180) == 3
    assert kpi.excess(on_hand, daily, max_days=365) == 2


# --------------------------------------------------------------------------- KPI summary on a hand-built database
def seed_small_company(engine: Engine) -> int:
    """Three SKUs, one resource, one supplier, a snapshot on 2026-10-31 and a cycle 2026-11 with a forecast.

    Returns the cycle id.
    """
    months = pd.date_range("2025-11-01", "2026-10-01", freq="MS")
    sales = pd.concat(
        [
            pd.DataFrame({"sku": "A", "period": months, "quantity": 30.0}),
            pd.DataFrame({"sku": "B", "period": months[:9], "quantity": 10.0}),  # no sales Aug–Oct 2026
            pd.DataFrame({"sku": "C", "period": months, "quantity": 20.0}),
            pd.DataFrame({"sku": "A", "period": [pd.Timestamp("2025-10-01")], "quantity": [999.0]}),  # outside 12 m
        ]
    ).assign(net_price=None, promo=0)
    frames = {
        "product": pd.DataFrame(
            {
                "sku": ["A", "B", "C"],
                "name": ["Alpha", "Beta", "Gamma"],
                "family": "F1",
                "category": "K",
                "unit_price": [15.0, 30.0, 8.0],
                "unit_cost": [10.0, 20.0, 5.0],
                "holding_rate": 0.25,
                "order_cost": 50.0,
                "service_target": 0.95,
            }
        ),
        "supplier": pd.DataFrame({"supplier": ["S"], "name": ["Supplier S"]}),
        "resource": pd.DataFrame(
            {
                "resource": ["R"],
                "name": ["Line R"],
                "plant": "P",
                "capacity_hours": [100.0],
                "overtime_hours": [10.0],
                "overtime_cost_per_hour": 40.0,
            }
        ),
        "sales_history": sales,
        "inventory": pd.DataFrame(
            {"sku": ["A", "B", "C"], "as_of": pd.Timestamp("2026-10-31"), "on_hand": [60.0, 50.0, 0.0]}
        ),
        "open_order": pd.DataFrame(
            {
                "sku": ["A", "A", "C", "C"],
                "due_period": pd.to_datetime(["2026-10-01", "2026-11-01", "2026-11-01", "2026-12-01"]),
                "quantity": [5.0, 10.0, 5.0, 100.0],
                "source": ["production", "production", "purchase", "purchase"],
                "supplier": ["", "", "S", "S"],
            }
        ),
        "receipt": pd.DataFrame(
            {
                "supplier": "S",
                "sku": ["A", "A", "B", "B", "C"],
                "order_date": pd.to_datetime(["2026-01-01", "2026-03-01", "2026-05-01", "2025-06-01", "2026-10-15"]),
                "promised_date": pd.to_datetime(["2026-01-20", "2026-03-20", "2026-05-20", "2025-06-20", "2026-11-10"]),
                "received_date": pd.to_datetime(["2026-01-18", "2026-03-25", "2026-05-20", "2025-06-25", None]),
                "qty_ordered": 100.0,
                "qty_received": [100.0, 100.0, 90.0, 100.0, 0.0],
            }
        ),
        "routing": pd.DataFrame({"sku": ["A", "C"], "resource": ["R", "R"], "hours_per_unit": [1.0, 0.5]}),
        # C is bought from S: 2 months (60.875 days) ± 0.5 month (15.21875 days)
        "supplier_item": pd.DataFrame(
            {
                "supplier": ["S"],
                "sku": ["C"],
                "lead_time_days": [60.875],
                "lead_time_std_days": [15.21875],
                "moq": [0.0],
                "unit_cost": [5.0],
                "priority": [1],
            }
        ),
    }
    with session_scope(engine) as s:
        for table, frame in frames.items():
            repo.upsert_frame(s, table, frame)
        cycle = m.PlanCycle(month=dt.date(2026, 11, 1), status="supply_review", status_at=dt.datetime(2026, 11, 2))
        s.add(cycle)
        s.flush()
        run = m.ForecastRun(cycle_id=cycle.id, engine="test", horizon=2)
        s.add(run)
        s.flush()
        forecast = pd.DataFrame(
            {
                "sku": ["A", "B", "C", "A", "B", "C", "A"],
                "period": pd.to_datetime(["2026-11-01"] * 3 + ["2026-12-01"] * 3 + ["2026-10-01"]),
                "yhat": [80.0, 0.0, 20.0, 80.0, 0.0, 60.0, 500.0],  # the October row lies before the cycle
            }
        )
        repo.insert_frame(s, m.Forecast, forecast, run_id=run.id)
        return cycle.id


def test_kpi_summary_hand_worked(engine: Engine) -> None:
    seed_small_company(engine)
    summary = kpi_service.kpi_summary(engine)
    assert summary.attrs["as_of"] == "2026-10-31"
    assert list(summary.columns) == ["kpi", "value", "unit", "target", "status", "gap", "tolerance", "direction"]
    values = summary["value"].to_dict()
    # fill rate, November: A 60 on hand + 5 overdue + 10 due = 75 of 80; B 0 of 0; C 0 + 5 of 20 → 80 / 100
    assert values["fill_rate"] == 80.0
    # OTIF over deliveries received Nov 2025–Oct 2026: on time & in full only the first of three → 33.3 %
    assert values["otif"] == 33.3
    # supplier fill rate: (100 + 100 + 90) / 300 = 96.7 %
    assert values["supplier_fill_rate"] == 96.7
    # COGS 12 m: A 360·10 + B 90·20 + C 240·5 = 6,600; inventory 60·10 + 50·20 + 0 = 1,600 → 4.125 turns
    assert values["inventory_turns"] == 4.1
    # days of supply: 1,600 / ((90·10 + 60·5) / 92 days) = 1,600 / 13.043 = 122.7 days
    assert values["days_of_supply"] == 122.7
    # stockouts: C sells and has nothing; excess: B has 50 with no demand in 3 months
    assert (values["stockouts"], values["excess"]) == (1, 1)
    # lights with the default targets and tolerances (fill rate 95 ± 5, OTIF 90 ± 10, turns 6 ± 2, DOS 60 + 30,
    # supplier fill rate 98 ± 3, stockouts 0 + 5, excess 10 + 15): 80 → red, 33.3 → red, 4.1 → amber (miss 1.9),
    # 122.7 → red (miss 62.7), 96.7 → amber (miss 1.3), 1 → amber, 1 → green
    assert summary["status"].to_dict() == {
        "fill_rate": "red",
        "otif": "red",
        "inventory_turns": "amber",
        "days_of_supply": "red",
        "forecast_wmape": "grey",
        "forecast_bias": "grey",
        "supplier_reliability": "red",
        "supplier_fill_rate": "amber",
        "stockouts": "amber",
        "excess": "green",
    }
    # supplier reliability: the only supplier (S, OTIF 33 %) misses the 90 % OTIF target → 0 % of the volume
    assert values["supplier_reliability"] == 0.0
    # no earlier forecast covers a month with actuals and the run stores no backtest: accuracy unknown
    assert summary.attrs["accuracy_source"] == "no forecast to score"
    assert summary.loc["fill_rate", "gap"] == -15.0
    # two months: December A has nothing left (0 of 80) and C's 100 due serve its 60 → (80 + 60) / 240
    two = kpi_service.kpi_summary(engine, fill_rate_months=2)
    assert two.loc["fill_rate", "value"] == 58.3


def test_kpi_formatting_as_shown() -> None:
    assert formatting.kpi_value(94.9, "%") == "94.9 %"
    assert formatting.kpi_value(122.7, "days") == "122.7 days"
    assert formatting.kpi_value(4.1, "turns/year") == "4.1"
    assert formatting.kpi_value(12, "SKUs") == "12"
    assert formatting.kpi_value(float("nan"), "%") == "–"
    assert formatting.kpi_gap(-15.0, "%") == "-15.0 pts"
    assert formatting.kpi_gap(3, "SKUs") == "+3"


def test_abc_xyz_classes_of_the_small_company(engine: Engine) -> None:
    seed_small_company(engine)
    classes = kpi_measures.abc_xyz_classes(engine).set_index("sku")
    # annual value at cost 3,600 / 1,800 / 1,200 of 6,600 → cumulative .545 (A), .818 (B), 1.0 (C)
    # B: nine months of 10 and three of 0 → mean 7.5, sample σ = sqrt(225 / 11) = 4.523 → CV 0.603 (Y)
    assert classes["class"].to_dict() == {"A": "AX", "B": "BY", "C": "CX"}
    assert classes.loc["B", "cv"] == pytest.approx(0.603, abs=1e-3)
    counts = kpi_measures.abc_xyz_counts(engine)
    assert (counts.loc["A", "X"], counts.loc["B", "Y"], counts.loc["C", "X"], int(counts.to_numpy().sum())) == (
        1,
        1,
        1,
        3,
    )


def test_inventory_policy_of_the_small_company(engine: Engine) -> None:
    """The one inventory policy (the Supply review's, also behind the KPI drill-down and the what-if), worked by
    hand: periodic review R = 1 month, so SS = z·√((L+R)·σ_d² + d̄²·σ_L²) and ROP = d̄·(L+R) + SS."""
    cycle_id = seed_small_company(engine)
    policy = policy_service.inventory_policy(engine, cycle_id).set_index("sku")
    z95 = 1.6448536
    # C: bought from S, no closed receipt of its own, so σ_L is S's measured spread: closed receipts of 17, 24,
    # 19 and 24 days → mean 21, sample σ = √(38/3) = 3.5590 days = 0.11693 month; L = 60.875 days = 2 months.
    # d̄ 20, σ_d 0 → SS = z·20·0.11693 = 3.8466; ROP = 20·(2 + 1) + 3.8466 = 63.8466
    # EOQ: D = 240/year, S = 50, H = 0.25·5 = 1.25 → sqrt(2·240·50 / 1.25) = sqrt(19,200) = 138.56
    c = policy.loc["C"]
    sigma_l = (38 / 3) ** 0.5
    assert (c["lead_time_months"], c["lead_time_std_days"]) == pytest.approx((2.0, sigma_l))
    assert c["lt_source"] == "measured (supplier)"
    assert c["cycle_service_level"] == 0.95  # product.service_target, a CSL: z = Φ⁻¹(0.95)
    assert c["safety_stock"] == pytest.approx(z95 * 20 * sigma_l / DAYS_PER_MONTH, abs=1e-3)
    assert c["reorder_point"] == pytest.approx(60 + z95 * 20 * sigma_l / DAYS_PER_MONTH, abs=1e-3)
    assert c["eoq"] == pytest.approx(138.564, abs=1e-3)
    # C: on hand 0 + on order 105 ≥ 63.8 → not below
    assert not c["below_reorder_point"]
    # B sells 10 in 9 of 12 months: ADI = 12/9 = 1.33 > 1.32, intermittent → empirical safety stock from the
    # 2-month (L + R, made in house) demand sums of the 24 months of history: 8 × 20, 2 × 10, 13 × 0; ROP =
    # the 95 % inverted-CDF quantile = 20 (22nd of 23); SS = 20 − mean 180/23 = 12.174; ROP = 7.5·2 + SS = 27.174
    b = policy.loc["B"]
    assert b["method"] == "empirical"
    assert (b["safety_stock"], b["reorder_point"]) == pytest.approx((20 - 180 / 23, 15 + 20 - 180 / 23))
    # A: constant 30 a month, L = 1 (made in house) + R = 1 → ROP 60; position 60 + 15 on order → not below
    assert (policy.loc["A", "safety_stock"], policy.loc["A", "reorder_point"]) == pytest.approx((0.0, 60.0))
    assert policy["below_reorder_point"].sum() == 0


# --------------------------------------------------------------------------- traffic lights, trends, accuracy
def test_traffic_light_bands() -> None:
    # higher is better, target 95, tolerance 5: ≥ 95 green, 90..95 amber, < 90 red
    assert [kpi.traffic_light(v, 95.0, 5.0) for v in (95.0, 94.9, 90.0, 89.9)] == ["green", "amber", "amber", "red"]
    # lower is better (days of supply 60 + 30): 60 green, 90 amber, 90.1 red
    assert [kpi.traffic_light(v, 60.0, 30.0, "lower") for v in (60.0, 90.0, 90.1)] == ["green", "amber", "red"]
    # the size of a bias counts: −6 % against 5 ± 5 → amber, +11 % → red, −4 % → green
    assert [kpi.traffic_light(v, 5.0, 5.0, "abs_lower") for v in (-6.0, 11.0, -4.0)] == ["amber", "red", "green"]
    assert kpi.traffic_light(float("nan"), 95.0, 5.0) == "grey"
    with pytest.raises(ValueError, match="direction"):
        kpi.traffic_light(1.0, 1.0, 1.0, "sideways")


def test_monthly_otif_and_turns(orders: pd.DataFrame) -> None:
    # all four closed orders arrive in January 2026: 2 of 4 OTIF; 49 of 50 units received
    by_month = kpi.monthly_otif(orders)
    assert by_month[["orders", "otif", "fill_rate"]].to_numpy().tolist() == [[4, 0.5, 49 / 50]]
    # January: COGS 3,100 in 31 days against 6,200 of stock → 12·3,100/6,200 = 6 turns, 6,200/100 = 62 days
    idx = pd.to_datetime(["2026-01-01", "2026-02-01"])
    out = kpi.monthly_turns_and_cover(pd.Series([3100.0, 0.0], idx), pd.Series([6200.0, 6200.0], idx))
    assert out.loc[0, ["inventory_turns", "days_of_supply"]].astype(float).tolist() == [6.0, 62.0]
    assert out.loc[1, "inventory_turns"] == 0.0 and math.isnan(out.loc[1, "days_of_supply"])


def test_supplier_reliability_is_volume_weighted() -> None:
    card = pd.DataFrame({"otif": [0.95, 0.70, 0.90], "qty_ordered": [600.0, 300.0, 100.0]})
    # suppliers at or above 90 %: 600 + 100 of 1,000 units
    assert kpi.supplier_reliability(card, 0.90) == pytest.approx(0.7)
    assert math.isnan(kpi.supplier_reliability(card.iloc[0:0], 0.9))


def add_earlier_cycles(engine: Engine) -> None:
    """Cycles 2026-09 and 2026-10 with forecasts of months that now have actuals (A sells 30, C 20 a month)."""
    with session_scope(engine) as s:
        for month, rows in (
            (
                dt.date(2026, 9, 1),
                {
                    "sku": ["A", "A", "C", "C"],
                    "period": ["2026-09-01", "2026-10-01"] * 2,
                    "yhat": [25.0, 25.0, 22.0, 22.0],
                },
            ),
            (dt.date(2026, 10, 1), {"sku": ["A"], "period": ["2026-10-01"], "yhat": [40.0]}),
        ):
            cycle = m.PlanCycle(month=month, status="signed", status_at=dt.datetime(2026, 10, 1))
            s.add(cycle)
            s.flush()
            run = m.ForecastRun(cycle_id=cycle.id, engine="test", horizon=2)
            s.add(run)
            s.flush()
            frame = pd.DataFrame(rows).assign(period=lambda f: pd.to_datetime(f["period"]))
            repo.insert_frame(s, m.Forecast, frame, run_id=run.id)


def test_forecast_accuracy_from_earlier_runs(engine: Engine) -> None:
    seed_small_company(engine)
    add_earlier_cycles(engine)
    summary = kpi_service.kpi_summary(engine)
    # the forecast each month had when it began: Sep A 25, C 22 (cycle 09); Oct A 40 (cycle 10), C 22 (cycle 09)
    # WMAPE = (5 + 10 + 2 + 2) / (30 + 30 + 20 + 20) = 19 %; bias = (−5 + 10 + 2 + 2) / 100 = +9 %
    assert summary.loc["forecast_wmape", "value"] == 19.0
    assert summary.loc["forecast_bias", "value"] == 9.0
    # bias target 5 ± 5 on its size: |9| misses by 4 → amber, gap +4
    assert (summary.loc["forecast_bias", "status"], summary.loc["forecast_bias", "gap"]) == ("amber", 4.0)
    assert summary.loc["forecast_wmape", "status"] == "green"
    assert summary.attrs["accuracy_source"] == "earlier forecast runs (4 SKU-months of actuals)"


def test_kpi_trends_by_month(engine: Engine) -> None:
    seed_small_company(engine)
    add_earlier_cycles(engine)
    trends = kpi_service.kpi_trends(engine)
    got = {(k, f"{p:%Y-%m}"): v for k, p, v in zip(trends["key"], trends["period"], trends["value"], strict=True)}
    # receipts: Jan on time and full, Mar late, May short (90 of 100) → OTIF 100 / 0 / 0, fill rate 100 / 100 / 90
    assert [got[("otif", mth)] for mth in ("2026-01", "2026-03", "2026-05")] == [100.0, 0.0, 0.0]
    assert got[("supplier_fill_rate", "2026-05")] == 90.0
    # one snapshot (1,600 at cost) stands for every month: October COGS 30·10 + 20·5 = 400 → 12·400/1,600 = 3 turns,
    # 1,600 / (400 / 31) = 124 days; November 2025 COGS 300 + 10·20 + 100 = 600 → 4.5 turns, 1,600 / (600/30) = 80 days
    assert (got[("inventory_turns", "2026-10")], got[("days_of_supply", "2026-10")]) == (3.0, 124.0)
    assert (got[("inventory_turns", "2025-11")], got[("days_of_supply", "2025-11")]) == (4.5, 80.0)
    # accuracy by month: Sep (5 + 2) / 50 = 14 %, bias −6 %; Oct (10 + 2) / 50 = 24 %, bias +24 %
    assert (got[("forecast_wmape", "2026-09")], got[("forecast_bias", "2026-09")]) == (14.0, -6.0)
    assert (got[("forecast_wmape", "2026-10")], got[("forecast_bias", "2026-10")]) == (24.0, 24.0)
    assert set(trends.loc[trends["key"] == "otif", "target"]) == {90.0}


def test_summary_of_a_segment_uses_its_skus_and_target(engine: Engine) -> None:
    seed_small_company(engine)
    assert kpi_service.segment_skus(engine, "abc:A") == {"A"}
    targets_service.save_kpi_targets(
        engine, "abc:A", pd.DataFrame({"key": ["fill_rate"], "target": [90.0], "version": [0]}), "sam"
    )
    summary = kpi_service.kpi_summary(engine, segment="abc:A")
    values = summary["value"].to_dict()
    # A only: November 75 of 80 served → 93.75 % (rounded 93.8); its two deliveries: one OTIF → 50 %;
    # COGS 360·10 = 3,600 / inventory 600 = 6.0 turns
    assert (values["fill_rate"], values["otif"], values["inventory_turns"]) == (93.8, 50.0, 6.0)
    # the segment's own target 90 → green; all SKUs keep the default 95
    assert (summary.loc["fill_rate", "target"], summary.loc["fill_rate", "status"]) == (90.0, "green")
    assert kpi_service.kpi_summary(engine).loc["fill_rate", "target"] == 95.0
    with pytest.raises(targets_service.KpiError, match="unknown segment"):
        kpi_service.kpi_summary(engine, segment="abc:Q")
