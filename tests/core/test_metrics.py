"""Forecast accuracy metrics: hand-worked cases, zero conventions, vectorised = per-series reference."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sop_core.planning import accuracy as metrics

# The hand-worked case used throughout:
#   y    = [100, 200, 0, 50]
#   yhat = [110, 150, 5, 50]
#   errors y − ŷ = [−10, 50, −5, 0], |e| = [10, 50, 5, 0], Σ|e| = 65, Σ|y| = 350
Y = [100.0, 200.0, 0.0, 50.0]
F = [110.0, 150.0, 5.0, 50.0]


def test_wmape_hand_case() -> None:
    # Σ|y − ŷ| / Σ|y| = 65 / 350
    assert metrics.wmape(Y, F) == pytest.approx(65 / 350)


def test_mape_skips_zero_actuals() -> None:
    # periods with y ≠ 0: 10/100 = 0.10, 50/200 = 0.25, 0/50 = 0 → mean = 0.35 / 3
    assert metrics.mape(Y, F) == pytest.approx(0.35 / 3)


def test_smape_hand_case() -> None:
    # 2·10/210 + 2·50/350 + 2·5/5 + 0 (= 0/100) over 4 periods
    expected = (20 / 210 + 100 / 350 + 2.0 + 0.0) / 4
    assert metrics.smape(Y, F) == pytest.approx(expected)
    assert expected == pytest.approx(0.595238, abs=1e-6)


def test_bias_hand_case() -> None:
    # Σ(ŷ − y) / Σy = (10 − 50 + 5 + 0) / 350 = −0.1  (under-forecast)
    assert metrics.bias(Y, F) == pytest.approx(-0.1)


def test_tracking_signal_hand_case() -> None:
    # Σ(y − ŷ) = 35; MAD = 65 / 4 = 16.25; 35 / 16.25 = 2.153846…
    assert metrics.tracking_signal(Y, F) == pytest.approx(35 / 16.25)
    assert metrics.tracking_signal(Y, F) == pytest.approx(2.153846, abs=1e-6)


def test_mase_with_season() -> None:
    # training [10, 20, 30, 12, 22, 32], m = 3: |12−10|, |22−20|, |32−30| = 2, 2, 2 → scale 2
    # test y = [14, 24], ŷ = [15, 20]: MAE = (1 + 4) / 2 = 2.5 → MASE = 1.25
    train = [10.0, 20.0, 30.0, 12.0, 22.0, 32.0]
    assert metrics.mase([14, 24], [15, 20], train, season=3) == pytest.approx(1.25)
    # m = 1: first differences 10, 10, 18, 10, 10 → scale 11.6 → 2.5 / 11.6
    assert metrics.mase([14, 24], [15, 20], train, season=1) == pytest.approx(2.5 / 11.6)


def test_mase_needs_more_training_than_a_season() -> None:
    with pytest.raises(ValueError, match="season = 12"):
        metrics.mase([1.0], [1.0], y_train=np.ones(12), season=12)


def test_fva_hand_case() -> None:
    # statistical |e| = 20 + 50 = 70, consensus |e| = 5 + 10 = 15, Σy = 300:
    # FVA = (1 − 15/300) − (1 − 70/300) = 55/300 > 0 (the overrides helped)
    assert metrics.fva([100, 200], [105, 190], [120, 150]) == pytest.approx(55 / 300)
    assert metrics.fva([100, 200], [120, 150], [105, 190]) == pytest.approx(-55 / 300)


def test_zero_conventions() -> None:
    zeros = [0.0, 0.0, 0.0]
    # perfect forecast of zero demand: ratio metrics are 0, MAPE has no defined term
    assert metrics.wmape(zeros, zeros) == 0.0
    assert metrics.bias(zeros, zeros) == 0.0
    assert metrics.tracking_signal(zeros, zeros) == 0.0
    assert metrics.smape(zeros, zeros) == 0.0
    assert math.isnan(metrics.mape(zeros, zeros))
    # zero demand, non-zero forecast: the ratio is undefined (NaN); sMAPE terms are 2
    assert math.isnan(metrics.wmape(zeros, [1.0, 0.0, 0.0]))
    assert math.isnan(metrics.bias(zeros, [1.0, 0.0, 0.0]))
    assert metrics.smape(zeros, [1.0, 0.0, 0.0]) == pytest.approx(2 / 3)
    # a constant training series has no naive error: MASE is NaN unless the forecast is perfect
    assert math.isnan(metrics.mase([5.0], [4.0], [5.0, 5.0, 5.0]))
    assert metrics.mase([5.0], [5.0], [5.0, 5.0, 5.0]) == 0.0


def test_nan_pairs_are_ignored() -> None:
    # the third period has no actual yet: same answer as the first two alone, 60 / 300
    assert metrics.wmape([100, 200, np.nan], [110, 150, 80]) == pytest.approx(60 / 300)
    assert math.isnan(metrics.wmape([np.nan], [1.0]))


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="same shape"):
        metrics.wmape([1, 2], [1, 2, 3])


RNG = np.random.default_rng(3)
Y2 = RNG.integers(0, 30, size=(5, 9)).astype(float)
F2 = RNG.integers(0, 30, size=(5, 9)).astype(float)
Y2[0] = 0.0  # a series without demand
F2[1] = Y2[1]  # a perfect forecast


@pytest.mark.parametrize("name", ["mape", "wmape", "smape", "bias", "tracking_signal"])
def test_vectorised_equals_per_series(name: str) -> None:
    fn = getattr(metrics, name)
    rows = fn(Y2, F2)
    reference = [fn(Y2[i], F2[i]) for i in range(len(Y2))]
    np.testing.assert_allclose(rows, reference, equal_nan=True)


def test_mase_vectorised_equals_per_series() -> None:
    train = RNG.integers(1, 30, size=(5, 24)).astype(float)
    rows = metrics.mase(Y2, F2, train, season=12)
    reference = [metrics.mase(Y2[i], F2[i], train[i], season=12) for i in range(5)]
    np.testing.assert_allclose(rows, reference, equal_nan=True)


def test_accuracy_table_equals_single_series_functions() -> None:
    frame = pd.DataFrame(
        {"unique_id": np.repeat([f"s{i}" for i in range(5)], 9), "y": Y2.ravel(), "yhat": F2.ravel()}
    )
    table = metrics.accuracy_table(frame, by=["unique_id"]).set_index("unique_id")
    for i in range(5):
        row = table.loc[f"s{i}"]
        assert row["n"] == 9
        assert row["actual"] == pytest.approx(Y2[i].sum())
        for name in ("mape", "wmape", "smape", "bias", "tracking_signal"):
            expected = getattr(metrics, name)(Y2[i], F2[i])
            assert (math.isnan(row[name]) and math.isnan(expected)) or row[name] == pytest.approx(expected), name
    overall = metrics.accuracy_table(frame, by=[]).iloc[0]
    assert overall["wmape"] == pytest.approx(metrics.wmape(Y2.ravel(), F2.ravel()))


def test_tracking_signal_flags_a_persistent_bias() -> None:
    # five under-forecasts of 10 units: Σ(y − ŷ) = 50, MAD = 10 → 5 MADs, beyond the ±4 alarm limit
    assert metrics.tracking_signal([60.0] * 5, [50.0] * 5) == pytest.approx(5.0)
    # alternating errors cancel: Σ(y − ŷ) = 0
    assert metrics.tracking_signal([60.0, 40.0, 60.0, 40.0], [50.0] * 4) == 0.0


def test_value_added_hand_case() -> None:
    # y = (100, 200); |e| naive 20 + 60 = 80, statistical 20 + 50 = 70, consensus 5 + 10 = 15 (Σy = 300)
    frame = pd.DataFrame({"g": ["a", "a", "b"], "y": [100.0, 200.0, 50.0], "naive": [80.0, 260.0, 50.0],
                          "statistical": [120.0, 150.0, 50.0], "consensus": [105.0, 190.0, 40.0]})
    table = metrics.value_added(frame, by=["g"]).set_index("g")
    a = table.loc["a"]
    assert (a["n"], a["actual"]) == (2, 300.0)
    assert a["wmape_naive"] == pytest.approx(80 / 300)
    assert a["fva_statistical"] == pytest.approx(10 / 300)
    assert a["fva_consensus"] == pytest.approx(55 / 300)
    assert a["fva_consensus"] == pytest.approx(metrics.fva([100, 200], [105, 190], [120, 150]))
    # b: the override made it worse (0 → 10/50)
    assert table.loc["b", "fva_consensus"] == pytest.approx(-0.2)
    overall = metrics.value_added(frame).iloc[0]
    assert overall["wmape_consensus"] == pytest.approx(25 / 350)


def test_seasonal_naive_at_takes_the_same_month_of_the_last_season() -> None:
    # FPP3 §5.2: ŷ_{T+h|T} = y_{T+h−m(k+1)}, k = ⌊(h − 1)/m⌋; cutoff T = 2026-08, m = 12
    months = pd.date_range("2025-01-01", "2026-08-01", freq="MS")
    history = pd.DataFrame({"unique_id": "s", "ds": months, "y": np.arange(len(months), dtype=float)})
    targets = pd.DataFrame({"unique_id": "s", "ds": pd.to_datetime(["2026-09-01", "2027-08-01", "2027-09-01"])})
    # 2026-09 (h = 1) and 2027-09 (h = 13) → 2025-09 (index 8); 2027-08 (h = 12) → 2026-08 (index 19)
    got = metrics.seasonal_naive_at(history, targets, pd.Timestamp("2026-08-01"), season=12)
    assert got.tolist() == [8.0, 19.0, 8.0]


def test_mase_scale_is_the_mean_seasonal_naive_error() -> None:
    y = [10.0, 20.0, 30.0, 14.0, 26.0, 30.0]  # m = 3: |14 − 10|, |26 − 20|, |30 − 30| → mean 10/3
    history = pd.DataFrame({"unique_id": "s", "ds": pd.date_range("2026-01-01", periods=6, freq="MS"), "y": y})
    assert metrics.mase_scale(history, season=3)["s"] == pytest.approx(10 / 3)
    assert metrics.mase([12.0], [10.0], y, season=3) == pytest.approx(2 / (10 / 3))
