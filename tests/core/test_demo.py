"""The demo company: deterministic, complete, consistent, and shaped like a real mid-size manufacturer."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.engine import session_scope
from sop_core.io import demo, demo_company


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return demo.generate(seed=7)


def _ts(col: pd.Series) -> pd.Series:
    return pd.to_datetime(col)


# --------------------------------------------------------------------------- shape and determinism
def test_same_seed_gives_identical_frames_and_another_seed_differs(frames: dict[str, pd.DataFrame]) -> None:
    again = demo.generate(seed=7)
    for table in m.INPUT_TABLES:
        pd.testing.assert_frame_equal(frames[table], again[table], check_exact=True)
    other = demo.generate(seed=8)
    assert not frames["sales_history"].equals(other["sales_history"])
    assert not frames["receipt"].equals(other["receipt"])


def test_every_input_table_has_exactly_the_template_columns(frames: dict[str, pd.DataFrame]) -> None:
    assert list(frames) == list(m.INPUT_TABLES)
    for table, frame in frames.items():
        assert list(frame.columns) == repo.input_columns(table), table
        assert len(frame) > 0, table


@pytest.mark.parametrize("table", list(m.NATURAL_KEYS))
def test_natural_keys_are_unique(frames: dict[str, pd.DataFrame], table: str) -> None:
    keys = list(m.NATURAL_KEYS[table])
    dup = frames[table].duplicated(keys)
    assert not dup.any(), frames[table][dup].head()


def test_referential_integrity(frames: dict[str, pd.DataFrame]) -> None:
    skus = set(frames["product"]["sku"])
    for table in ("sales_history", "inventory", "open_order", "routing", "supplier_item", "receipt"):
        missing = set(frames[table]["sku"]) - skus
        assert not missing, (table, sorted(missing)[:5])
    suppliers = set(frames["supplier"]["supplier"])
    assert set(frames["supplier_item"]["supplier"]) <= suppliers
    assert set(frames["receipt"]["supplier"]) <= suppliers
    purchase = frames["open_order"][frames["open_order"]["source"] == "purchase"]
    assert set(purchase["supplier"]) <= suppliers
    assert set(frames["routing"]["resource"]) <= set(frames["resource"]["resource"])
    # receipts are only for supplier items that exist
    items = set(zip(frames["supplier_item"]["supplier"], frames["supplier_item"]["sku"], strict=True))
    assert set(zip(frames["receipt"]["supplier"], frames["receipt"]["sku"], strict=True)) <= items
    assert set(frames["budget"]["family"]) == set(frames["product"]["family"])
    scopes = set(frames["event"]["scope"])
    assert scopes <= skus | set(frames["product"]["family"]) | {"*"}


def test_no_negative_or_fractional_quantities(frames: dict[str, pd.DataFrame]) -> None:
    for table, col in (
        ("sales_history", "quantity"),
        ("inventory", "on_hand"),
        ("open_order", "quantity"),
        ("receipt", "qty_ordered"),
        ("receipt", "qty_received"),
        ("budget", "volume"),
    ):
        values = frames[table][col].to_numpy(float)
        assert (values >= 0).all(), (table, col)
        assert np.array_equal(values, np.round(values)), (table, col)
    assert (frames["open_order"]["quantity"] > 0).all()


# --------------------------------------------------------------------------- master data
def test_catalogue_size_families_categories(frames: dict[str, pd.DataFrame]) -> None:
    product = frames["product"]
    assert len(product) >= 160
    assert product["family"].nunique() >= 6
    assert product["category"].nunique() == 2
    # every family belongs to exactly one category
    assert (product.groupby("family")["category"].nunique() == 1).all()
    assert product["name"].is_unique


def test_prices_margins_and_planning_parameters_are_plausible(frames: dict[str, pd.DataFrame]) -> None:
    p = frames["product"]
    assert (p["unit_cost"] > 0).all()
    assert (p["unit_price"] > p["unit_cost"]).all()
    margin = 1 - p["unit_cost"] / p["unit_price"]
    assert margin.between(0.20, 0.60).all(), margin.describe()
    assert p["holding_rate"].between(0.2, 0.3).all()
    assert (p["order_cost"] > 0).all()
    assert p["service_target"].between(0.90, 0.99).all()
    # important items get the higher service targets
    hist = frames["sales_history"]
    value = (hist["quantity"] * hist["net_price"]).groupby(hist["sku"]).sum()
    ranked = p.set_index("sku")["service_target"].reindex(value.sort_values(ascending=False).index)
    top, bottom = ranked.iloc[:20].mean(), ranked.iloc[-40:].mean()
    assert top >= bottom + 0.04, (top, bottom)


def test_summary_counts(frames: dict[str, pd.DataFrame]) -> None:
    s = demo.summary(frames)
    assert s["skus"] == len(frames["product"]) >= 160
    assert s["families"] == 8
    assert s["categories"] == 2
    assert s["months"] == 48
    assert s["intermittent_share"] >= 0.20
    assert 50e6 <= s["annual_revenue"] <= 150e6
    assert s["suppliers"] == len(frames["supplier"]) and s["resources"] == len(frames["resource"])
    hist = frames["sales_history"]
    last12 = pd.to_datetime(hist["period"]) >= pd.Timestamp("2025-11-01")
    assert s["annual_revenue"] == pytest.approx((hist["quantity"] * hist["net_price"])[last12].sum(), abs=0.01)


# --------------------------------------------------------------------------- sales history
def test_history_spans_48_months_ending_at_the_last_actual(frames: dict[str, pd.DataFrame]) -> None:
    periods = _ts(frames["sales_history"]["period"])
    assert periods.min() == pd.Timestamp(demo_company.FIRST_ACTUAL)
    assert periods.max() == pd.Timestamp(demo_company.LAST_ACTUAL)
    assert periods.nunique() == 48
    assert (periods.dt.day == 1).all()
    assert demo_company.CURRENT_CYCLE == dt.date(2026, 11, 1)


def test_launches_have_no_rows_before_launch_and_ramp_up(frames: dict[str, pd.DataFrame]) -> None:
    hist = frames["sales_history"]
    first = _ts(hist["period"]).groupby(hist["sku"]).min()
    launched = first[first > pd.Timestamp(demo_company.FIRST_ACTUAL)].index
    assert len(launched) >= 10
    # every launched SKU has a contiguous run of monthly rows from its launch (no gaps)
    months = _ts(hist["period"]).dt.to_period("M")
    span = months.groupby(hist["sku"]).agg(lambda s: (s.max() - s.min()).n + 1)
    assert (span == hist.groupby("sku").size()).all()
    # ramp-up: a fast launched SKU's first month sells well below its fourth to sixth months
    ratios = []
    for sku in launched:
        q = hist.loc[hist["sku"] == sku, "quantity"].to_numpy()
        if len(q) >= 6 and q[3:6].mean() >= 50:
            ratios.append(q[0] / q[3:6].mean())
    assert len(ratios) >= 8
    assert np.median(ratios) < 0.6, ratios


def test_phase_outs_decline_and_end(frames: dict[str, pd.DataFrame]) -> None:
    hist = frames["sales_history"]
    last = _ts(hist["period"]).groupby(hist["sku"]).max()
    ended = last[last < pd.Timestamp(demo_company.LAST_ACTUAL)].index
    assert len(ended) >= 5
    declined = 0
    for sku in ended:
        q = hist.loc[hist["sku"] == sku, "quantity"].to_numpy()
        if len(q) >= 15 and q[-3:].mean() < 0.5 * q[-15:-9].mean():
            declined += 1
    assert declined >= 0.8 * len(ended)
    # ended SKUs hold no inventory row
    assert not set(ended) & set(frames["inventory"]["sku"])


def test_promotions_lower_the_net_price_and_lift_demand(frames: dict[str, pd.DataFrame]) -> None:
    hist = frames["sales_history"].merge(frames["product"][["sku", "unit_price"]], on="sku")
    promo = hist[hist["promo"] == 1]
    base = hist[hist["promo"] == 0]
    assert 0.03 <= len(promo) / len(hist) <= 0.35
    disc = 1 - promo["net_price"] / promo["unit_price"]
    assert disc.between(0.05, 0.30).all(), disc.describe()
    base_disc = 1 - base["net_price"] / base["unit_price"]
    assert base_disc.between(0.0, 0.031).all(), base_disc.describe()
    # uplift: a family's campaign month sells more than the same month of the year without the campaign
    # is confounded with seasonality; compare with each SKU's same calendar month in non-promo years instead
    hist["month"] = _ts(hist["period"]).dt.month
    ref = base.assign(month=_ts(base["period"]).dt.month).groupby(["sku", "month"])["quantity"].mean()
    pairs = promo.assign(month=_ts(promo["period"]).dt.month).join(ref.rename("ref"), on=["sku", "month"])
    pairs = pairs.dropna(subset=["ref"])
    pairs = pairs[pairs["ref"] >= 30]
    assert len(pairs) >= 20
    ratio = pairs["quantity"] / pairs["ref"]
    assert ratio.median() >= 1.1 and pairs["quantity"].sum() >= 1.15 * pairs["ref"].sum(), ratio.describe()


def test_events_are_consistent_with_promo_flags(frames: dict[str, pd.DataFrame]) -> None:
    ev = frames["event"]
    start = _ts(ev["start"])
    assert (start.dt.date <= pd.Timestamp(demo_company.LAST_ACTUAL).date()).any()
    assert (start >= pd.Timestamp(demo_company.CURRENT_CYCLE)).sum() >= 8  # future campaigns to plan for
    assert (_ts(ev["end"]) >= start).all()
    assert ev["uplift_pct"].between(5, 100).all()
    names = " ".join(ev["name"])
    for campaign in ("Black Friday", "Christmas", "Spring Garden"):
        assert campaign in names
    hist = frames["sales_history"].merge(frames["product"][["sku", "family"]], on="sku")
    hist_month = _ts(hist["period"])
    past = ev[start <= pd.Timestamp(demo_company.LAST_ACTUAL) + pd.offsets.MonthEnd(0)]
    for _, e in past.iterrows():
        month = pd.Timestamp(e["start"]).to_period("M").to_timestamp()
        in_month = hist_month == month
        if e["scope"] == "*":
            scope = in_month
        elif e["scope"] in set(hist["family"]):
            scope = in_month & (hist["family"] == e["scope"])
        else:
            scope = in_month & (hist["sku"] == e["scope"])
        assert scope.any() and (hist.loc[scope, "promo"] == 1).all(), e["name"]
    # and every promo flag is explained by an event
    explained = np.zeros(len(hist), dtype=bool)
    for _, e in past.iterrows():
        month = pd.Timestamp(e["start"]).to_period("M").to_timestamp()
        hit = (hist_month == month) & (
            (e["scope"] == "*") | (hist["family"] == e["scope"]) | (hist["sku"] == e["scope"])
        )
        explained |= hit.to_numpy()
    assert not ((hist["promo"] == 1).to_numpy() & ~explained).any()


def test_seasonal_peaks_differ_by_family(frames: dict[str, pd.DataFrame]) -> None:
    hist = frames["sales_history"].merge(frames["product"][["sku", "family"]], on="sku")
    hist["month"] = _ts(hist["period"]).dt.month
    by = hist.groupby(["family", "month"])["quantity"].sum().unstack()
    peak = by.idxmax(axis=1)
    assert peak["COFFEE"] in (11, 12)
    assert peak["MOWERS"] in (4, 5, 6)
    assert peak["GRILLS"] in (5, 6, 7)
    assert peak.nunique() >= 3
    # strongly seasonal garden families: peak month ≥ 2.5 × the quietest month
    assert by.loc["MOWERS"].max() >= 2.5 * by.loc["MOWERS"].min()


def _adi_cv2(hist: pd.DataFrame) -> pd.DataFrame:
    """Syntetos–Boylan classification inputs per SKU: ADI and CV² of the non-zero demand sizes."""
    rows = {}
    for sku, q in hist.sort_values("period").groupby("sku")["quantity"]:
        values = q.to_numpy()
        nonzero = values[values > 0]
        adi = len(values) / len(nonzero) if len(nonzero) else np.inf
        cv2 = (nonzero.std() / nonzero.mean()) ** 2 if len(nonzero) > 1 else 0.0
        rows[sku] = (adi, cv2)
    return pd.DataFrame.from_dict(rows, orient="index", columns=["adi", "cv2"])


def test_at_least_a_fifth_of_skus_are_intermittent(frames: dict[str, pd.DataFrame]) -> None:
    hist = frames["sales_history"]
    sb = _adi_cv2(hist)
    intermittent = sb[sb["adi"] >= 1.32]
    share = len(intermittent) / len(frames["product"])
    assert share >= 0.20, share
    assert sorted(intermittent.index) == demo.intermittent_skus(hist)
    # lumpy demand among them too (ADI ≥ 1.32 and CV² ≥ 0.49)
    assert (intermittent["cv2"] >= 0.49).sum() >= 5
    # intermittent SKUs keep their zero months as rows
    zeros = hist[hist["sku"].isin(intermittent.index) & (hist["quantity"] == 0)]
    assert len(zeros) >= 20 * len(intermittent)
    # and the smooth ones are true fast movers: hundreds to thousands of units a month
    fast = hist[~hist["sku"].isin(intermittent.index)].groupby("sku")["quantity"].mean()
    assert fast.median() >= 100
    assert fast.max() >= 1000


def test_revenue_magnitude_of_a_mid_size_business(frames: dict[str, pd.DataFrame]) -> None:
    hist = frames["sales_history"]
    year = pd.to_datetime(hist["period"]).dt.year
    revenue = (hist["quantity"] * hist["net_price"]).groupby(year).sum()
    for y in (2023, 2024, 2025):
        assert 50e6 <= revenue[y] <= 150e6, (y, revenue[y])
    # the business grows modestly
    assert 0.97 <= revenue[2025] / revenue[2024] <= 1.20


# --------------------------------------------------------------------------- capacity
def _load(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Hours needed per resource (rows) and month (columns): Σ quantity × hours_per_unit."""
    hist = frames["sales_history"].merge(frames["routing"], on="sku")
    hist["hours"] = hist["quantity"] * hist["hours_per_unit"]
    return hist.pivot_table(index="resource", columns="period", values="hours", aggfunc="sum", fill_value=0.0)


def test_plants_resources_and_routings(frames: dict[str, pd.DataFrame]) -> None:
    res = frames["resource"]
    assert res["plant"].nunique() == 2
    assert len(res) >= 4
    assert (res["capacity_hours"] > 0).all()
    assert (res["overtime_hours"] > 0).all() and (res["overtime_hours"] < res["capacity_hours"]).all()
    assert (res["overtime_cost_per_hour"] > 20).all()
    routing = frames["routing"]
    per_sku = routing.groupby("sku").size()
    assert per_sku.between(1, 2).all()
    assert (routing["hours_per_unit"] > 0).all()
    made = set(routing["sku"])
    assert len(made) > len(frames["product"]) / 2  # most SKUs are made in house
    traded = set(frames["product"]["sku"]) - made
    assert traded and traded <= set(frames["supplier_item"]["sku"])  # traded SKUs are bought
    assert not made & set(frames["supplier_item"]["sku"])
    # every resource is used
    assert set(routing["resource"]) == set(res["resource"])


def test_capacity_binds_in_peak_months(frames: dict[str, pd.DataFrame]) -> None:
    load = _load(frames)
    cap = frames["resource"].set_index("resource")["capacity_hours"]
    util = load.div(cap.reindex(load.index), axis=0)
    last12 = util.iloc[:, -12:]
    avg = last12.mean(axis=1)
    assert avg.between(0.70, 0.85).all(), avg
    over = (util > 1.0).any(axis=1)
    assert over.sum() >= 2, util.max(axis=1)
    # the overload is a peak phenomenon, not the rule
    assert ((last12 > 1.0).mean(axis=1) <= 0.5).all()
    # overtime covers part but not all of the worst peak on at least one resource
    ot = frames["resource"].set_index("resource")["overtime_hours"]
    assert (load.max(axis=1) > (cap + ot).reindex(load.index)).any()


# --------------------------------------------------------------------------- suppliers and receipts
def test_suppliers_and_alternates(frames: dict[str, pd.DataFrame]) -> None:
    assert len(frames["supplier"]) >= 6
    items = frames["supplier_item"]
    assert items["lead_time_days"].between(7, 100).all()
    assert (items["lead_time_std_days"] >= 0).all()
    assert (items["moq"] > 0).all() and (items["unit_cost"] > 0).all()
    assert set(items["priority"]) == {1, 2}
    assert (items.groupby("sku")["priority"].apply(lambda p: (p == 1).sum()) == 1).all()
    alternates = items[items["priority"] == 2]
    assert alternates["sku"].nunique() >= 10
    both = alternates.merge(items[items["priority"] == 1], on="sku", suffixes=("_alt", "_pref"))
    assert (both["supplier_alt"] != both["supplier_pref"]).all()
    assert (both["unit_cost_alt"] != both["unit_cost_pref"]).all()
    assert (both["lead_time_days_alt"] != both["lead_time_days_pref"]).mean() >= 0.9


def test_receipt_history_has_reliable_and_poor_suppliers(frames: dict[str, pd.DataFrame]) -> None:
    r = frames["receipt"]
    assert len(r) >= 1000
    order = _ts(r["order_date"])
    assert order.min() >= pd.Timestamp("2024-11-01") and order.max() <= pd.Timestamp(demo_company.INVENTORY_AS_OF)
    items = frames["supplier_item"].set_index(["supplier", "sku"])["lead_time_days"]
    lead = (_ts(r["promised_date"]) - order).dt.days
    expected = items.reindex(pd.MultiIndex.from_frame(r[["supplier", "sku"]])).to_numpy()
    assert np.array_equal(lead.to_numpy(), expected)
    done = r[r["received_date"].notna()]
    on_time = (_ts(done["received_date"]) <= _ts(done["promised_date"])).groupby(done["supplier"]).mean()
    assert (on_time >= 0.92).sum() >= 2, on_time
    assert ((on_time >= 0.55) & (on_time <= 0.78)).sum() >= 1, on_time
    short = done["qty_received"] < done["qty_ordered"]
    assert 0.01 <= short.mean() <= 0.2
    assert (done["qty_received"] <= done["qty_ordered"]).all() and (done["qty_received"] > 0).all()
    open_ = r[r["received_date"].isna()]
    assert len(open_) >= 5 and (open_["qty_received"] == 0).all()
    # open lines are recent: within a long lead time plus the worst delay before the snapshot
    assert (_ts(open_["order_date"]) >= pd.Timestamp(demo_company.INVENTORY_AS_OF) - pd.Timedelta(days=140)).all()
    assert (_ts(open_["order_date"]) >= pd.Timestamp("2026-10-01")).any()
    assert (_ts(done["received_date"]) <= pd.Timestamp(demo_company.INVENTORY_AS_OF)).all()


# --------------------------------------------------------------------------- inventory, open orders, budget
def test_inventory_covers_half_to_two_and_a_half_months_mostly(frames: dict[str, pd.DataFrame]) -> None:
    inv = frames["inventory"]
    hist = frames["sales_history"]
    assert (_ts(inv["as_of"]) == pd.Timestamp(demo_company.INVENTORY_AS_OF)).all()
    active = set(hist.loc[_ts(hist["period"]) == pd.Timestamp(demo_company.LAST_ACTUAL), "sku"])
    assert set(inv["sku"]) == active
    recent = hist[_ts(hist["period"]) > pd.Timestamp("2026-07-01")].groupby("sku")["quantity"].mean()
    fast = recent[recent >= 50]
    cover = inv.set_index("sku")["on_hand"].reindex(fast.index) / fast
    assert cover.between(0.3, 3.5).mean() >= 0.7, cover.describe()
    assert (inv["on_hand"] == 0).sum() >= 2  # some stocked out
    assert (cover > 3.5).sum() >= 2  # some excess


def test_open_orders_are_due_in_the_next_three_months(frames: dict[str, pd.DataFrame]) -> None:
    oo = frames["open_order"]
    due = _ts(oo["due_period"])
    assert due.min() >= pd.Timestamp("2026-11-01") and due.max() <= pd.Timestamp("2027-01-01")
    assert (due.dt.day == 1).all()
    assert set(oo["source"]) == {"purchase", "production"}
    prod = oo[oo["source"] == "production"]
    assert (prod["supplier"] == "").all() and set(prod["sku"]) <= set(frames["routing"]["sku"])
    po = oo[oo["source"] == "purchase"]
    assert (po["supplier"] != "").all()
    # purchase orders are exactly the receipts still open
    open_r = frames["receipt"][frames["receipt"]["received_date"].isna()]
    assert po["quantity"].sum() == open_r["qty_ordered"].sum()


def test_budget_per_family_and_month_of_2026_and_2027(frames: dict[str, pd.DataFrame]) -> None:
    b = frames["budget"]
    families = frames["product"]["family"].nunique()
    assert len(b) == families * 24
    periods = _ts(b["period"])
    assert periods.min() == pd.Timestamp("2026-01-01") and periods.max() == pd.Timestamp("2027-12-01")
    assert (b["volume"] > 0).all() and (b["revenue"] > 0).all()
    # 2026 budget ≈ 2025 actuals × modest growth
    hist = frames["sales_history"].merge(frames["product"][["sku", "family"]], on="sku")
    y2025 = hist[_ts(hist["period"]).dt.year == 2025]
    actual = (y2025["quantity"] * y2025["net_price"]).groupby(y2025["family"]).sum()
    budget = b[periods.dt.year == 2026].groupby("family")["revenue"].sum()
    ratio = budget / actual
    assert ratio.between(1.0, 1.15).all(), ratio


def test_margin_budget_follows_last_years_gross_margin(frames: dict[str, pd.DataFrame]) -> None:
    b = frames["budget"].assign(period=lambda f: _ts(f["period"]))
    assert b["margin"].notna().all() and (b["margin"] > 0).all() and (b["margin"] < b["revenue"]).all()
    assert np.array_equal(b["margin"], np.round(b["margin"], -2))  # rounded to 100 EUR like the revenue
    # 2026 budget margin rate ≈ 2025's gross margin rate (Σ qty · (net price − unit cost) / Σ qty · net price),
    # a little higher: prices +2 % at the same unit cost
    hist = frames["sales_history"].merge(frames["product"][["sku", "family", "unit_cost"]], on="sku")
    y2025 = hist[_ts(hist["period"]).dt.year == 2025]
    revenue = (y2025["quantity"] * y2025["net_price"]).groupby(y2025["family"]).sum()
    gross = (y2025["quantity"] * (y2025["net_price"] - y2025["unit_cost"])).groupby(y2025["family"]).sum()
    b2026 = b[b["period"].dt.year == 2026].groupby("family")[["revenue", "margin"]].sum()
    lift = b2026["margin"] / b2026["revenue"] - gross / revenue
    assert lift.between(0.0, 0.025).all(), lift
    # kitchen accessories and garden parts earn the highest rates, kettles the lowest (their unit margins)
    rate = b2026["margin"] / b2026["revenue"]
    assert rate.idxmin() == "KETTLES" and set(rate.nlargest(2).index) == {"KITCHEN_ACC", "GARDEN_PARTS"}


def test_one_sku_drifts_above_its_demand_model_and_nothing_else_moves(
    frames: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "DRIFT_STEP", 0.0)
    undrifted = demo.generate(seed=7)
    hist = frames["sales_history"].assign(period=lambda f: _ts(f["period"])).set_index(["sku", "period"])
    base = undrifted["sales_history"].assign(period=lambda f: _ts(f["period"])).set_index(["sku", "period"])
    drifting = hist.index.get_level_values("sku") == demo.DRIFT_SKU
    # every other SKU-month is exactly as without the drift
    pd.testing.assert_frame_equal(hist[~drifting], base[~drifting])
    months = pd.date_range(demo.DRIFT_START, demo_company.LAST_ACTUAL, freq="MS")
    ratio = hist.loc[demo.DRIFT_SKU, "quantity"] / base.loc[demo.DRIFT_SKU, "quantity"]
    # +12 %, +24 %, +36 %, +48 %, +60 % from June to October 2026 (rounded to whole units), nothing before
    assert ratio[ratio.index < months[0]].eq(1.0).all()
    assert ratio[months].to_numpy() == pytest.approx([1.12, 1.24, 1.36, 1.48, 1.60], abs=0.002)
    for table in ("product", "supplier", "resource", "open_order", "supplier_item", "receipt", "routing", "event"):
        pd.testing.assert_frame_equal(frames[table], undrifted[table], check_exact=True)


# --------------------------------------------------------------------------- scale and the database
@pytest.mark.slow
def test_scale_multiplies_the_catalogue_and_stays_fast() -> None:
    import time

    t0 = time.perf_counter()
    big = demo.generate(seed=7, scale=10)
    elapsed = time.perf_counter() - t0
    assert elapsed < 20, elapsed
    assert len(big["product"]) == 10 * len(demo.generate(seed=7)["product"])
    assert big["product"]["sku"].is_unique and big["product"]["name"].is_unique
    s = demo.summary(big)
    assert s["intermittent_share"] >= 0.20
    load = _load(big)
    cap = big["resource"].set_index("resource")["capacity_hours"]
    assert (load.iloc[:, -12:].mean(axis=1) / cap.reindex(load.index)).between(0.70, 0.85).all()


def test_scale_one_is_fast() -> None:
    import time

    t0 = time.perf_counter()
    demo.generate(seed=11)
    assert time.perf_counter() - t0 < 2.0


def test_frames_satisfy_the_database_constraints(engine: Engine, frames: dict[str, pd.DataFrame]) -> None:
    with session_scope(engine) as s:
        for table in m.INPUT_TABLES:
            written = repo.upsert_frame(s, table, frames[table])
            assert written == len(frames[table]), table
    with session_scope(engine) as s:
        for table, model in m.INPUT_TABLES.items():
            assert repo.count_rows(s, model) == len(frames[table]), table
        back = repo.read_table(s, "receipt")
    assert back["received_date"].isna().sum() == frames["receipt"]["received_date"].isna().sum()
