"""Forecast engine: known answers, demand classification, the output contract, backtest, hierarchy, service."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, select

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.engine import session_scope
from sop_core.errors import NotAllowed
from sop_core.planning import forecast as fc

#: Every service write checks its user: the demo users exist in the test's databases.
pytestmark = pytest.mark.usefixtures("demo_users")

MONTHS = pd.date_range("2023-01-01", periods=36, freq="MS")
COLUMNS = ["unique_id", "ds", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95", "model"]


def _series(uid: str, y: np.ndarray | list[float], start: str = "2023-01-01") -> pd.DataFrame:
    y = np.asarray(y, dtype=float)
    return pd.DataFrame({"unique_id": uid, "ds": pd.date_range(start, periods=len(y), freq="MS"), "y": y})


# ---------------------------------------------------------------------------- known answers
def test_constant_series_forecasts_its_level_exactly() -> None:
    # any sensible model reproduces a constant: ŷ = 50 for every month, with a zero-width band
    out = fc.forecast(_series("flat", np.full(24, 50.0)), horizon=6)
    np.testing.assert_allclose(out["yhat"], 50.0, atol=1e-6)
    np.testing.assert_allclose(out["yhat_hi_95"] - out["yhat_lo_95"], 0.0, atol=1e-6)


def test_linear_trend_is_continued() -> None:
    # y_t = 10 + 2t, t = 0..19 (under two seasons: the non-seasonal Mean(ETS,Theta)). Holt's linear method
    # (ETS(A,A,N)) fits a straight line without error: ŷ_{T+h} = ℓ_T + h·b_T = 48 + 2h (FPP3 §8.2), i.e.
    # 50, 52, …, 60 for t = 20..25; Theta (SES with drift) is within 0.1 % of it
    out = fc.forecast(_series("trend", 10 + 2 * np.arange(20.0)), horizon=6)
    assert set(out["model"]) == {"Mean(ETS,Theta)"}
    np.testing.assert_allclose(out["yhat"], [50, 52, 54, 56, 58, 60], rtol=1e-3)
    assert out["ds"].iloc[0] == pd.Timestamp("2024-09-01")


def test_combination_is_the_mean_of_its_members() -> None:
    # 36 noisy seasonal months: the forecast is the plain mean of ETS(A,N,A), Theta and seasonal naive
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, DynamicOptimizedTheta, SeasonalNaive

    rng = np.random.default_rng(5)
    hist = _series("s", 100 + 30 * np.sin(2 * np.pi * np.arange(36) / 12) + rng.normal(0, 4, 36))
    out = fc.forecast(hist, horizon=4)
    members = StatsForecast(
        models=[AutoETS(season_length=12, model="ANA"), DynamicOptimizedTheta(season_length=12), SeasonalNaive(12)],
        freq="MS",
    ).forecast(df=hist, h=4)
    expected = members[["AutoETS", "DynamicOptimizedTheta", "SeasonalNaive"]].mean(axis=1)
    np.testing.assert_allclose(out["yhat"], expected, rtol=1e-9)


def test_croston_sba_on_a_regular_intermittent_series() -> None:
    # demand of 4 units every third month: smoothed size ẑ = 4 and interval p̂ = 3 stay exact, and the
    # Syntetos–Boylan forecast is (1 − α/2)·ẑ/p̂ = 0.95 · 4 / 3 = 1.26667 per month (α = 0.1;
    # Syntetos & Boylan 2005, Int. J. Forecasting 21, 303–314)
    hist = _series("regular", np.tile([0.0, 0.0, 4.0], 12))
    out = fc.StatisticalForecaster(holdout=0).forecast(hist, 3)
    assert set(out["model"]) == {"CrostonSBA"}
    np.testing.assert_allclose(out["yhat"], 0.95 * 4 / 3, rtol=1e-9)


# ---------------------------------------------------------------------------- classification
def test_syntetos_boylan_classification_on_hand_made_series() -> None:
    hist = pd.concat([
        # demand every month, sizes close together: ADI = 1, CV² small
        _series("smooth", [10, 12, 11, 9, 10, 13]),
        # sizes 1, 20, 2, 30, 1, 25: mean 13.1667, population variance 321.833 − 173.361 = 148.472,
        # CV² = 148.472 / 173.361 = 0.8564 ≥ 0.49, ADI = 1
        _series("erratic", [1, 20, 2, 30, 1, 25]),
        # leading zero ignored: 7 periods, 3 demands → ADI = 2.333; equal sizes → CV² = 0
        _series("intermittent", [0, 5, 0, 0, 5, 0, 5, 0]),
        # 8 periods, 3 demands → ADI = 2.667; sizes 3, 30, 1 → CV² = 174.89 / 128.44 = 1.3616
        _series("lumpy", [3, 0, 0, 30, 0, 0, 1, 0]),
        _series("none", [0, 0, 0, 0]),
    ])
    got = fc.classify_demand(hist).set_index("unique_id")
    assert got.loc["smooth", "pattern"] == "smooth" and got.loc["smooth", "adi"] == 1.0
    assert got.loc["erratic", "pattern"] == "erratic"
    assert got.loc["erratic", "cv2"] == pytest.approx(0.85643, abs=1e-4)
    assert got.loc["intermittent", "pattern"] == "intermittent"
    assert got.loc["intermittent", "adi"] == pytest.approx(7 / 3)
    assert got.loc["intermittent", "cv2"] == 0.0
    assert got.loc["lumpy", "pattern"] == "lumpy"
    assert got.loc["lumpy", "adi"] == pytest.approx(8 / 3)
    assert got.loc["lumpy", "cv2"] == pytest.approx(1.3616, abs=1e-3)
    assert got.loc["none", "pattern"] == "intermittent" and np.isinf(got.loc["none", "adi"])


def test_classification_cut_offs() -> None:
    assert fc.ADI_CUTOFF == 1.32 and fc.CV2_CUTOFF == 0.49
    # a value exactly at a cut-off belongs to the upper side (ADI ≥ 1.32, CV² ≥ 0.49)
    from sop_core.planning.forecast.classify import pattern_of

    assert pattern_of(1.32, 0.0) == "intermittent"
    assert pattern_of(1.0, 0.49) == "erratic"
    assert pattern_of(1.3199, 0.4899) == "smooth"


# ---------------------------------------------------------------------------- contract
def _panel() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    t = np.arange(36)
    seasonal = 100 + 30 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 5, 36)
    sparse = np.where(rng.random(36) < 0.3, rng.integers(1, 10, 36), 0)
    erratic = rng.choice([2.0, 40.0, 5.0, 80.0], size=36)
    ended = _series("ended", rng.integers(20, 30, 30))  # no rows for the last 6 months: zero demand
    late = _series("late", rng.integers(5, 15, 10), start="2025-03-01")  # launched 10 months ago
    return pd.concat([
        _series("seasonal", seasonal), _series("sparse", sparse), _series("erratic", erratic), ended, late,
        _series("tiny", [3, 4, 5], start="2025-10-01"), _series("dead", np.zeros(12), start="2025-01-01"),
    ], ignore_index=True)


@pytest.fixture(scope="module")
def panel_forecast() -> pd.DataFrame:
    return fc.forecast(_panel(), horizon=18)


def test_contract_columns_rows_and_dates(panel_forecast: pd.DataFrame) -> None:
    out = panel_forecast
    assert list(out.columns) == COLUMNS
    assert out.groupby("unique_id").size().to_dict() == dict.fromkeys(
        ["dead", "ended", "erratic", "late", "seasonal", "sparse", "tiny"], 18
    )
    # every series starts the month after the last month of the whole history (2025-12)
    first = out.groupby("unique_id")["ds"].min()
    assert (first == pd.Timestamp("2026-01-01")).all()
    assert out.groupby("unique_id")["ds"].max().eq(pd.Timestamp("2027-06-01")).all()


def test_contract_intervals_nested_and_non_negative(panel_forecast: pd.DataFrame) -> None:
    out = panel_forecast
    cols = ["yhat_lo_95", "yhat_lo_80", "yhat", "yhat_hi_80", "yhat_hi_95"]
    values = out[cols].to_numpy()
    assert not np.isnan(values).any()
    assert (values >= 0).all()
    assert (np.diff(values, axis=1) >= -1e-9).all()


def test_models_follow_the_demand_pattern(panel_forecast: pd.DataFrame) -> None:
    model = panel_forecast.drop_duplicates("unique_id").set_index("unique_id")["model"]
    assert model["dead"] == "Zero"
    assert model["sparse"] in {"CrostonSBA", "TSB"}
    assert model["seasonal"] == "Mean(ETS,Theta,SeasonalNaive)"
    assert model["erratic"] in {"Mean(ETS,Theta,SeasonalNaive)", "CrostonSBA"}
    assert model["tiny"] == "HistoricAverage"
    assert model["late"] == "Mean(ETS,Theta)"  # 10 months: the non-seasonal set
    assert panel_forecast.loc[panel_forecast["unique_id"] == "dead", "yhat"].eq(0).all()


def test_deterministic(panel_forecast: pd.DataFrame) -> None:
    again = fc.forecast(_panel(), horizon=18)
    pd.testing.assert_frame_equal(panel_forecast, again)


def test_fit_then_predict_equals_forecast() -> None:
    full = fc.prepare_history(_panel())
    model = fc.StatisticalForecaster().fit(full)
    assert set(model.selected_) == set(full["unique_id"])
    pd.testing.assert_frame_equal(model.predict(6), fc.StatisticalForecaster().forecast(full, 6))


def test_column_overrides_keep_the_callers_names() -> None:
    hist = _series("a", np.full(12, 7.0)).rename(columns={"unique_id": "sku", "ds": "period", "y": "qty"})
    out = fc.forecast(hist, 2, id_col="sku", time_col="period", target_col="qty")
    assert list(out.columns[:2]) == ["sku", "period"]
    np.testing.assert_allclose(out["yhat"], 7.0, atol=1e-6)


@pytest.mark.parametrize(
    "engine,message",
    [("crystal-ball", "available: statistical, auto, lightgbm, prophet"), ("magic", "unknown forecast engine 'magic'")],
)
def test_unknown_engine_is_a_clear_error(engine: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fc.forecast(_series("a", [1.0, 2.0]), 3, engine=engine)


def test_invalid_history_names_series_and_period() -> None:
    bad = _series("a", [5.0, -4.0, 3.0])
    with pytest.raises(ValueError, match=r"series 'a' at 2023-02-01: y = -4 is negative"):
        fc.forecast(bad, 3)
    dup = pd.concat([_series("a", [1.0]), _series("a", [2.0])])
    with pytest.raises(ValueError, match="more than one row for 2023-01-01"):
        fc.forecast(dup, 3)
    with pytest.raises(ValueError, match="missing column"):
        fc.forecast(_series("a", [1.0]).drop(columns="y"), 3)
    with pytest.raises(ValueError, match="horizon"):
        fc.forecast(_series("a", [1.0]), 0)


# ---------------------------------------------------------------------------- backtest and hierarchy
def test_backtest_contract() -> None:
    # the trend series has 22 months (2023-09 … 2025-06), so both training windows are under two seasons
    hist = pd.concat([_series("flat", np.full(30, 20.0)), _series("trend", 5 + np.arange(22.0), start="2023-09-01")])
    bt = fc.backtest(hist, horizon=6, windows=2)
    assert list(bt.columns) == ["unique_id", "cutoff", "ds", "y", "yhat", "model"]
    # windows end with the history (2025-06): cutoffs 2024-12 and 2024-06, 6 months each
    assert sorted(bt["cutoff"].unique()) == [pd.Timestamp("2024-06-01"), pd.Timestamp("2024-12-01")]
    assert bt.groupby(["unique_id", "cutoff"]).size().eq(6).all()
    flat = bt[bt["unique_id"] == "flat"]
    np.testing.assert_allclose(flat["y"], 20.0)
    np.testing.assert_allclose(flat["yhat"], 20.0, atol=1e-6)
    trend = bt[bt["unique_id"] == "trend"]
    np.testing.assert_allclose(trend["y"], 5 + np.arange(22.0)[np.r_[10:16, 16:22]])
    np.testing.assert_allclose(trend["yhat"], trend["y"], rtol=2e-3)  # Holt exact, Theta's drift within 0.3 %


def test_aggregate_is_coherent(panel_forecast: pd.DataFrame) -> None:
    products = pd.DataFrame({
        "sku": ["seasonal", "sparse", "erratic", "ended", "late", "tiny", "dead"],
        "family": ["F1", "F1", "F2", "F2", "F2", "F3", "F3"],
        "category": ["C1", "C1", "C1", "C1", "C1", "C2", "C2"],
    })
    fam = fc.aggregate(panel_forecast, products, "family")
    assert sorted(fam["unique_id"].unique()) == ["F1", "F2", "F3"]
    assert set(fam["model"]) == {"bottom-up"}
    f1 = fam[fam["unique_id"] == "F1"].set_index("ds")["yhat"]
    parts = panel_forecast[panel_forecast["unique_id"].isin(["seasonal", "sparse"])].groupby("ds")["yhat"].sum()
    pd.testing.assert_series_equal(f1, parts, check_names=False)
    total = fc.aggregate(panel_forecast, products, "total")
    assert set(total["unique_id"]) == {"Total"}
    assert total["yhat"].sum() == pytest.approx(panel_forecast["yhat"].sum())
    with pytest.raises(ValueError, match="not in products"):
        fc.aggregate(panel_forecast, products.iloc[1:], "category")


# ---------------------------------------------------------------------------- the demand service
def _seed_small_company(engine: Engine) -> None:
    """Four SKUs in two families, 30 months (2024-05 … 2026-10), quantities known in closed form."""
    skus = {"A1": ("FA", 100.0), "A2": ("FA", 40.0), "B1": ("FB", 10.0), "B2": ("FB", 0.0)}
    products = pd.DataFrame([
        {"sku": s, "name": f"Product {s}", "family": f, "category": "CAT", "unit_price": 10.0, "unit_cost": 6.0}
        for s, (f, _) in skus.items()
    ])
    periods = pd.date_range("2024-05-01", "2026-10-01", freq="MS")
    rows = []
    for sku, (_fam, base) in skus.items():
        for i, p in enumerate(periods):
            qty = base + i if sku != "B2" else (6.0 if i % 4 == 0 else 0.0)  # B2 sells 6 every 4th month
            rows.append({"sku": sku, "period": p.date(), "quantity": qty, "net_price": 10.0, "promo": 0})
    with session_scope(engine) as s:
        repo.upsert_frame(s, "product", products)
        repo.upsert_frame(s, "sales_history", pd.DataFrame(rows))
        s.add(m.PlanCycle(month=dt.date(2026, 11, 1), status="demand_review", status_at=dt.datetime(2026, 11, 2)))


def test_run_forecast_stores_a_reproducible_run(sqlite_engine: Engine) -> None:
    from sop_core.services import demand, forecasting

    _seed_small_company(sqlite_engine)
    first = forecasting.run_forecast(sqlite_engine, cycle_id=1, horizon=12, user="dana")
    second = forecasting.run_forecast(sqlite_engine, cycle_id=1, horizon=12, user="dana")
    assert second == first + 1
    with session_scope(sqlite_engine) as s:
        runs = {r.id: r for r in s.query(m.ForecastRun).all()}
        rows = repo.read_frame(s, m.Forecast)
    a, b = runs[first], runs[second]
    assert (a.engine, a.horizon, a.freq, a.created_by, a.cycle_id) == ("statistical", 12, "MS", "dana", 1)
    assert a.data_hash == b.data_hash and len(a.data_hash) == 64
    assert set(a.versions) == {"statsforecast", "pandas", "numpy", "sop_core"}
    assert a.params["first_forecast"] == "2026-11-01" and a.params["last_actual"] == "2026-10-01"
    assert a.backtest["cutoff"] == "2026-04-01" and a.backtest["horizon"] == 6
    assert 0 <= a.backtest["wmape"] < 0.2  # straight lines and a regular pattern forecast well
    assert a.backtest == b.backtest
    one = rows[rows["run_id"] == first].drop(columns=["id", "run_id"]).reset_index(drop=True)
    two = rows[rows["run_id"] == second].drop(columns=["id", "run_id"]).reset_index(drop=True)
    assert len(one) == 4 * 12
    pd.testing.assert_frame_equal(one, two)
    assert demand.latest_run(sqlite_engine, 1)["id"] == second


def test_demand_views_sum_the_stored_rows(sqlite_engine: Engine) -> None:
    from sop_core.services import demand, forecasting

    _seed_small_company(sqlite_engine)
    run_id = forecasting.run_forecast(sqlite_engine, cycle_id=1, horizon=12)
    assert demand.items(sqlite_engine, "family") == ["FA", "FB"]
    assert demand.items(sqlite_engine, "total") == ["Total"]
    view = demand.demand_view(sqlite_engine, "family", "FA", run_id)
    assert list(view.columns) == ["period", "actual", "forecast", "lo_80", "hi_80", "lo_95", "hi_95"]
    # FA = A1 + A2 = (100 + i) + (40 + i) = 140 + 2i for i = 0..29 (2024-05 … 2026-10)
    past = view.dropna(subset=["actual"])
    np.testing.assert_allclose(past["actual"], 140 + 2 * np.arange(30))
    with session_scope(sqlite_engine) as s:
        rows = repo.read_frame(s, m.Forecast, m.Forecast.run_id == run_id)
    fa = rows[rows["sku"].isin(["A1", "A2"])].groupby("period")["yhat"].sum()
    np.testing.assert_allclose(view.dropna(subset=["forecast"])["forecast"], fa.to_numpy())
    summary = demand.item_summary(sqlite_engine, "family", "FA", run_id)
    # last 12 actual months: i = 18..29 → Σ(140 + 2i) = 12·140 + 2·Σ_{18}^{29} i = 1680 + 2·282 = 2244
    assert summary["actual_last_12m"] == pytest.approx(2244.0)
    assert summary["forecast_12m"] == pytest.approx(fa.sum())
    assert summary["change_12m"] == pytest.approx(fa.sum() / 2244.0 - 1)
    assert summary["run_id"] == run_id and summary["engine"] == "statistical"
    table = demand.family_summary(sqlite_engine, run_id).set_index("family")
    # same 3 months last year (2025-11 … 2026-01, i = 18..20): Σ(140 + 2i) = 420 + 2·57 = 534
    assert table.loc["FA", "last_year_3m"] == pytest.approx(534.0)
    assert table.loc["FA", "forecast_12m"] == pytest.approx(fa.sum())
    with pytest.raises(ValueError, match="no family 'XX'"):
        demand.demand_view(sqlite_engine, "family", "XX", run_id)


def test_run_forecast_errors_are_one_line(sqlite_engine: Engine) -> None:
    from sop_core.services import forecasting

    with pytest.raises(ValueError, match="sales_history is empty"):
        forecasting.run_forecast(sqlite_engine)
    with pytest.raises(ValueError, match="unknown forecast engine"):
        forecasting.run_forecast(sqlite_engine, engine_name="crystal-ball")


def test_only_demand_planners_and_admins_run_the_forecast(sqlite_engine: Engine) -> None:
    from sop_core.services import demand, forecasting

    _seed_small_company(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        s.add(m.AppUser(username="vic", display_name="Vic Viewer", role="viewer"))
    with pytest.raises(NotAllowed, match="'vic' has the role viewer: only a demand planner or an admin may run"):
        forecasting.run_forecast(sqlite_engine, cycle_id=1, user="vic")
    with pytest.raises(NotAllowed, match="'ghost' is not a user of S&OP Studio"):  # a name without an account
        forecasting.run_forecast(sqlite_engine, cycle_id=1, user="ghost")
    with session_scope(sqlite_engine) as s:
        s.get(m.AppUser, s.scalar(select(m.AppUser.id).where(m.AppUser.username == "dana"))).disabled = True
    with pytest.raises(NotAllowed, match="'dana' is disabled"):
        forecasting.run_forecast(sqlite_engine, cycle_id=1, user="dana")
    assert demand.latest_run(sqlite_engine) is None


def test_data_hash_is_the_same_on_every_database(engine: Engine) -> None:
    from sop_core.services import demand, forecasting

    _seed_small_company(engine)
    run_id = forecasting.run_forecast(engine, cycle_id=1, horizon=3)
    with session_scope(engine) as s:
        history = repo.read_frame(s, m.SalesHistory)[["sku", "period", "quantity"]]
    run = demand.latest_run(engine, 1)
    assert run["id"] == run_id and run["data_hash"] == forecasting.data_hash(history)
    # sha256 of the canonical text "A1,2024-05-01,100.0\n…": pinned, so SQLite and PostgreSQL must agree
    assert run["data_hash"] == "79f6385ebab79aeeaefb30a350dd923cc97c7c9219a42e4126549efb7cef78b4"
    assert run["data_hash"] == forecasting.data_hash(history.sample(frac=1.0, random_state=1))  # row order is irrelevant


def test_aggregate_intervals_independent_and_summed() -> None:
    # two SKUs, ŷ = 10 and 20, 80 % bands 10 ± 3 and 20 ± 4 → family ŷ = 30
    frame = pd.DataFrame({
        "unique_id": ["a", "b"], "ds": pd.Timestamp("2026-11-01"), "yhat": [10.0, 20.0],
        "yhat_lo_80": [7.0, 16.0], "yhat_hi_80": [13.0, 24.0],
    })
    products = pd.DataFrame({"sku": ["a", "b"], "family": ["F", "F"], "category": ["C", "C"]})
    ind = fc.aggregate(frame, products, "family").iloc[0]
    # independent errors: half-width sqrt(3² + 4²) = 5 → 25 … 35
    assert (ind["yhat"], ind["yhat_lo_80"], ind["yhat_hi_80"]) == pytest.approx((30.0, 25.0, 35.0))
    # perfectly correlated errors: bounds add → 23 … 37
    tot = fc.aggregate(frame, products, "total", intervals="sum").iloc[0]
    assert (tot["unique_id"], tot["yhat_lo_80"], tot["yhat_hi_80"]) == ("Total", 23.0, 37.0)


def test_missing_bounds_fall_back_to_the_naive_band_of_their_series_only() -> None:
    # series a: first differences 2, -1, 4, -2, 1, -2, 4 → σ = √(40.857143 / 6) = 2.609506 (by hand)
    a = [10.0, 12.0, 11.0, 15.0, 13.0, 14.0, 12.0, 16.0]
    hist = pd.DataFrame({"unique_id": ["a"] * 8 + ["b"] * 8, "ds": list(pd.date_range("2024-01-01", periods=8, freq="MS")) * 2,
                         "y": a + [5.0] * 8})
    model = fc.StatisticalForecaster().fit(hist)
    nan = float("nan")
    frame = pd.DataFrame({"unique_id": ["a", "a", "b", "b"], "ds": pd.to_datetime(["2024-09-01", "2024-10-01"] * 2),
                          "yhat": [20.0, 20.0, 5.0, 5.0], "yhat_lo_80": [nan, nan, 4.0, 4.0],
                          "yhat_hi_80": [nan, nan, 6.0, 6.0], "yhat_lo_95": [nan, nan, 3.0, 3.0],
                          "yhat_hi_95": [nan, nan, 7.0, 7.0], "model": "x"})
    out = model._repair(frame, [80, 95])
    # ŷ ± z·σ·√k: z80 = 1.281552, z95 = 1.959964; k = 1, 2 months ahead
    assert out["yhat_lo_80"].iloc[:2].tolist() == pytest.approx([16.655783, 15.270563], abs=1e-5)
    assert out["yhat_hi_95"].iloc[:2].tolist() == pytest.approx([25.114539, 27.233050], abs=1e-5)
    assert out.iloc[2:][["yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]].to_numpy().tolist() == [[4, 6, 3, 7]] * 2
