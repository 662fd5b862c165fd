"""Triggers of the KPI monitor, each firing on a constructed case and silent otherwise (hand-checked numbers)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sop_core.planning import triggers as monitor

TODAY = dt.date(2026, 11, 25)


# --------------------------------------------------------------------------- reorder point → replenishment order
@pytest.fixture
def projection() -> pd.DataFrame:
    # A: an open order of 50 arrives in December. Inventory position (closing + orders due later):
    #    Nov 100 + 50 = 150, Dec 90, Jan 30.   B (made in house): 10 left at the end of November.
    return pd.DataFrame(
        {
            "sku": ["A", "A", "A", "B", "B", "B"],
            "period": pd.to_datetime(["2026-11-01", "2026-12-01", "2027-01-01"] * 2),
            "receipts": [0.0, 50.0, 0.0, 0.0, 0.0, 0.0],
            "closing": [100.0, 90.0, 30.0, 10.0, 0.0, 0.0],
        }
    )


@pytest.fixture
def items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "supplier": ["S1", "S2", "S1", "S2"],
            "sku": ["A", "A", "C", "C"],
            "lead_time_days": [20.0, 35.0, 30.0, 40.0],
            "moq": [150.0, 0.0, 0.0, 0.0],
            "unit_cost": [5.0, 5.5, 2.0, 2.2],
            "priority": [1, 2, 1, 2],
        }
    )


def test_reorder_point_breach_proposes_an_order(projection: pd.DataFrame, items: pd.DataFrame) -> None:
    policy = pd.DataFrame({"sku": ["A", "B"], "reorder_point": [100.0, 50.0], "eoq": [120.0, np.nan]})
    out = monitor.reorder_point_breaches(projection, policy, items, today=TODAY, horizon_months=3)
    assert out["sku"].tolist() == ["B", "A"]  # by order date: B now, A on 1 December
    a = out.set_index("sku").loc["A"]
    # A breaches in December (position 90 < 100): Q = max(EOQ 120, MOQ 150, shortfall 10) = 150 from S1;
    # ordered on 1 Dec (the breach month), due 1 Dec + 20 days
    assert (a["value"], a["threshold"], a["supplier"]) == (90.0, 100.0, "S1")
    assert a["proposal"] == {
        "action": "replenish", "qty": 150.0, "supplier": "S1", "source": "purchase", "breach_period": "2026-12-01",
        "order_date": "2026-12-01", "due_date": "2026-12-21", "lead_time_days": 20.0, "eoq": 120.0, "moq": 150.0,
        "order_now": False,
    }  # fmt: skip
    b = out.set_index("sku").loc["B", "proposal"]
    # B: November position 10 < 50, no EOQ → the shortfall 40; made in house (one month = 30.44 → 31 days);
    # the breach month has begun → ordered today, due 25 Nov + 31 days
    assert (b["qty"], b["source"], b["supplier"], b["order_date"], b["due_date"], b["order_now"]) == (
        40.0, "production", "", "2026-11-25", "2026-12-26", True,
    )  # fmt: skip


def test_reorder_point_not_breached_stays_silent(projection: pd.DataFrame, items: pd.DataFrame) -> None:
    # reorder points below every projected position: nothing fires
    policy = pd.DataFrame({"sku": ["A", "B"], "reorder_point": [20.0, 0.0], "eoq": [120.0, 10.0]})
    assert monitor.reorder_point_breaches(projection, policy, items, today=TODAY).empty
    # A's breach lies in December: a one-month look-ahead does not see it
    policy = pd.DataFrame({"sku": ["A"], "reorder_point": [100.0], "eoq": [120.0]})
    assert monitor.reorder_point_breaches(projection, policy, items, today=TODAY, horizon_months=1).empty
    with pytest.raises(ValueError, match="reorder_point"):
        monitor.reorder_point_breaches(projection, policy.drop(columns="reorder_point"), items, today=TODAY)


# --------------------------------------------------------------------------- tracking signal → re-forecast
def _scored(errors: list[float], sku: str = "A") -> pd.DataFrame:
    periods = pd.date_range("2026-01-01", periods=len(errors), freq="MS")
    return pd.DataFrame({"sku": sku, "period": periods, "y": [100.0 + e for e in errors], "yhat": 100.0})


def test_tracking_signal_beyond_four_proposes_a_reforecast() -> None:
    # five months 10 above the forecast: Σ(y − ŷ) = 50, MAD = 10 → TS = +5 > 4 (Silver, Pyke & Thomas §4.10)
    # five months 10 below: TS = −5 < −4
    scored = pd.concat([_scored([10.0] * 5, "A"), _scored([-10.0] * 5, "B")])
    out = monitor.tracking_signal_alerts(scored).set_index("sku")
    assert out["value"].to_dict() == {"A": 5.0, "B": -5.0}
    assert out["threshold"].to_dict() == {"A": 4.0, "B": -4.0}
    assert out.loc["A", "proposal"] == {
        "action": "reforecast", "direction": "under-forecast", "periods": 5, "cumulative_error": 50.0, "mad": 10.0,
    }  # fmt: skip
    assert out.loc["B", "proposal"]["direction"] == "over-forecast"


def test_tracking_signal_within_bounds_stays_silent() -> None:
    # alternating errors: Σ = 10, MAD = 10 → TS 1; four months of +10: TS exactly 4, not beyond;
    # two months of +10: TS 2 and too few months anyway
    scored = pd.concat(
        [_scored([10.0, -10.0, 10.0, -10.0, 10.0], "A"), _scored([10.0] * 4, "B"), _scored([10.0] * 2, "C")]
    )
    assert monitor.tracking_signal_alerts(scored).empty
    signals = monitor.tracking_signals(scored).set_index("sku")["tracking_signal"]
    assert signals.round(6).to_dict() == {"A": 1.0, "B": 4.0, "C": 2.0}
    # only the last 3 months of A count with window=3: +10 − 10 + 10 → Σ 10, MAD 10 → 1
    assert monitor.tracking_signals(_scored([10.0, 10.0, 10.0, -10.0, 10.0]), window=3)["tracking_signal"][0] == 1.0


def test_tracking_signal_needs_a_material_bias() -> None:
    # five months 9 above a forecast of 100: TS = +5, but Σ(y − ŷ) / Σŷ = 45 / 500 = 9 % < 10 % → silent;
    # 10 above: 50 / 500 = 10 % → fires. With min_bias = 0 the 9 % case fires too.
    small, large = _scored([9.0] * 5, "A"), _scored([10.0] * 5, "B")
    assert monitor.tracking_signal_alerts(pd.concat([small, large]))["sku"].tolist() == ["B"]
    assert monitor.tracking_signal_alerts(small, min_bias=0.0)["value"].tolist() == [5.0]
    signals = monitor.tracking_signals(small)
    assert signals[["cumulative_error", "cumulative_forecast"]].to_numpy().tolist() == [[45.0, 500.0]]


# --------------------------------------------------------------------------- supplier OTIF → alternate sourcing
def test_supplier_below_otif_target_proposes_the_alternate(items: pd.DataFrame) -> None:
    card = pd.DataFrame({"supplier": ["S1", "S2"], "orders": [10, 12], "otif": [0.6, 0.95]})
    items = pd.concat([items, pd.DataFrame({"supplier": ["S1"], "sku": ["B"], "lead_time_days": [10.0], "moq": [0.0],
                                            "unit_cost": [1.0], "priority": [1]})])  # fmt: skip
    out = monitor.supplier_otif_alerts(card, items, target=0.9).set_index("sku")
    # S1 (60 % < 90 %) is preferred for A, B and C; S2 (95 %) for none
    assert out.index.tolist() == ["A", "B", "C"]
    assert set(out["supplier"]) == {"S1"} and set(out["value"]) == {0.6}
    assert out.loc["A", "proposal"] == {
        "action": "alternate_source",
        "alternate": {
            "supplier": "S2",
            "priority": 2,
            "lead_time_days": 35.0,
            "unit_cost": 5.5,
            "moq": 0.0,
            "otif": 0.95,
        },
        "orders": 10,
    }
    assert out.loc["B", "proposal"]["alternate"] is None  # no alternate on file
    assert "no alternate supplier on file" in out.loc["B", "message"]


def test_supplier_meeting_target_or_with_few_orders_stays_silent(items: pd.DataFrame) -> None:
    card = pd.DataFrame({"supplier": ["S1", "S2"], "orders": [10, 12], "otif": [0.9, 0.95]})
    assert monitor.supplier_otif_alerts(card, items, target=0.9).empty  # 90 % meets a 90 % target
    card = pd.DataFrame({"supplier": ["S1"], "orders": [2], "otif": [0.0]})
    assert monitor.supplier_otif_alerts(card, items, target=0.9, min_orders=3).empty  # too few orders to judge
