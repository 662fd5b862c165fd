"""Plan diff: the change between two plan versions split by cause; the parts add up to the total.

The hand-checked case below follows the identity of :mod:`sop_core.planning.plan_diff` (price first, then the
quantity chain s → c → d → v; Ang & Zhang, Energy 25 (2000) 1149–1176, chained Laspeyres split):
every number is worked out by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sop_core.planning import plan_diff as diff

COLS = diff.VERSION_COLUMNS


def frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLS).assign(period=lambda f: pd.to_datetime(f["period"]))


BEFORE = frame(
    [
        # sku, family, period, stat s, base c, demand d, served v, revenue R (price 10)
        ("X", "F", "2026-10-01", 100.0, 110.0, 121.0, 121.0, 1210.0),
        ("X", "F", "2026-11-01", 100.0, 100.0, 110.0, 100.0, 1000.0),
    ]
)
AFTER = frame(
    [
        # price 11; 2026-12 is beyond the before horizon and stays out of the comparison
        ("X", "F", "2026-11-01", 120.0, 130.0, 130.0, 125.0, 1375.0),
        ("X", "F", "2026-12-01", 50.0, 50.0, 50.0, 50.0, 550.0),
    ]
)
ACTUALS = pd.DataFrame({"sku": ["X"], "period": [pd.Timestamp("2026-10-01")], "quantity": [130.0], "revenue": [1300.0]})


def test_hand_checked_revenue_split() -> None:
    lines = diff.decompose(BEFORE, AFTER, ACTUALS)
    assert lines["period"].dt.strftime("%Y-%m").tolist() == ["2026-10", "2026-11"]
    oct_, nov = lines.iloc[0], lines.iloc[1]
    # 2026-10 became an actual month: 1300 − 1210 = 90, all of it new actuals
    assert oct_["change"] == pytest.approx(90.0)
    assert oct_["new_actuals"] == pytest.approx(90.0)
    assert all(oct_[c] == 0.0 for c in diff.CAUSES if c != "new_actuals")
    # 2026-11: price (11 − 10)·100 = 100; stat 11·(120 − 100) = 220; overrides 11·((130−120) − 0) = 110;
    # levers 11·((130−130) − (110−100)) = −110; capacity 11·((125−130) − (100−110)) = 55; total 375
    assert nov["price"] == pytest.approx(100.0)
    assert nov["statistical_forecast"] == pytest.approx(220.0)
    assert nov["overrides"] == pytest.approx(110.0)
    assert nov["scenario_levers"] == pytest.approx(-110.0)
    assert nov["capacity"] == pytest.approx(55.0)
    assert nov["change"] == pytest.approx(1375.0 - 1000.0)
    wf = diff.waterfall(lines).set_index("step")["value"]
    assert wf["before"] == pytest.approx(2210.0)
    assert wf["after"] == pytest.approx(2675.0)
    assert wf[list(diff.CAUSES)].sum() == pytest.approx(465.0)


def test_hand_checked_units_split() -> None:
    nov = diff.decompose(BEFORE, AFTER, ACTUALS, measure="units").iloc[1]
    # served 100 → 125: stat +20, overrides +10, levers −10, capacity +5, price 0
    assert (nov["statistical_forecast"], nov["overrides"], nov["scenario_levers"], nov["capacity"], nov["price"]) == (
        pytest.approx(20.0), pytest.approx(10.0), pytest.approx(-10.0), pytest.approx(5.0), 0.0,
    )
    assert nov["change"] == pytest.approx(25.0)


def random_version(rng: np.random.Generator, skus: list[str], months: pd.DatetimeIndex) -> pd.DataFrame:
    n = len(skus) * len(months)
    s = rng.gamma(2.0, 50.0, n)
    c = s * rng.uniform(0.8, 1.3, n)
    d = c * rng.uniform(0.9, 1.1, n)
    v = d * rng.uniform(0.6, 1.0, n) * (rng.uniform(size=n) > 0.05)  # some months serve nothing
    price = rng.uniform(5, 500, n)
    return pd.DataFrame(
        {
            "sku": np.repeat(skus, len(months)),
            "family": [f"F{int(x[-1]) % 3}" for x in np.repeat(skus, len(months))],
            "period": np.tile(months, len(skus)),
            "stat_qty": s, "base_qty": c, "demand_qty": d, "served_qty": v, "revenue": v * price,
        }
    )


@pytest.mark.parametrize("measure", ["revenue", "units"])
def test_parts_add_up_to_the_total_at_every_level(measure: str) -> None:
    rng = np.random.default_rng(11)
    a = random_version(rng, [f"S{i}" for i in range(40)], pd.date_range("2026-09-01", periods=18, freq="MS"))
    b = random_version(rng, [f"S{i}" for i in range(5, 45)], pd.date_range("2026-11-01", periods=18, freq="MS"))
    actuals = pd.DataFrame(
        {"sku": np.repeat([f"S{i}" for i in range(40)], 2),
         "period": np.tile(pd.to_datetime(["2026-09-01", "2026-10-01"]), 40),
         "quantity": rng.uniform(0, 100, 80), "revenue": rng.uniform(0, 9000, 80)}
    )
    lines = diff.decompose(a, b, actuals, measure=measure)
    parts = lines[list(diff.CAUSES)].sum(axis=1)
    assert np.allclose(parts, lines["change"], rtol=1e-12, atol=1e-9)
    value = "revenue" if measure == "revenue" else "served_qty"
    window = a["period"] <= b["period"].max()
    before_total = a.loc[window, value].sum()
    assert lines["before"].sum() == pytest.approx(before_total, rel=1e-12)
    for level in ("family", "sku", "period", None):
        table = diff.summarize(lines, level)
        assert np.allclose(table[list(diff.CAUSES)].sum(axis=1), table["change"], rtol=1e-12, atol=1e-6)
    wf = diff.waterfall(lines)
    rel = wf[wf["kind"] == "relative"]["value"].sum()
    assert wf.iloc[0]["value"] + rel == pytest.approx(wf.iloc[-1]["value"], rel=1e-12)
    # SKUs only in one version land in the statistical forecast part (new or dropped items)
    only_b = lines[lines["sku"] == "S44"]
    assert (only_b["before"] == 0).all() and only_b["statistical_forecast"].sum() != 0


def test_missing_column_is_named() -> None:
    with pytest.raises(ValueError, match="served_qty"):
        diff.decompose(BEFORE.drop(columns="served_qty"), AFTER)
