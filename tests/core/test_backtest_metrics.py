"""Accuracy stored with a run's backtest, per level and item, and the price features of the engines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sop_core.planning.forecast.ml import relative_prices
from sop_core.services.forecasting import _metrics_by_level


def test_metrics_by_level_by_hand() -> None:
    # a: 10 for 12 months, then 20, 20 → in-sample seasonal naive error (|20 − 10| twice) = 10;
    # b: 5 throughout → seasonal error 0 → no MASE. Backtest of months 13–14: a 20, 20 vs 18, 23 (MAE 2.5,
    # WMAPE 5 / 40 = 0.125, MASE 0.25); b exact. Family F = a + b: 25, 25 vs 23, 28 → WMAPE 5 / 50 = 0.1,
    # seasonal error 10 → MASE 0.25; the family forecast is 1 over on average (yhat − y: −2, +3).
    months = pd.date_range("2024-01-01", periods=14, freq="MS")
    hist = pd.DataFrame({"unique_id": ["a"] * 14 + ["b"] * 14, "ds": list(months) * 2,
                         "y": [10.0] * 12 + [20.0, 20.0] + [5.0] * 14})
    bt = pd.DataFrame({"unique_id": ["a", "a", "b", "b"], "ds": list(months[12:]) * 2,
                       "y": [20.0, 20.0, 5.0, 5.0], "yhat": [18.0, 23.0, 5.0, 5.0]})
    products = pd.DataFrame({"sku": ["a", "b"], "family": ["F", "F"], "category": ["C", "C"]})
    out = _metrics_by_level(bt, hist, products)
    assert out["wmape_by_level"]["sku"] == pytest.approx({"a": 0.125, "b": 0.0})
    assert out["mase_by_level"]["sku"]["a"] == pytest.approx(0.25)
    assert out["mase_by_level"]["sku"]["b"] is None
    assert out["wmape_by_level"]["family"]["F"] == pytest.approx(0.1)
    assert out["mase_by_level"]["family"]["F"] == pytest.approx(0.25)
    assert set(out) == {"wmape_by_level", "mape_by_level", "mase_by_level", "bias_by_level", "tracking_signal_by_level"}
    assert out["mape_by_level"]["sku"]["a"] == pytest.approx((2 / 20 + 3 / 20) / 2)


def test_backtest_mase_ignores_history_of_skus_without_backtest_months() -> None:
    # c (family F) has history but no backtest months (it is not in the backtest): its swings (0, 100, 200 …,
    # seasonal naive error 1200) must not enter F's or the total's scale — MASE stays 0.25 as above
    months = pd.date_range("2024-01-01", periods=14, freq="MS")
    hist = pd.DataFrame({"unique_id": ["a"] * 14 + ["b"] * 14 + ["c"] * 14, "ds": list(months) * 3,
                         "y": [10.0] * 12 + [20.0, 20.0] + [5.0] * 14 + [100.0 * i for i in range(14)]})
    bt = pd.DataFrame({"unique_id": ["a", "a", "b", "b"], "ds": list(months[12:]) * 2,
                       "y": [20.0, 20.0, 5.0, 5.0], "yhat": [18.0, 23.0, 5.0, 5.0]})
    products = pd.DataFrame({"sku": ["a", "b", "c"], "family": ["F", "F", "F"], "category": ["C", "C", "C"]})
    out = _metrics_by_level(bt, hist, products)
    assert out["mase_by_level"]["family"]["F"] == pytest.approx(0.25)
    assert out["mase_by_level"]["total"]["Total"] == pytest.approx(0.25)
    assert "c" not in out["mase_by_level"]["sku"]


def test_relative_prices_flag_the_months_not_offered() -> None:
    # median positive price of x: 10 → 8 is 0.8; a price of 0 means "not offered": 1 with the flag 0
    hist = pd.DataFrame({"unique_id": ["x"] * 4, "price": [10.0, 10.0, 0.0, 12.0]})
    fut = pd.DataFrame({"unique_id": ["x", "x"], "price": [8.0, 0.0]})
    h, f, flags = relative_prices(hist, fut, ["price"])
    assert flags == ["price_offered"]
    np.testing.assert_allclose(h["price"], [1.0, 1.0, 1.0, 1.2])
    np.testing.assert_allclose(h["price_offered"], [1, 1, 0, 1])
    np.testing.assert_allclose(f["price"], [0.8, 1.0])
    np.testing.assert_allclose(f["price_offered"], [1, 0])
