"""The automatic, LightGBM and Prophet engines: hand-checked cases, the output contract, the model choice,
conformal intervals, reconciliation, override spreading and the command line."""

from __future__ import annotations

import argparse
import glob
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sop_core.planning import forecast as fc
from sop_core.planning.forecast import auto, base_models, conformal

#: Every service write checks its user: the demo users exist in the test's databases.
pytestmark = pytest.mark.usefixtures("demo_users")

COLUMNS = ["unique_id", "ds", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95", "model"]


def _series(uid: str, y: np.ndarray | list[float], start: str = "2022-01-01", freq: str = "MS") -> pd.DataFrame:
    y = np.asarray(y, dtype=float)
    return pd.DataFrame({"unique_id": uid, "ds": pd.date_range(start, periods=len(y), freq=freq), "y": y})


def _panel(n: int = 6, months: int = 40, seed: int = 3) -> pd.DataFrame:
    """Seasonal Poisson series of different sizes, one intermittent series, with price and promo columns."""
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    parts = []
    for i in range(n):
        promo = (rng.random(months) < 0.15).astype(float)
        mean = 40.0 * (i + 1) * (1 + 0.3 * np.sin(2 * np.pi * t / 12)) * (1 + 0.5 * promo)
        parts.append(_series(f"s{i}", rng.poisson(mean)).assign(price=10.0 - 2.0 * promo, promo=promo))
    sparse = rng.choice([0.0, 0.0, 0.0, 4.0], months)
    parts.append(_series("sparse", sparse).assign(price=5.0, promo=0.0))
    return pd.concat(parts, ignore_index=True)


def _future(panel: pd.DataFrame, h: int) -> pd.DataFrame:
    ids = panel["unique_id"].unique()
    months = pd.date_range(panel["ds"].max(), periods=h + 1, freq="MS")[1:]
    return pd.DataFrame({"unique_id": np.repeat(ids, h), "ds": np.tile(months, len(ids)), "price": 10.0, "promo": 0.0})


# ---------------------------------------------------------------------------- hand-checked intermittent methods
def test_tsb_by_hand() -> None:
    # TSB (Teunter, Syntetos & Babai 2011, eq. 3–5): demand probability p and size z smoothed separately,
    # ŷ = p·z. y = 5,0,0,5,0,0: z stays 5; p starts at the first occurrence (1) and is updated every period
    # with α_p = 0.1: 1 → 1 → 0.9 → 0.81 → 0.829 → 0.7461 → 0.67149; ŷ = 5 · 0.67149 = 3.35745.
    from statsforecast import StatsForecast
    from statsforecast.models import TSB

    hist = _series("a", [5, 0, 0, 5, 0, 0])
    out = StatsForecast(models=[TSB(alpha_d=0.1, alpha_p=0.1)], freq="MS").forecast(df=hist, h=2)
    np.testing.assert_allclose(out["TSB"], 3.35745, atol=1e-6)


def test_adida_by_hand() -> None:
    # ADIDA (Nikolopoulos et al. 2011): aggregate into buckets of the mean inter-demand interval, forecast
    # the buckets with SES, divide by the bucket length. y = 0,6,0,6,0,6,0,6: interval 2, buckets all 6,
    # so the bucket forecast is 6 whatever α, and the per-period forecast 6 / 2 = 3.
    from statsforecast import StatsForecast
    from statsforecast.models import ADIDA

    hist = _series("a", [0, 6, 0, 6, 0, 6, 0, 6])
    out = StatsForecast(models=[ADIDA()], freq="MS").forecast(df=hist, h=3)
    np.testing.assert_allclose(out["ADIDA"], 3.0, atol=1e-9)


# ---------------------------------------------------------------------------- the contract, every engine
@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return _panel()


@pytest.mark.parametrize("engine", ["auto", "lightgbm", "prophet"])
def test_contract_of_every_engine(panel: pd.DataFrame, engine: str) -> None:
    h = 7
    out = fc.forecast(panel, h, engine=engine, exog_cols=["price", "promo"], future_exog=_future(panel, h))
    assert list(out.columns) == COLUMNS
    assert len(out) == 7 * h and out.groupby("unique_id").size().eq(h).all()
    assert out["ds"].min() == pd.Timestamp("2025-05-01") and out["ds"].max() == pd.Timestamp("2025-11-01")
    values = out[COLUMNS[2:7]].to_numpy(dtype=float)
    assert np.isfinite(values).all() and (values >= 0).all()
    assert (out["yhat_lo_95"] <= out["yhat_lo_80"] + 1e-9).all() and (out["yhat_lo_80"] <= out["yhat"] + 1e-9).all()
    assert (out["yhat"] <= out["yhat_hi_80"] + 1e-9).all() and (out["yhat_hi_80"] <= out["yhat_hi_95"] + 1e-9).all()
    if engine == "lightgbm":
        assert set(out["model"]) == {"LightGBM"}
    if engine == "prophet":
        assert set(out["model"]) == {"Prophet"}


def test_weekly_frequency() -> None:
    rng = np.random.default_rng(5)
    hist = pd.concat([_series(f"w{i}", rng.poisson(30 + 10 * i, 120), start="2022-01-03", freq="W-MON") for i in range(3)])
    out = fc.forecast(hist, 13, freq="W-MON", engine="auto")
    assert len(out) == 3 * 13
    assert out["ds"].min() == hist["ds"].max() + pd.Timedelta(weeks=1)
    assert (out["ds"].dt.dayofweek == 0).all()


def test_auto_is_reproducible(panel: pd.DataFrame) -> None:
    a = fc.forecast(panel[["unique_id", "ds", "y"]], 6, engine="auto")
    b = fc.forecast(panel[["unique_id", "ds", "y"]], 6, engine="auto")
    pd.testing.assert_frame_equal(a, b)


# ---------------------------------------------------------------------------- the choice
def test_choose_shrinks_toward_the_pooled_error() -> None:
    # two series, two candidates, two backtest points each (hand-worked):
    #   series a, y = (10, 10): A = (9, 11)  → MAE 1,   sMAPE (2/19 + 2/21)/2 = 0.100251
    #                           B = (10, 8.4) → MAE 0.8, sMAPE (0 + 3.2/18.4)/2 = 0.086957
    #     relative to the median (= the mean of two): MAE A 1.111111, B 0.888889; sMAPE A 1.071020, B 0.928980
    #     r = ½·MAE + ½·sMAPE: A 1.091066, B 0.908934 → B alone
    #   series b, y = (5, 5):   A = (5, 5) → 0, 0;  B = (7, 3) → MAE 2, sMAPE (4/12 + 4/8)/2 = 0.416667
    #     relative: A 0, B 2 → r: A 0, B 2
    #   pooled means: A 0.545533, B 1.454467; shrunk ½·r + ½·pooled:
    #     a: A 0.818300, B 1.181700 → A;   b: A 0.272767, B 1.727233 → A
    bt = pd.DataFrame({"unique_id": ["a", "a", "b", "b"], "y": [10.0, 10.0, 5.0, 5.0],
                       "A": [9.0, 11.0, 5.0, 5.0], "B": [10.0, 8.4, 7.0, 3.0]})
    chosen = auto.choose(bt, ["A", "B"])
    assert chosen["model"].tolist() == ["A", "A"]
    assert chosen["mae"].tolist() == pytest.approx([1.0, 0.0])
    assert auto.choose(bt, ["A", "B"], pooled=False)["model"].tolist() == ["B", "A"]
    # the pooling stays within a kind: alone in its kind, series a keeps its own choice
    kinds = pd.Series({"a": "sparse", "b": "dense"})
    assert auto.choose(bt, ["A", "B"], kinds)["model"].tolist() == ["B", "A"]


def test_auto_finds_the_exact_model_of_a_repeating_pattern() -> None:
    # a season that repeats exactly is forecast exactly by the seasonal naive method; noise-free trend
    # lines are forecast exactly by several; auto's backtest error of the chosen model is then 0 and the
    # forecast continues the pattern
    pattern = np.array([10, 30, 50, 20, 5, 5, 40, 60, 10, 0, 25, 35], dtype=float)
    hist = pd.concat([_series(f"p{i}", np.tile(pattern * (i + 1), 4)) for i in range(4)])
    res = fc.forecast_details(fc.prepare_history(hist), 12, "MS", "auto")
    np.testing.assert_allclose(res.choice["mae"], 0.0, atol=1e-6)
    for i in range(4):
        got = res.forecast[res.forecast["unique_id"] == f"p{i}"]["yhat"].to_numpy()
        np.testing.assert_allclose(got, pattern * (i + 1), atol=1e-6)


def test_event_uplift_is_re_applied_to_the_baseline() -> None:
    # flat demand 100 with a +50 % event every October: the de-promoted baseline is 100, and the future
    # October gets 100 · 1.5 = 150 from the statistical members (every candidate sees the uplift)
    months = pd.date_range("2022-01-01", periods=36, freq="MS")
    y = np.where(months.month == 10, 150.0, 100.0)
    hist = pd.DataFrame({"unique_id": "a", "ds": months, "y": y})
    future = pd.date_range("2025-01-01", periods=12, freq="MS")
    all_months = months.append(future)
    uplift = pd.DataFrame({"unique_id": "a", "ds": all_months, "uplift": np.where(all_months.month == 10, 0.5, 0.0)})
    base = base_models.base_forecasts(hist, 12, "MS", uplift=uplift, use_lightgbm=False)
    for model in ("ETS", "Theta", "SeasonalNaive", "TSB"):
        np.testing.assert_allclose(base[model], np.where(future.month == 10, 150.0, 100.0), rtol=1e-6, err_msg=model)


# ---------------------------------------------------------------------------- conformal intervals
def test_conformal_bounds_by_hand() -> None:
    # 40 scaled errors at step 1: −19.5 … 19.5 in steps of 1 (linear quantiles, position p·39):
    #   lower 10 %: position 3.9 → −16.5 + 0.9 = −15.6; 4 of 40 errors lie below it (p_low = 0.10), so the
    #   upper bound is the 1 − (0.20 − 0.10) = 90 % quantile: position 35.1 → 15.5 + 0.1 = 15.6.
    # One step only: its factor is 1. Scale s = 2 → ŷ = 100 ± 31.2; step 4 lies past the table: × √(4/1).
    z = np.arange(40) - 19.5
    res = pd.DataFrame({"unique_id": [f"u{i}" for i in range(40)], "step": 1, "y": z, "yhat": 0.0})
    scale = pd.Series(1.0, index=res["unique_id"]).to_dict() | {"x": 2.0}
    frame = pd.DataFrame({"unique_id": ["x", "x"], "ds": pd.date_range("2025-01-01", periods=2, freq="MS"),
                          "step": [1, 4], "yhat": [100.0, 100.0]})
    out = conformal.conformal_bounds(frame, res, pd.Series(scale), pd.Series(dtype=object), (80,))
    assert out["yhat_lo_80"].tolist() == pytest.approx([100 - 31.2, 100 - 31.2 * 2])
    assert out["yhat_hi_80"].tolist() == pytest.approx([100 + 31.2, 100 + 31.2 * 2])


def test_conformal_upper_bound_takes_the_miss_budget_the_zeros_leave() -> None:
    # discrete demand: 20 errors of exactly 0 and 20 of 1 … 20. The 10 % quantile is 0 and no error lies
    # below it (p_low = 0), so the upper bound is the 1 − 0.20 = 80 % quantile, not the 90 % one:
    # sorted position 0.8·39 = 31.2 → 12 + 0.2 = 12.2 (the 90 % quantile would be 16.1).
    z = np.concatenate([np.zeros(20), np.arange(1, 21)])
    res = pd.DataFrame({"unique_id": [f"u{i}" for i in range(40)], "step": 1, "y": z, "yhat": 0.0})
    scale = pd.Series(1.0, index=[*res["unique_id"], "x"])
    frame = pd.DataFrame({"unique_id": ["x"], "ds": [pd.Timestamp("2025-01-01")], "step": [1], "yhat": [10.0]})
    out = conformal.conformal_bounds(frame, res, scale, pd.Series(dtype=object), (80,))
    assert out["yhat_lo_80"].iloc[0] == pytest.approx(10.0)
    assert out["yhat_hi_80"].iloc[0] == pytest.approx(22.2)
    assert (z <= 12.2).mean() == pytest.approx(0.80)  # the calibration errors are covered at 80 %


def test_a_coverage_shortfall_raises_the_target_by_itself() -> None:
    # cross-fitted 93.3 % at 95 %: aim at 95 + 1.7 = 96.7 %; 60 % at 80 %: 80 + 20 = 100, capped halfway
    # to 100 % = 90 %; a level met (or not measured) keeps its nominal value
    assert conformal.corrected_targets({80: 0.60, 95: 0.933}) == {80: 90.0, 95: pytest.approx(96.7)}
    assert conformal.corrected_targets({80: 0.85, 95: None}) == {80: 80.0, 95: 95.0}
    # the higher target moves the bound of the hand-worked case above: 40 errors −19.5 … 19.5, target 90 %
    # → lower 5 % quantile at position 1.95 → −17.55; p_low = 2/40 = 0.05 → upper 95 % at 37.05 → 17.55
    z = np.arange(40) - 19.5
    res = pd.DataFrame({"unique_id": [f"u{i}" for i in range(40)], "step": 1, "y": z, "yhat": 0.0})
    scale = pd.Series(1.0, index=[*res["unique_id"], "x"])
    frame = pd.DataFrame({"unique_id": ["x"], "ds": [pd.Timestamp("2025-01-01")], "step": [1], "yhat": [100.0]})
    out = conformal.conformal_bounds(frame, res, scale, pd.Series(dtype=object), (80,), {80: 90.0})
    assert out["yhat_lo_80"].iloc[0] == pytest.approx(100 - 17.55)
    assert out["yhat_hi_80"].iloc[0] == pytest.approx(100 + 17.55)


def test_step_factors_widen_with_the_horizon() -> None:
    # 30 errors at step 1 with |z| = 1 and 30 at step 2 with |z| = 3: mean |z| = 2 → factors 0.5 and 1.5
    res = pd.DataFrame({"step": [1] * 30 + [2] * 30, "z": [1.0, -1.0] * 15 + [3.0, -3.0] * 15})
    assert conformal._step_factors(res).tolist() == pytest.approx([0.5, 1.5])


@pytest.mark.slow
def test_interval_coverage_is_near_nominal_on_noise() -> None:
    # 80 series of a constant level with normal noise: the cross-fitted coverage of the conformal intervals
    # must be within 7 points of 80 % and 95 % (sampling error of ≈ 960 checks: about ±2.5 points)
    rng = np.random.default_rng(11)
    hist = pd.concat([_series(f"n{i}", rng.normal(100.0, 10.0, 36).clip(0)) for i in range(80)])
    res = fc.forecast_details(fc.prepare_history(hist), 6, "MS", "auto")
    assert res.coverage[80] == pytest.approx(0.80, abs=0.07)
    assert res.coverage[95] == pytest.approx(0.95, abs=0.07)


# ---------------------------------------------------------------------------- hierarchy
PRODUCTS = pd.DataFrame({"sku": ["a", "b", "c"], "family": ["F", "F", "G"], "category": ["C", "C", "C"]})


def test_reconciled_levels_are_coherent(panel: pd.DataFrame) -> None:
    products = pd.DataFrame({"sku": sorted(panel["unique_id"].unique())})
    products["family"] = ["F1", "F1", "F2", "F2", "F3", "F3", "F3"]
    products["category"] = ["C1", "C1", "C1", "C1", "C2", "C2", "C2"]
    hist = fc.prepare_history(panel[["unique_id", "ds", "y"]])
    parts = []
    for level in fc.LEVELS:
        agg = fc.aggregate(hist, products, level)
        parts.append(fc.forecast(agg, 6).assign(level=level))
    base = pd.concat(parts, ignore_index=True)
    for method in fc.RECONCILE_METHODS:
        rec = fc.reconcile(base, products, method)
        assert rec["yhat"].ge(0).all()
        fam = fc.aggregate(rec, products, "family")
        # the family forecast is exactly the sum of its SKUs
        for f, grp in products.groupby("family"):
            sums = rec[rec["unique_id"].isin(grp["sku"])].groupby("ds")["yhat"].sum().to_numpy()
            assert np.array_equal(fam[fam["unique_id"] == f]["yhat"].to_numpy(), sums)
    # MinT moves the SKUs toward the aggregate forecasts: OLS ≠ bottom-up here
    assert not np.allclose(fc.reconcile(base, products, "ols")["yhat"], fc.reconcile(base, products, "bottom_up")["yhat"])


def test_reconcile_ols_by_hand() -> None:
    # S = [[1,1],[1,1],[1,0],[0,1]] (total, family F, a, b) with ŷ = (40, 40, 10, 20):
    # SᵀS = [[3,2],[2,3]], Sᵀŷ = (90, 100) → b̃ = (3·90 − 2·100, 3·100 − 2·90) / 5 = (14, 24); total 38
    p = pd.DataFrame({"sku": ["a", "b"], "family": ["F", "F"], "category": ["F", "F"]})
    base = pd.DataFrame({"level": ["sku", "sku", "family", "total"], "unique_id": ["a", "b", "F", "Total"],
                         "ds": pd.Timestamp("2025-01-01"), "yhat": [10.0, 20.0, 40.0, 40.0]})
    # the category level is absent: it counts as the sum of its SKUs (30), a fifth row (1, 1) with ŷ = 30
    # SᵀS = [[4,3],[3,4]], Sᵀŷ = (120, 130) → b̃ = ((4·120 − 3·130), (4·130 − 3·120)) / 7 = (90/7, 160/7)
    rec = fc.reconcile(base, p, "ols")
    assert rec["yhat"].tolist() == pytest.approx([90 / 7, 160 / 7])


def test_spread_override_in_proportion() -> None:
    f = pd.DataFrame({"unique_id": ["a", "b", "c", "a"], "ds": pd.to_datetime(["2025-01-01"] * 3 + ["2025-02-01"]),
                      "yhat": [30.0, 10.0, 5.0, 7.0]})
    # family F (a + b = 40) set to 60: a = 30·60/40 = 45, b = 15; c and February untouched
    out = fc.spread_override(f, PRODUCTS, "family", "F", "2025-01-01", value=60.0)
    assert out["yhat"].tolist() == [45.0, 15.0, 5.0, 7.0]
    # total −20 %: every SKU of the period × 0.8
    out = fc.spread_override(f, PRODUCTS, "total", "Total", "2025-01-01", pct=-20.0)
    assert out["yhat"].tolist() == pytest.approx([24.0, 8.0, 4.0, 7.0])
    # a zero forecast is split equally
    z = f.assign(yhat=[0.0, 0.0, 5.0, 7.0])
    assert fc.spread_override(z, PRODUCTS, "family", "F", "2025-01-01", value=9.0)["yhat"].tolist()[:2] == [4.5, 4.5]
    with pytest.raises(ValueError, match="exactly one of value"):
        fc.spread_override(f, PRODUCTS, "sku", "a", "2025-01-01", value=1.0, pct=2.0)
    with pytest.raises(ValueError, match="no family 'X'"):
        fc.spread_override(f, PRODUCTS, "family", "X", "2025-01-01", value=1.0)
    with pytest.raises(ValueError, match="negative"):
        fc.spread_override(f, PRODUCTS, "sku", "a", "2025-01-01", pct=-150.0)


# ---------------------------------------------------------------------------- Prophet housekeeping
def test_prophet_temporary_folder_is_removed() -> None:
    import cmdstanpy

    from sop_core.planning.forecast.prophet_engine import private_stan_tmpdir, prophet_forecast

    before = set(glob.glob(str(Path(tempfile.gettempdir()) / "sop-prophet-*")))
    original = cmdstanpy._TMPDIR
    with private_stan_tmpdir() as folder:
        assert folder.is_dir() and cmdstanpy._TMPDIR == str(folder)
    assert not folder.exists() and cmdstanpy._TMPDIR == original
    out = prophet_forecast(_series("a", 50 + 10 * np.sin(np.arange(30))), 3, intervals=False)
    assert len(out) == 3 and (out["yhat"] >= 0).all()
    assert set(glob.glob(str(Path(tempfile.gettempdir()) / "sop-prophet-*"))) == before


@pytest.mark.slow
def test_prophet_clips_at_zero() -> None:
    from sop_core.planning.forecast.prophet_engine import prophet_forecast

    falling = _series("down", np.linspace(100, 5, 24))  # the linear trend goes below zero within a year
    out = prophet_forecast(falling, 12)
    assert out["yhat"].min() == 0.0 and (out["yhat_lo_95"] >= 0).all()


# ---------------------------------------------------------------------------- command line
def test_cli_forecast_arguments() -> None:
    from sop_core.cli import forecast_commands as cli_forecast

    parser = argparse.ArgumentParser()
    cli_forecast.register(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["forecast", "--engine", "auto", "--horizon", "18", "--workers", "2", "--cycle", "2026-11"])
    assert (args.engine, args.horizon, args.workers, args.cycle, args.reconcile) == ("auto", 18, 2, "2026-11", "bottom_up")
    assert args.func.__wrapped__ is cli_forecast.cmd_forecast  # wrapped: a refusal names the acting user
    assert args.acting_user is None  # the operating-system user acts
    assert parser.parse_args(["forecast", "--as", "dana"]).acting_user == "dana"
    with pytest.raises(SystemExit):
        parser.parse_args(["forecast", "--engine", "crystal-ball"])
