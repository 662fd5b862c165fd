"""Policy backtest: simulation mechanics on hand-worked cases and the fill rate achieved on real data."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sop_core.planning import inventory, inventory_frontier, policy

ROOT = Path(__file__).resolve().parents[2]
DATA = Path("/work/shared/data")


def _bench():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("bench_policy", ROOT / "bench" / "policy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_simulate_hand_worked_order_up_to() -> None:
    # S = 10 every period, L = 1, R = 1, start on hand 10; demand 0, 6, 8, 3, 12 (period 0 is history).
    # t1: serve 6 → 4; position 4 → order 6 (on hand from t3).   t2: serve 8 of 4 → 0, backlog 4;
    # position 0 + 6 − 4 = 2 → order 8 (from t4).                t3: +6 → pay backlog 4 → 2, serve 2 of 3,
    # backlog 1; position 2·0 … = 0 + 8 − 1 = 7 → order 3.       t4: +8 → pay 1 → 7, serve 7 of 12, backlog 5.
    # filled 6 + 4 + 2 + 7 = 19 of 29; cycles with demand 4, fully filled 1 (t1); orders 4 (t1…t4).
    demand = np.array([[0.0, 6.0, 8.0, 3.0, 12.0]])
    levels = np.full((1, 5), 10.0)
    out = policy.simulate(demand, levels, lead_time=1, start=1)
    assert out["demand"][0] == 29.0
    assert out["filled"][0] == 19.0
    assert (out["cycles"][0], out["cycles_ok"][0], out["orders"][0]) == (4.0, 1.0, 4.0)
    # end-of-period on hand 4, 0, 0, 0 → mean 1.0
    assert out["avg_on_hand"][0] == pytest.approx(1.0)


def test_backtest_hits_fill_rate_on_iid_normal_demand() -> None:
    # i.i.d. normal demand (mean 100, σ 30) — the textbook case: the (R, S) rule with k from G(k)
    # (Silver, Pyke & Thomas, 4th ed., §6.7) must reach its fill-rate target within one point.
    rng = np.random.default_rng(7)
    values = np.maximum(rng.normal(100, 30, (200, 120)), 0.0)
    history = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(200), 120),
            "ds": np.tile(pd.date_range("2010-01-01", periods=120, freq="MS"), 200),
            "y": values.ravel(),
        }
    )
    for target in (0.90, 0.98):
        got = policy.summarise(policy.backtest_policy(history, target, model="mean", warmup=30))
        assert got["fill_rate"] == pytest.approx(target, abs=0.01)


def test_naive_rule_needs_more_stock_for_the_same_service() -> None:
    # half the items steady (σ/d̄ = 0.1), half erratic (0.6): one cover k for all over-stocks the
    # steady ones, which the (R, S) rule protects with their own σ.
    rng = np.random.default_rng(3)
    cv = np.repeat([0.1, 0.6], 25)[:, None]
    values = np.maximum(rng.normal(50, 50 * cv, (50, 80)), 0.0)
    history = pd.DataFrame(
        {"unique_id": np.repeat(np.arange(50), 80), "ds": np.tile(np.arange(80), 50), "y": values.ravel()}
    )
    result = policy.summarise(policy.backtest_policy(history, 0.95, model="mean", warmup=24))
    k, naive = inventory_frontier.naive_cover_for_fill_rate(history, result["fill_rate"], warmup=24)
    assert naive["fill_rate"] == pytest.approx(result["fill_rate"], abs=0.002)
    assert 2.0 < k < 5.0
    assert naive["avg_inventory_value"] > result["avg_inventory_value"]


def test_frontier_inventory_grows_with_service() -> None:
    rng = np.random.default_rng(5)
    values = np.maximum(rng.normal(40, 15, (20, 60)), 0.0)
    history = pd.DataFrame(
        {"unique_id": np.repeat(np.arange(20), 60), "ds": np.tile(np.arange(60), 20), "y": values.ravel()}
    )
    segments = pd.Series(["A"] * 10 + ["B"] * 10, index=np.arange(20))
    calls: list[float] = []
    out = inventory_frontier.frontier(history, segments, (0.8, 0.95, 0.995), model="mean", progress=lambda f, _m: calls.append(f))
    assert calls[-1] == 1.0
    # the targets are fill-rate targets, and the replay reports the fill rate and the CSL achieved apart
    assert list(out.columns) == ["segment", "fill_rate_target", "fill_rate", "csl", "avg_inventory_value", "orders"]
    assert out["fill_rate_target"].tolist() == [0.8, 0.8, 0.95, 0.95, 0.995, 0.995]
    for _seg, part in out.groupby("segment"):
        assert part["avg_inventory_value"].is_monotonic_increasing
        assert part["fill_rate"].is_monotonic_increasing


def test_analytic_frontier_matches_safety_stock_formula() -> None:
    # one item: d̄ 100, σ 20, L 4, σ_L 1, R 1 → σ = 109.5445; at 95 % SS = 180.184 (test_inventory);
    # cycle stock Q/2 = 50; value at c = 2: (180.184 + 50)·2 = 460.37
    items = pd.DataFrame(
        {"segment": ["A"], "demand_mean": [100.0], "demand_std": [20.0], "lead_time": [4.0],
         "lead_time_std": [1.0], "review_period": [1.0], "order_qty": [100.0], "unit_cost": [2.0]}
    )  # fmt: skip
    out = inventory_frontier.analytic_frontier(items, (0.95,))
    assert out.loc[0, "inventory_value"] == pytest.approx(460.37, abs=0.01)
    assert list(out.columns) == [
        "segment", "cycle_service_level", "safety_stock_value", "cycle_stock_value", "inventory_value"
    ]  # fmt: skip
    assert out.loc[0, "cycle_service_level"] == 0.95


@pytest.mark.skipif(not (DATA / "stallion" / "sales.csv").exists(), reason="shared data not mounted")
def test_fast_movers_reach_target_fill_rate_on_stallion() -> None:
    # Real data (stallion, agency × SKU, series selling every month): half of the fast movers (every
    # second series, 123 of 246) keep the run short. Measured with the full set (bench/policy.py,
    # pooled): 90 % → 90.70 %, 95 % → 95.59 %, 98 % → 98.30 % (this half: 89.91, 95.25, 98.22 %).
    # Acceptance: within 2 points of target.
    bench = _bench()
    history, price, _abc = bench.stallion(DATA)
    ids = sorted(history["unique_id"].unique())[::2]
    part = history[history["unique_id"].isin(ids)]
    for target in (0.90, 0.95, 0.98):
        result = policy.backtest_policy(part, target, model="seasonal_trend", warmup=36, unit_value=price)
        got = policy.summarise(result)
        assert abs(got["fill_rate"] - target) <= 0.02, (target, got)
        assert got["csl"] < got["fill_rate"]  # many periods short by a little: CSL < fill rate


@pytest.mark.skipif(not (DATA / "stallion" / "sales.csv").exists(), reason="shared data not mounted")
def test_every_abc_class_reaches_its_target_on_stallion() -> None:
    # Each class replayed on its own (its errors pooled). The normal factor fell short on the lower-volume
    # classes at 98 % (B 95.98 %, C 95.57 %: heavier-tailed errors, level shifts of up to 5× in a few series);
    # the pooled empirical errors reach B 97.55 %, C 98.08 % (bench/policy.py).
    bench = _bench()
    history, price, abc = bench.stallion(DATA)
    for seg in "ABC":
        part = history[history["unique_id"].isin(abc[abc == seg].index)]
        for target in (0.90, 0.95, 0.98):
            got = policy.summarise(
                policy.backtest_policy(part, target, model="seasonal_trend", warmup=36, unit_value=price)
            )
            assert abs(got["fill_rate"] - target) <= 0.02, (seg, target, got["fill_rate"])
    c98 = history[history["unique_id"].isin(abc[abc == "C"].index)]
    normal = policy.summarise(policy.backtest_policy(c98, 0.98, method="normal", warmup=36, unit_value=price))
    assert normal["fill_rate"] == pytest.approx(0.9557, abs=0.0005)  # the shortfall the pooled errors remove


@pytest.mark.skipif(not (DATA / "carparts" / "train.csv").exists(), reason="shared data not mounted")
def test_intermittent_items_reach_target_with_pooled_errors_on_carparts() -> None:
    # Car parts (1,347 series with ≥ 10 non-zero months of 51; mean forecast, L = R = 1): bench/policy.py
    # measures pooled 89.40 / 94.26 / 97.13 % for targets 90 / 95 / 98 %; the normal factor reaches only
    # 84.63 / 87.76 / 90.37 % and the item's own empirical errors 85.50 / 88.09 / 89.69 %.
    history = _bench().carparts(DATA)
    for target, pooled, normal in ((0.90, 0.8940, 0.8463), (0.98, 0.9713, 0.9037)):
        got = policy.summarise(policy.backtest_policy(history, target, model="mean", warmup=24))
        assert got["fill_rate"] == pytest.approx(pooled, abs=0.0005)
        assert abs(got["fill_rate"] - target) <= 0.01
        bad = policy.summarise(policy.backtest_policy(history, target, method="normal", model="mean", warmup=24))
        assert bad["fill_rate"] == pytest.approx(normal, abs=0.0005)


def test_pooled_loss_hand_worked() -> None:
    # z = −1, 0, 2 with weights 1, 1, 2 (Σ w = 4): G(0) = 2·2 / 4 = 1.0; G(1) = 2·1 / 4 = 0.5;
    # G(−1) = (1·1 + 2·3) / 4 = 1.75; beyond the largest error G = 0.
    z, w = np.array([-1.0, 0.0, 2.0]), np.array([1.0, 1.0, 2.0])
    got = policy.pooled_loss(z, w, np.array([-1.0, 0.0, 1.0, 2.0, 3.0]))
    assert got == pytest.approx([1.75, 1.0, 0.5, 0.0, 0.0])
    # standard normal errors: the pooled loss converges to G(k) (G(1) = 0.0833, Silver, Pyke & Thomas App. II)
    draws = np.random.default_rng(0).standard_normal(400_000)
    assert policy.pooled_loss(draws, np.ones_like(draws), np.array([1.0]))[0] == pytest.approx(0.0833, abs=0.001)


def test_analytic_frontier_uses_empirical_safety_stock_for_intermittent_items() -> None:
    # Two items in segment C; the second is intermittent with demand over L + R of
    # 0,0,0,0,0,0,2,4,4,10: at 90 % its SS is 4 − 2 = 2 (empirical), where the normal formula would
    # give 1.2816·3.266 = 4.19. Item 1: d̄ 100, σ 20, L 4, σ_L 1, R 1 → SS(95 %) = 180.184.
    # Values at c = 1 and Q = 0: 95 %: 180.184 + SS₂(95 %) (the 10th of 10 → 10 − 2 = 8) = 188.184.
    items = pd.DataFrame(
        {"segment": ["C", "C"], "demand_mean": [100.0, 1.0], "demand_std": [20.0, 1.633], "lead_time": [4.0, 1.0],
         "lead_time_std": [1.0, 0.0], "review_period": [1.0, 1.0], "order_qty": [0.0, 0.0], "unit_cost": [1.0, 1.0]}
    )  # fmt: skip
    x = np.array([0, 0, 0, 0, 0, 0, 2, 4, 4, 10.0])
    out = inventory_frontier.analytic_frontier(items, (0.90, 0.95), samples={1: x}).set_index("cycle_service_level")
    normal_90 = float(inventory.safety_stock(0.90, 100.0, 20.0, 4.0, 1.0, 1.0))
    assert out.loc[0.90, "safety_stock_value"] == pytest.approx(normal_90 + 2.0, abs=1e-6)
    assert out.loc[0.95, "safety_stock_value"] == pytest.approx(188.184, abs=0.001)


def test_empirical_level_does_not_assume_normality() -> None:
    # Intermittent item: demand over L + R = 2 months from its 10 overlapping windows:
    # X = 0,0,0,0,0,0,2,4,4,10 (mean 2). A 90 % CSL takes the 9th of 10 sorted values: ROP 4 → SS 2.
    # The normal formula gives 2 + 1.2816 · σ_X (sample σ_X = sqrt(96 / 9) = 3.266) = 6.19, two units more.
    x = [0, 0, 0, 0, 0, 0, 2, 4, 4, 10]
    assert inventory.empirical_safety_stock(x, 0.90) == 2.0
    normal_rop = 2 + inventory.z_value(0.90) * np.std(x, ddof=1)
    assert normal_rop == pytest.approx(6.186, abs=0.001)
