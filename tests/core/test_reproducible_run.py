"""A stored forecast run of the automatic engine can be repeated: same input → identical rows and hash."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.engine import session_scope

#: Every service write checks its user: the demo users exist in the test's databases.
pytestmark = pytest.mark.usefixtures("demo_users")


def _seed(engine: Engine) -> None:
    """Six SKUs in two families, 36 months with a seasonal pattern, promotions and an event calendar."""
    rng = np.random.default_rng(2)
    skus = {"A1": "FA", "A2": "FA", "A3": "FA", "B1": "FB", "B2": "FB", "B3": "FB"}
    products = pd.DataFrame([{"sku": s, "name": f"Product {s}", "family": f, "category": "CAT", "unit_price": 10.0,
                              "unit_cost": 6.0} for s, f in skus.items()])
    periods = pd.date_range("2023-11-01", "2026-10-01", freq="MS")
    rows = []
    for k, sku in enumerate(skus):
        for p in periods:
            promo = int(p.month == 5)
            mean = (20 + 10 * k) * (1 + 0.3 * np.sin(2 * np.pi * p.month / 12)) * (1.4 if promo else 1.0)
            rows.append({"sku": sku, "period": p.date(), "quantity": float(rng.poisson(mean)),
                         "net_price": 8.0 if promo else 10.0, "promo": promo})
    events = pd.DataFrame([{"name": f"May promotion {y}", "start": dt.date(y, 5, 3), "end": dt.date(y, 5, 20),
                            "scope": "FA", "uplift_pct": 40.0} for y in (2024, 2025, 2026, 2027)])
    with session_scope(engine) as s:
        repo.upsert_frame(s, "product", products)
        repo.upsert_frame(s, "sales_history", pd.DataFrame(rows))
        repo.upsert_frame(s, "event", events)
        s.add(m.PlanCycle(month=dt.date(2026, 11, 1), status="demand_review", status_at=dt.datetime(2026, 11, 2)))


def test_auto_run_is_stored_and_repeatable(sqlite_engine: Engine) -> None:
    from sop_core.services import forecasting

    _seed(sqlite_engine)
    first = forecasting.run_forecast(sqlite_engine, cycle_id=1, horizon=12, engine_name="auto", user="dana")
    second = forecasting.run_forecast(sqlite_engine, cycle_id=1, horizon=12, engine_name="auto", user="dana")
    a, b = forecasting.run_info(sqlite_engine, first), forecasting.run_info(sqlite_engine, second)
    assert a["engine"] == "auto" and a["data_hash"] == b["data_hash"] and len(a["data_hash"]) == 64
    # the hash covers prices, promotions and events as well: it differs from the sales-only hash
    with session_scope(sqlite_engine) as s:
        sales = repo.read_frame(s, m.SalesHistory)[["sku", "period", "quantity"]]
        rows = repo.read_frame(s, m.Forecast)
    assert a["data_hash"] != forecasting.data_hash(sales)
    assert {"statsforecast", "mlforecast", "lightgbm", "pandas", "numpy", "sop_core"} <= set(a["versions"])
    assert a["params"]["events"] == 4 * 3  # (SKU, month) uplift rows: 4 May events × the 3 SKUs of family FA
    assert a["params"]["windows"] == 3 and a["params"]["bt_h"] == 6
    bt = a["backtest"]
    assert set(bt["by_series"]) == {"A1", "A2", "A3", "B1", "B2", "B3"}
    assert all(v["n_points"] == 18 and v["mae"] >= 0 for v in bt["by_series"].values())  # 3 windows × 6
    assert set(bt["coverage"]) == {"80", "95"} and all(0 <= v <= 1 for v in bt["coverage"].values())
    assert bt["cutoffs"] == ["2025-04-01", "2025-10-01", "2026-04-01"]
    assert a["backtest"] == b["backtest"] and a["params"] == b["params"]
    one = rows[rows["run_id"] == first].drop(columns=["id", "run_id"]).reset_index(drop=True)
    two = rows[rows["run_id"] == second].drop(columns=["id", "run_id"]).reset_index(drop=True)
    assert len(one) == 6 * 12
    pd.testing.assert_frame_equal(one, two)
    # the chosen model of each SKU is stored on its rows and in the backtest summary
    chosen = one.drop_duplicates("sku").set_index("sku")["model"].to_dict()
    assert chosen == {k: v["model"] for k, v in bt["by_series"].items()}


def test_reconciled_run_adds_up(sqlite_engine: Engine) -> None:
    from sop_core.services import forecasting

    _seed(sqlite_engine)
    run_id = forecasting.run_forecast(sqlite_engine, cycle_id=1, horizon=6, reconciliation="wls_struct")
    info = forecasting.run_info(sqlite_engine, run_id)
    assert info["params"]["reconciliation"] == "wls_struct"
    with session_scope(sqlite_engine) as s:
        rows = repo.read_frame(s, m.Forecast, m.Forecast.run_id == run_id)
    assert len(rows) == 36 and (rows["yhat"] >= 0).all()
