"""Known events reach the default (statistical) engine: past uplifts are taken out of the history, future
uplifts multiply the forecast of their month (sop_core.planning.forecast.events, services.forecasting)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, delete

from sop_core.db import demand_repo, forecast_repo, master_repo, repo, stock_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.planning import forecast as fc
from sop_core.planning.forecast.events import uplift_factor
from sop_core.services import demand, forecasting

#: Every service write checks its user: the demo users exist in the test's databases.
pytestmark = pytest.mark.usefixtures("demo_users")

BOUNDS = ["yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]


def _uplift(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": [r[0] for r in rows], "ds": pd.to_datetime([r[1] for r in rows]),
                         "uplift": [r[2] for r in rows]})


def test_statistical_engine_takes_past_events_out_and_puts_future_ones_in_by_hand() -> None:
    # a sells 100 a month for two years (2023-01 … 2024-12), except March 2024, a "+50 %" campaign: 150.
    # The event-adjusted baseline is 100 throughout (150 / 1.5), which every model forecasts exactly; a
    # "+30 %" event planned for November 2025 makes that month 100 · 1.3 = 130, bounds alike (zero width).
    # b (40 a month, no event) is untouched. Without the events the March bump would come back in March 2025
    # (the seasonal naive member) and November would stay at the baseline.
    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    a = np.full(24, 100.0)
    a[14] = 150.0  # 2024-03
    hist = pd.concat([pd.DataFrame({"unique_id": "a", "ds": months, "y": a}),
                      pd.DataFrame({"unique_id": "b", "ds": months, "y": 40.0})], ignore_index=True)
    up = _uplift([("a", "2024-03-01", 0.5), ("a", "2025-11-01", 0.3)])
    out = fc.forecast(hist, horizon=12, uplift=up).set_index(["unique_id", "ds"])
    a_out = out.loc["a"]
    expected = np.where(a_out.index == pd.Timestamp("2025-11-01"), 130.0, 100.0)
    for col in BOUNDS:
        np.testing.assert_allclose(a_out[col], expected, atol=1e-6, err_msg=col)
    np.testing.assert_allclose(out.loc["b", "yhat"], 40.0, atol=1e-6)
    # the backtest sees the same rule: the holdout of the last 6 months (no event in them) is exact
    bt = fc.backtest(hist, horizon=6, uplift=up)
    np.testing.assert_allclose(bt["yhat"], bt["y"], atol=1e-6)


def test_event_uplift_reaches_the_skus_of_its_scope() -> None:
    products = pd.DataFrame({"sku": ["A1", "A2", "B1"], "family": ["FA", "FA", "FB"]})
    events = pd.DataFrame({
        "start": pd.to_datetime(["2026-11-27", "2026-12-01", "2026-12-10", "2027-03-05"]),
        "scope": ["*", "FA", "A1", "B1"], "uplift_pct": [30.0, 20.0, 25.0, -95.0]})
    up = forecasting.event_uplift(events, products, ["A1", "A2", "B1"]).set_index(["unique_id", "ds"])["uplift"]
    nov, dec, mar = pd.Timestamp("2026-11-01"), pd.Timestamp("2026-12-01"), pd.Timestamp("2027-03-01")
    # "*" reaches every SKU in the month the event starts; a family its SKUs; two events of A1 in December:
    # the larger uplift counts
    assert up.to_dict() == pytest.approx({("A1", nov): 0.3, ("A2", nov): 0.3, ("B1", nov): 0.3,
                                          ("A1", dec): 0.25, ("A2", dec): 0.2, ("B1", mar): -0.95})
    # an uplift of −95 % counts as −90 % (factor 0.1): the division stays finite
    frame = pd.DataFrame({"unique_id": ["B1", "B1"], "ds": [mar, nov]})
    np.testing.assert_allclose(uplift_factor(frame, up.reset_index()), [0.1, 1.3])


# ---------------------------------------------------------------------------- the forecast run
PERIODS = pd.date_range("2024-05-01", "2026-10-01", freq="MS")  # 30 months
FLYER = pd.Timestamp("2025-06-01")


def _company(engine: Engine) -> None:
    """A1, A2 (family FA) and B1 (FB) with linear demand, a past "+50 %" retailer flyer on B1 in June 2025 (its
    sales that month are 1.5 × the line), Black Friday 2026 ("*", +30 %) and an FA campaign in December 2026
    (+20 %)."""
    base = {"A1": ("FA", 100.0), "A2": ("FA", 40.0), "B1": ("FB", 10.0)}
    rows = [{"sku": sku, "period": p.date(), "quantity": (b + i) * (1.5 if sku == "B1" and p == FLYER else 1.0),
             "net_price": 10.0, "promo": 0}
            for sku, (_f, b) in base.items() for i, p in enumerate(PERIODS)]
    events = [("Retailer flyer B1", dt.date(2025, 6, 5), dt.date(2025, 6, 18), "B1", 50.0),
              ("Black Friday 2026", dt.date(2026, 11, 27), dt.date(2026, 11, 30), "*", 30.0),
              ("FA winter campaign", dt.date(2026, 12, 1), dt.date(2026, 12, 24), "FA", 20.0)]
    with session_scope(engine) as s:
        repo.upsert_frame(s, "product", pd.DataFrame([
            {"sku": k, "name": f"Product {k}", "family": f, "category": "CAT", "unit_price": 10.0, "unit_cost": 6.0}
            for k, (f, _b) in base.items()]))
        repo.upsert_frame(s, "sales_history", pd.DataFrame(rows))
        s.add_all([m.Event(name=n, start=a, end=b, scope=sc, uplift_pct=p) for n, a, b, sc, p in events])
        s.add(m.PlanCycle(month=dt.date(2026, 11, 1), status="demand_review", status_at=dt.datetime(2026, 11, 2)))


def _rows(engine: Engine, run_id: int) -> pd.DataFrame:
    with session_scope(engine) as s:
        return forecast_repo.forecast_rows(s, run_id).set_index(["sku", "period"])


def test_a_run_raises_the_month_of_a_future_event_by_its_uplift(sqlite_engine: Engine) -> None:
    _company(sqlite_engine)
    first = forecasting.run_forecast(sqlite_engine, cycle_id=1, horizon=6)
    with_events = _rows(sqlite_engine, first)
    assert not demand.forecast_freshness(sqlite_engine, first).stale
    with session_scope(sqlite_engine) as s:
        s.execute(delete(m.Event).where(m.Event.start >= dt.date(2026, 11, 1)))
    # the first run no longer matches the event calendar: the Demand review page says so
    fresh = demand.forecast_freshness(sqlite_engine, first)
    assert fresh.events_changed and fresh.message().endswith(
        "; the event calendar has changed since: run the forecast again to plan on the new data.")
    second = forecasting.run_forecast(sqlite_engine, cycle_id=1, horizon=6)
    without = _rows(sqlite_engine, second)
    assert not demand.forecast_freshness(sqlite_engine, second).stale
    ratio = with_events["yhat"] / without["yhat"]
    nov, dec = pd.Timestamp("2026-11-01"), pd.Timestamp("2026-12-01")
    for (sku, period), r in ratio.items():
        expected = 1.3 if period == nov else 1.2 if (period == dec and sku != "B1") else 1.0
        assert r == pytest.approx(expected, rel=1e-9), (sku, period)
    np.testing.assert_allclose(with_events.loc[("A1", nov), BOUNDS], 1.3 * without.loc[("A1", nov), BOUNDS].to_numpy())
    # the run records the events it used (count of SKU-months with an uplift, and the calendar itself)
    run = demand.latest_run(sqlite_engine, 1)
    assert run["params"]["events"] == 1  # only the past flyer is left
    assert run["params"]["event_calendar"] == [{"start": "2025-06-05", "scope": "B1", "uplift_pct": 50.0}]


def test_a_past_event_does_not_distort_the_baseline(sqlite_engine: Engine) -> None:
    # B1's June 2025 flyer (+50 %) taken out of the history: the forecast equals the forecast of the clean
    # line (the history without the flyer's extra sales and without events)
    _company(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        history = stock_repo.sales(s)
        products = master_repo.products(s)
        events = demand_repo.events(s)
    long = forecasting.long_history(history[history["sku"] == "B1"])
    up = forecasting.event_uplift(events[events["start"] < pd.Timestamp("2026-11-01")], products, ["B1"])
    adjusted = fc.forecast(long, 6, uplift=up)
    clean = long.assign(y=np.where(long["ds"] == FLYER, long["y"] / 1.5, long["y"]))
    np.testing.assert_allclose(adjusted["yhat"], fc.forecast(clean, 6)["yhat"], rtol=1e-9)
    assert not np.allclose(fc.forecast(long, 6)["yhat"], adjusted["yhat"], rtol=1e-3)


def test_demo_black_friday_raises_november_by_its_uplift(demo_engine: Engine) -> None:
    # The demo's current cycle (2026-11) was forecast by the default engine: Black Friday 2026 ("*", +30 %)
    # lifts every SKU's November 2026 forecast to 1.3 × the forecast without that event; the other months
    # keep theirs (checked on the MOWERS family, whose stored rows are the ones computed here)
    with session_scope(demo_engine) as s:
        history = stock_repo.sales(s)
        products = master_repo.products(s)
        events = demand_repo.events(s)
        run = forecast_repo.latest_run(s, 1)
        stored = forecast_repo.forecast_rows(s, run.id)
    skus = products.loc[products["family"] == "MOWERS", "sku"].tolist()
    long = forecasting.long_history(history[history["sku"].isin(skus)])
    bf = events["name"] == "Black Friday & Cyber Monday 2026"
    assert events.loc[bf, ["scope", "uplift_pct"]].values.tolist() == [["*", 30.0]]
    with_bf = fc.forecast(long, 18, uplift=forecasting.event_uplift(events, products, skus))
    without = fc.forecast(long, 18, uplift=forecasting.event_uplift(events[~bf], products, skus))
    mine = stored[stored["sku"].isin(skus)].rename(columns={"sku": "unique_id", "period": "ds"})
    merged = with_bf.merge(mine, on=["unique_id", "ds"], suffixes=("", "_stored"))
    assert len(merged) == 18 * len(skus)
    np.testing.assert_allclose(merged["yhat"], merged["yhat_stored"], rtol=1e-9)
    nov = with_bf["ds"] == pd.Timestamp("2026-11-01")
    np.testing.assert_allclose(with_bf.loc[nov, "yhat"], 1.3 * without.loc[nov, "yhat"], rtol=1e-9)
    np.testing.assert_allclose(with_bf.loc[~nov, "yhat"], without.loc[~nov, "yhat"], rtol=1e-9)
    assert with_bf.loc[nov, "yhat"].sum() > 1.29 * without.loc[nov, "yhat"].sum() > 0
