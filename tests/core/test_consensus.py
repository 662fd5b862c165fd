"""Override → consensus arithmetic, checked by hand (rules in sop_core.planning.consensus).

Hierarchy: category C1 = families F1 (SKUs A, B) and F2 (SKU C); category C2 = family F3 (SKU D).
Statistical forecast for 2027-01: A = 30, B = 10, C = 60, D = 0 (total 100); 2027-02: A = B = 0, C = D = 50.
"""

from __future__ import annotations

import pandas as pd
import pytest

from sop_core.planning import consensus as cons

JAN, FEB = pd.Timestamp("2027-01-01"), pd.Timestamp("2027-02-01")
PRODUCTS = pd.DataFrame({"sku": ["A", "B", "C", "D"], "family": ["F1", "F1", "F2", "F3"],
                         "category": ["C1", "C1", "C1", "C2"]})
STAT = pd.DataFrame({"sku": ["A", "A", "B", "B", "C", "C", "D", "D"], "period": [JAN, FEB] * 4,
                     "qty": [30.0, 0.0, 10.0, 0.0, 60.0, 50.0, 0.0, 50.0]})


def ov(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["level", "item", "period", "value", "pct"])


def qty(frame: pd.DataFrame, sku: str, period: pd.Timestamp) -> float:
    return float(frame.loc[(frame["sku"] == sku) & (frame["period"] == period), "qty"].iloc[0])


def test_no_overrides_is_the_statistical_forecast() -> None:
    out = cons.apply_overrides(STAT, PRODUCTS, ov())
    assert out["qty"].tolist() == out["statistical"].tolist() == [30.0, 0.0, 10.0, 0.0, 60.0, 50.0, 0.0, 50.0]
    assert set(out["level"]) == {""}


def test_sku_value_replaces_and_sku_pct_scales() -> None:
    out = cons.apply_overrides(STAT, PRODUCTS, ov(("sku", "A", JAN, 42.0, None), ("sku", "C", FEB, None, -20.0)))
    assert qty(out, "A", JAN) == 42.0
    assert qty(out, "C", FEB) == pytest.approx(40.0)  # 50 · (1 − 0.20)
    assert qty(out, "B", JAN) == 10.0  # untouched


def test_family_pct_spreads_in_proportion() -> None:
    # F1 +25 %: the family's 40 becomes 50, spread 30:10 → A = 37.5, B = 12.5
    out = cons.apply_overrides(STAT, PRODUCTS, ov(("family", "F1", JAN, None, 25.0)))
    assert qty(out, "A", JAN) == pytest.approx(37.5)
    assert qty(out, "B", JAN) == pytest.approx(12.5)
    assert qty(out, "C", JAN) == 60.0


def test_family_value_spreads_in_proportion() -> None:
    out = cons.apply_overrides(STAT, PRODUCTS, ov(("family", "F1", JAN, 60.0, None)))
    assert qty(out, "A", JAN) == pytest.approx(45.0)  # 60 · 30/40
    assert qty(out, "B", JAN) == pytest.approx(15.0)  # 60 · 10/40


@pytest.mark.parametrize("item", ["*", "Total"])
def test_total_value_spreads_to_every_sku(item: str) -> None:
    # total 100 → 150: A = 150·30/100 = 45, B = 15, C = 90, D = 0
    out = cons.apply_overrides(STAT, PRODUCTS, ov(("total", item, JAN, 150.0, None)))
    assert [qty(out, s, JAN) for s in "ABCD"] == pytest.approx([45.0, 15.0, 90.0, 0.0])
    assert out.loc[out["period"] == JAN, "qty"].sum() == pytest.approx(150.0)


def test_zero_forecast_value_is_spread_equally_and_pct_keeps_zero() -> None:
    out = cons.apply_overrides(STAT, PRODUCTS, ov(("family", "F1", FEB, 20.0, None)))
    assert qty(out, "A", FEB) == qty(out, "B", FEB) == pytest.approx(10.0)  # 20 / 2
    out = cons.apply_overrides(STAT, PRODUCTS, ov(("family", "F1", FEB, None, 50.0)))
    assert qty(out, "A", FEB) == qty(out, "B", FEB) == 0.0


def test_lower_level_wins_and_latest_wins() -> None:
    rows = pd.DataFrame([
        ("category", "C1", JAN, None, 10.0, pd.Timestamp("2026-11-02"), 1),  # A 33, B 11, C 66
        ("sku", "A", JAN, 5.0, None, pd.Timestamp("2026-11-02"), 2),
        ("sku", "A", JAN, 7.0, None, pd.Timestamp("2026-11-03"), 3),  # latest SKU override of A wins
    ], columns=["level", "item", "period", "value", "pct", "created_at", "id"])
    out = cons.apply_overrides(STAT, PRODUCTS, rows)
    assert qty(out, "A", JAN) == 7.0
    assert qty(out, "B", JAN) == pytest.approx(11.0)
    assert qty(out, "C", JAN) == pytest.approx(66.0)
    assert out.set_index(["sku", "period"]).loc[("A", JAN), "level"] == "sku"
    assert out.set_index(["sku", "period"]).loc[("B", JAN), "level"] == "category"


def test_validate_edits_requires_a_known_reason() -> None:
    edits = pd.DataFrame({"period": [JAN, FEB, JAN], "value": [10.0, None, None], "pct": [None, 5.0, None],
                          "reason": [None, "gossip", None]})
    problems = cons.validate_edits(edits)
    assert problems[0] == "2027-01: a reason code is required"
    assert problems[1].startswith("2027-02: unknown reason 'gossip'")
    assert len(problems) == 2  # the empty third row is no override
    assert cons.validate_edits(pd.DataFrame({"period": [JAN], "value": [-1.0], "pct": [None],
                                             "reason": ["promotion"]})) == ["2027-01: the quantity must not be negative"]
