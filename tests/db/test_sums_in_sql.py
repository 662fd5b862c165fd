"""Sums taken in the database agree with the pandas computations they replaced, on the demo company.

The demand views, the consensus sums, the changes against the last cycle and the data health read sums and counts
from SQL instead of whole tables; each is compared here with the previous path — the same tables read whole and

#: Every service write checks its user: the demo users exist in the test's databases.
pytestmark = pytest.mark.usefixtures("demo_users")
summed by pandas — on every level and on items of each. Sums agree to 1e-9 (relative): they add the same numbers in
another order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from sop_core.db import forecast_repo, master_repo, override_repo, repo, stock_repo
from sop_core.db import models as m
from sop_core.db.engine import make_engine, session_scope
from sop_core.planning import forecast as fc
from sop_core.services import cycle as cycle_service
from sop_core.services import data as data_service
from sop_core.services import demand, demand_accuracy, overrides
from sop_core.services.forecasting import FREQ, long_history

RTOL = 1e-9


@pytest.fixture
def db(shared_demo_url: str) -> Iterator[Engine]:
    eng = make_engine(shared_demo_url)
    yield eng
    eng.dispose()


def _items(db: Engine) -> list[tuple[str, str]]:
    """The total, both categories, two families and two SKUs of the demo."""
    cats, fams, skus = (demand.items(db, level) for level in ("category", "family", "sku"))
    return [("total", fc.TOTAL_ITEM), *(("category", c) for c in cats), ("family", fams[0]), ("family", fams[-1]),
            ("sku", skus[0]), ("sku", skus[len(skus) // 2])]


def _pandas_view(db: Engine, level: str, item: str, run_id: int) -> pd.DataFrame:
    """The previous demand_view: the whole history gap-filled and the run's rows aggregated by pandas."""
    with session_scope(db) as s:
        history, products = stock_repo.sales(s), master_repo.products(s)
        rows = forecast_repo.forecast_rows(s, run_id)
    hist = fc.aggregate(fc.prepare_history(long_history(history), FREQ), products, level)
    fcst = fc.aggregate(rows.drop(columns=["model"]).rename(columns={"sku": "unique_id", "period": "ds"}), products,
                        level)
    hist, fcst = hist[hist["unique_id"] == item], fcst[fcst["unique_id"] == item]
    past = pd.DataFrame({"period": hist["ds"].to_numpy(), "actual": hist["y"].to_numpy(dtype=float)})
    future = pd.DataFrame({"period": fcst["ds"].to_numpy(), "forecast": fcst["yhat"].to_numpy(dtype=float),
                           **{f"{side}_{lv}": fcst[f"yhat_{side}_{lv}"].to_numpy(dtype=float)
                              for lv in (80, 95) for side in ("lo", "hi")}})
    out = pd.concat([past, future], ignore_index=True).reindex(columns=demand.VIEW_COLUMNS)
    out["period"] = pd.to_datetime(out["period"])
    return out.sort_values("period", kind="stable").reset_index(drop=True)


def test_demand_view_equals_the_pandas_aggregation(db: Engine) -> None:
    cycle = cycle_service.list_cycles(db)[0]
    run = demand.latest_run(db, cycle.id)
    for level, item in _items(db):
        got = demand.demand_view(db, level, item, run["id"])
        pd.testing.assert_frame_equal(got, _pandas_view(db, level, item, run["id"]), rtol=RTOL, obj=f"{level} {item}")


def test_consensus_sums_equal_the_sums_of_the_consensus_per_sku(demo_url: str) -> None:
    # overrides at every level in the open cycle (the demo's own are SKU overrides of earlier cycles): a total pct,
    # a category pct, a family value and a SKU of that family, some in the same month; the lower level wins
    db = make_engine(demo_url)
    cycle = cycle_service.list_cycles(db)[0]
    with session_scope(db) as s:
        products = master_repo.products(s)
    family = products["family"].iloc[0]
    sku = products.loc[products["family"] == family, "sku"].iloc[-1]
    nov, dec, jan = dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2027, 1, 1)
    rows = [("total", "*", nov, None, 5.0), ("category", products["category"].iloc[-1], dec, None, -20.0),
            ("family", family, nov, 900.0, None), ("family", family, jan, None, 50.0), ("sku", sku, nov, 40.0, None)]
    with session_scope(db) as s:
        for level, item, period, value, pct in rows:
            override_repo.add_override(s, cycle_id=cycle.id, level=level, item=item, period=period, value=value,
                                       pct=pct, reason="promo", comment="", author="ann")
    detail = demand.consensus_detail(db, cycle.id)
    assert (detail["qty"] != detail["statistical"]).sum() > len(products)  # the total's pct moves every SKU
    for level in fc.LEVELS:
        keyed = detail.assign(item=demand.key_frame(detail, products, level))
        want = keyed.groupby(["item", "period"], as_index=False)[["statistical", "qty"]].sum()
        got = demand.consensus_sums(db, cycle.id, level)
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want[demand.SUM_COLUMNS], rtol=RTOL,
                                      check_dtype=False, obj=level)
        item = want["item"].iloc[-1]
        one = demand.consensus_sums(db, cycle.id, level, item, first_period=dec, last_period=jan, monthly=False)
        span = keyed[(keyed["item"] == item) & keyed["period"].between(pd.Timestamp(dec), pd.Timestamp(jan))]
        assert one["qty"].tolist() == pytest.approx([span["qty"].sum()], rel=RTOL)
        assert one["statistical"].tolist() == pytest.approx([span["statistical"].sum()], rel=RTOL)
    # the lower level wins: the SKU keeps its own override, not its share of the family's value
    assert detail.set_index(["sku", "period"]).at[(sku, pd.Timestamp(nov)), "qty"] == 40.0
    db.dispose()


def test_item_summary_and_override_grid_equal_the_pandas_sums(db: Engine) -> None:
    cycle = cycle_service.list_cycles(db)[0]
    run = demand.latest_run(db, cycle.id)
    detail = demand.consensus_detail(db, cycle.id)
    with session_scope(db) as s:
        products, history = master_repo.products(s), stock_repo.sales(s)
        rows = forecast_repo.forecast_rows(s, run["id"])
    covered = history[history["sku"].isin(set(rows["sku"]))]
    for level, item in _items(db):
        mine = rows[demand.key_frame(rows, products, level) == item].groupby("period")["yhat"].sum().sort_index()
        months = mine.index[:12]
        sold = covered[demand.key_frame(covered, products, level) == item]
        last_year = sold[(sold["period"] >= months[0] - pd.DateOffset(months=12)) & (sold["period"] < months[0])]
        consensus = demand.item_sum(detail, products, level, item, ["statistical", "qty"])
        summary = demand.item_summary(db, level, item, run["id"], cycle.id)
        assert summary["forecast_12m"] == pytest.approx(float(mine.iloc[:12].sum()), rel=RTOL)
        assert summary["actual_last_12m"] == pytest.approx(float(last_year["quantity"].sum()), rel=RTOL)
        assert summary["consensus_12m"] == pytest.approx(
            float(consensus[consensus["period"].isin(months)]["qty"].sum()), rel=RTOL)
        grid = overrides.override_grid(db, cycle.id, level, item)
        np.testing.assert_allclose(grid["statistical"], consensus["statistical"], rtol=RTOL)
        np.testing.assert_allclose(grid["consensus"], consensus["qty"], rtol=RTOL)


def test_changes_vs_last_cycle_equal_the_pandas_sums(db: Engine) -> None:
    cur, prev = cycle_service.list_cycles(db)[:2]
    with session_scope(db) as s:
        products = master_repo.products(s)
    this, last = demand.consensus_detail(db, cur.id), demand.consensus_detail(db, prev.id)
    months = sorted(set(this["period"]) & set(last["period"]))
    for by in ("family", "sku", "category"):
        both = [f[f["period"].isin(months)] for f in (last, this)]
        sums = [f.groupby(demand.key_frame(f, products, by))["qty"].sum() for f in both]
        want = pd.concat(sums, axis=1, keys=["last_cycle", "this_cycle"]).fillna(0.0)
        got = demand_accuracy.changes_vs_last_cycle(db, cur.id, by, top=1000).set_index("item")
        assert got.attrs == {"previous": prev.label, "months": len(months)}
        pd.testing.assert_frame_equal(got[["last_cycle", "this_cycle"]].sort_index(), want.sort_index(), rtol=RTOL,
                                      check_names=False)


def _pandas_health(db: Engine) -> pd.DataFrame:
    """The previous data_health: every input table read whole, counted by pandas."""
    with session_scope(db) as s:
        frames = {t: repo.read_table(s, t) for t in m.INPUT_TABLES}
    skus = set(frames["product"]["sku"])
    sourced = set(frames["routing"]["sku"]) | set(frames["supplier_item"]["sku"])
    history = frames["sales_history"]
    months = history["period"].dt.year * 12 + history["period"].dt.month
    per_sku = months.groupby(history["sku"]).agg(["min", "max", "nunique"])
    counts = {
        "product": (len(skus - set(history["sku"])), "SKU", "without sales history"),
        "sales_history": (int(((per_sku["max"] - per_sku["min"] + 1) > per_sku["nunique"]).sum()), "SKU",
                          "with missing months inside their history"),
        "inventory": (len(skus - set(frames["inventory"]["sku"])), "SKU", "without an inventory row"),
        "supplier_item": (len(skus - sourced), "SKU", "with neither a supplier nor a routing"),
        "routing": (len(skus - sourced), "SKU", "with neither a supplier nor a routing"),
        "supplier": (len(set(frames["supplier"]["supplier"]) - set(frames["supplier_item"]["supplier"])), "supplier",
                     "without items"),
        "resource": (len(set(frames["resource"]["resource"]) - set(frames["routing"]["resource"])), "resource",
                     "without routing"),
    }
    gaps = {t: (f"{n} {word}" if n == 1 else f"{n} {word}s") + f" {what}" if n else ""
            for t, (n, word, what) in counts.items()}
    rows = []
    for table, frame in frames.items():
        col = data_service.DATE_COLUMNS.get(table)
        dates = frame[col].dropna() if col and not frame.empty else pd.Series(dtype="datetime64[ns]")
        rows.append({"table": table, "rows": len(frame),
                     "first_period": dates.min().date() if len(dates) else None,
                     "last_period": dates.max().date() if len(dates) else None,
                     "skus_covered": frame["sku"].nunique() if "sku" in frame.columns else None,
                     "skus_total": len(skus) if "sku" in frame.columns else None,
                     "gaps": gaps.get(table, "") if len(frame) else "no rows"})
    out = pd.DataFrame(rows, columns=data_service.HEALTH_COLUMNS)
    out[["skus_covered", "skus_total"]] = out[["skus_covered", "skus_total"]].astype("Int64")
    return out


def test_data_health_and_summary_equal_the_pandas_counts(db: Engine) -> None:
    pd.testing.assert_frame_equal(data_service.data_health(db), _pandas_health(db))
    with session_scope(db) as s:
        history = repo.read_table(s, "sales_history")
    summary = data_service.data_summary(db)
    assert summary.months_of_history == history["period"].dt.to_period("M").nunique() == 48
    assert (summary.first_actual, summary.last_actual) == (history["period"].min().date(),
                                                           history["period"].max().date())
    assert isinstance(summary.last_actual, dt.date) and summary.empty_tables == ()
