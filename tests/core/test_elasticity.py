"""Own-price elasticity: exact recovery on noise-free data, standard errors as statsmodels computes them,
which rows are used, and the checks that turn an estimate down (with its fallback)."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pytest

from sop_core.planning import elasticity
from sop_core.planning.elasticity import estimate, family_elasticities

MONTHS = pd.date_range("2023-01-01", periods=36, freq="MS")


def series(
    sku: str,
    family: str,
    e: float,
    base_price: float,
    base_qty: float,
    rng: np.random.Generator,
    *,
    season: float = 0.3,
    promo_lift: float = 0.25,
    noise: float = 0.0,
    price_moves: bool = True,
) -> pd.DataFrame:
    """36 months of one SKU: q = A · season · trend · (p / P)^e · exp(lift · promo) · exp(noise)."""
    t = np.arange(len(MONTHS))
    month = MONTHS.month.to_numpy()
    promo = (rng.random(len(t)) < 0.2).astype(int)
    if price_moves:
        steps = np.ones(len(t))
        for start in rng.choice(np.arange(3, len(t)), size=3, replace=False):
            steps[start:] *= 1 + rng.uniform(-0.08, 0.10)
        discount = np.where(promo == 1, rng.uniform(0.10, 0.25, len(t)), rng.uniform(0.0, 0.04, len(t)))
        price = base_price * steps * (1 - discount)
    else:
        price = np.full(len(t), base_price)
    qty = (base_qty * (1 + season * np.sin(2 * np.pi * (month - 3) / 12)) * 1.04 ** (t / 12)
           * (price / base_price) ** e * np.exp(promo_lift * promo) * np.exp(noise * rng.standard_normal(len(t))))
    return pd.DataFrame({"sku": sku, "family": family, "period": MONTHS, "quantity": qty, "net_price": price,
                         "promo": promo})


def test_docstring_example_holds() -> None:
    assert doctest.testmod(elasticity).failed == 0


def test_noise_free_data_gives_the_elasticity_exactly_though_dear_skus_sell_more() -> None:
    rng = np.random.default_rng(1)
    # the dear SKUs sell the most: across SKUs, price and volume rise together
    rows = pd.concat([series(f"S{i}", "F", -1.8, 20.0 * (i + 1), 100.0 * (i + 1) ** 3, rng) for i in range(4)])
    across = np.polyfit(np.log(rows["net_price"]), np.log(rows["quantity"]), 1)[0]
    assert across > 1.0  # a regression without SKU effects would find demand rising with price
    est = estimate(rows)
    assert est.elasticity == pytest.approx(-1.8, abs=1e-9)
    assert est.std_error < 1e-9 and est.usable
    assert (est.n, est.skus, est.se_type) == (144, 4, "HC1")


def _lsdv(rows: pd.DataFrame, cov: str) -> tuple[float, float]:
    """e and its standard error from statsmodels: OLS with SKU and month dummies (no within transformation)."""
    import statsmodels.formula.api as smf

    data = rows.assign(log_q=np.log(rows["quantity"]), log_p=np.log(rows["net_price"]),
                       month=rows["period"].dt.month, sku_code=pd.factorize(rows["sku"])[0],
                       trend=((rows["period"].dt.year - 2023) * 12 + rows["period"].dt.month - 1) / 12.0)
    model = smf.ols("log_q ~ log_p + C(sku) + C(month) + promo + trend", data=data)
    if cov == "cluster":
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": data["sku_code"]})
    else:
        fit = model.fit(cov_type="HC1")
    return float(fit.params["log_p"]), float(fit.bse["log_p"])


@pytest.mark.parametrize(("skus", "se_type", "cov"), [(12, "cluster(sku)", "cluster"), (5, "HC1", "HC1")])
def test_standard_error_is_the_one_statsmodels_gives_with_sku_dummies(skus: int, se_type: str, cov: str) -> None:
    rng = np.random.default_rng(5)
    rows = pd.concat([series(f"S{i:02d}", "F", -1.3, rng.uniform(10, 90), rng.uniform(50, 500), rng, noise=0.15)
                      for i in range(skus)])
    est = estimate(rows)
    e, se = _lsdv(rows, cov)
    assert est.se_type == se_type
    assert est.elasticity == pytest.approx(e, rel=1e-9)
    assert est.std_error == pytest.approx(se, rel=1e-7)
    assert est.n == 36 * skus


def test_rows_without_quantity_or_price_and_single_month_skus_are_left_out() -> None:
    rng = np.random.default_rng(2)
    a = series("A", "F", -1.0, 50.0, 200.0, rng)
    a.loc[[0, 1], "quantity"] = [0.0, -3.0]  # no sale, a return
    a.loc[[2, 3, 4], "net_price"] = [0.0, -1.0, np.nan]
    b = series("B", "F", -1.0, 30.0, 100.0, rng)
    lone = b.iloc[:1].assign(sku="C")  # one month only: no within-SKU information
    est = estimate(pd.concat([a, b, lone]))
    assert est.n == (36 - 5) + 36 and est.skus == 2
    assert est.elasticity == pytest.approx(-1.0, abs=1e-9)
    # the column may be called qty, and promo may be missing (taken as 0)
    same = estimate(pd.concat([a, b]).rename(columns={"quantity": "qty"}))
    assert same.elasticity == pytest.approx(est.elasticity, abs=1e-12) and same.n == est.n
    assert estimate(pd.concat([a, b]).drop(columns="promo")).n == est.n


def test_too_few_observations() -> None:
    rng = np.random.default_rng(3)
    rows = series("A", "F", -1.0, 50.0, 200.0, rng).iloc[:23]
    est = estimate(rows)
    assert not est.usable and math.isnan(est.elasticity) and est.n == 23
    assert est.problem == "only 23 observations with quantity and price > 0 (at least 24 needed)"
    assert estimate(series("A", "F", -1.0, 50.0, 200.0, rng).iloc[:24]).n == 24


def test_a_price_that_only_moves_with_promotions_teaches_nothing() -> None:
    rng = np.random.default_rng(4)
    rows = pd.concat([series(f"S{i}", "F", -1.5, 40.0 + 10 * i, 300.0, rng, price_moves=False) for i in range(3)])
    rows["net_price"] = rows["net_price"] * np.where(rows["promo"] == 1, 0.8, 1.0)  # every promotion: −20 %
    est = estimate(rows)
    assert not est.usable and est.price_variation < 1e-6
    assert est.problem == "no price variation within a SKU once promotions, season and trend are accounted for"


def test_a_price_response_that_is_not_significantly_negative_is_not_used() -> None:
    rng = np.random.default_rng(6)
    rows = pd.concat([series(f"S{i}", "F", +0.8, 40.0, 300.0, rng, noise=0.05) for i in range(3)])
    est = estimate(rows)
    assert est.elasticity > 0 and est.t > 0 and not est.usable
    assert est.problem.startswith(f"the estimate {est.elasticity:+.2f} (± {est.std_error:.2f}) is not significantly")
    # Student t, one-sided 5 %, with N − K = 108 − (3 SKU effects + 11 months + promo + trend + e) = 91 d.f.
    assert est.critical == pytest.approx(-1.6618, abs=1e-4)


def test_fallback_is_the_pooled_estimate_else_zero() -> None:
    rng = np.random.default_rng(7)
    elastic = pd.concat([series(f"E{i}", "ELASTIC", -1.2, 50.0, 300.0, rng, noise=0.05) for i in range(4)])
    flat = pd.concat([series(f"F{i}", "FLAT", -1.2, 30.0 + i, 200.0, rng, price_moves=False) for i in range(3)])
    frame = family_elasticities(pd.concat([elastic, flat]), families=["EMPTY"])
    assert frame.columns.tolist() == elasticity.COLUMNS
    assert frame["family"].tolist() == ["ELASTIC", "EMPTY", "FLAT"]
    rows = frame.set_index("family")
    pooled = frame.attrs["pooled"]
    assert pooled["used"] and pooled["n"] == 7 * 36
    assert rows.loc["ELASTIC", "used"] and rows.loc["ELASTIC", "value_used"] == rows.loc["ELASTIC", "elasticity"]
    assert rows.loc["ELASTIC", "elasticity"] == pytest.approx(-1.2, abs=2 * rows.loc["ELASTIC", "std_error"])
    for fam, why in [("FLAT", "no price variation"), ("EMPTY", "only 0 observations")]:
        assert not rows.loc[fam, "used"]
        assert rows.loc[fam, "value_used"] == pooled["elasticity"]
        assert rows.loc[fam, "reason"].startswith(why)
        assert rows.loc[fam, "reason"].endswith(f"the estimate over all families ({pooled['elasticity']:+.2f}) is used")
    # without a usable estimate anywhere the fallback is 0: demand does not react to price
    alone = family_elasticities(flat).set_index("family")
    assert alone.loc["FLAT", "value_used"] == 0.0
    assert alone.loc["FLAT", "reason"].endswith("; 0 is used (demand does not react to price)")


def test_pooled_estimate_keeps_each_familys_own_season() -> None:
    rng = np.random.default_rng(8)
    # SUMMER's prices are highest in its peak months, WINTER's season is the opposite: one set of month
    # dummies for both would read SUMMER's season as a price response
    summer = pd.concat([series(f"S{i}", "SUMMER", -1.0, 50.0, 300.0, rng, season=0.6) for i in range(3)])
    summer["net_price"] *= 1 + 0.15 * np.sin(2 * np.pi * (summer["period"].dt.month - 3) / 12)
    summer["quantity"] *= (1 + 0.15 * np.sin(2 * np.pi * (summer["period"].dt.month - 3) / 12)) ** -1.0
    winter = pd.concat([series(f"W{i}", "WINTER", -1.0, 50.0, 300.0, rng, season=-0.6) for i in range(3)])
    rows = pd.concat([summer, winter])
    assert estimate(rows, controls_by="family").elasticity == pytest.approx(-1.0, abs=1e-9)
    assert abs(estimate(rows).elasticity + 1.0) > 0.05
    assert family_elasticities(rows).attrs["pooled"]["elasticity"] == pytest.approx(-1.0, abs=1e-9)


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match="lack the column family"):
        family_elasticities(pd.DataFrame({"sku": [], "period": [], "quantity": [], "net_price": []}))
    with pytest.raises(ValueError, match="lack the column.s. net_price"):
        estimate(pd.DataFrame({"sku": [], "period": [], "quantity": []}))
