"""Own-price elasticity on real data: the stallion beverage set, one estimate per SKU.

Reads /work/shared/data/stallion/sales.csv (58 agencies × 25 SKUs, 350 series, monthly 2013-01 … 2017-12;
never copied) and estimates with :func:`sop_core.planning.elasticity.family_elasticities`: each stallion SKU plays the
part of a product family, each agency × SKU series the part of a SKU — so the fixed effects are per agency ×
SKU (an agency's price level and volume level do not confound) and the standard errors are clustered by
series (HC1 for SKUs sold by fewer than 10 agencies). Quantity = ``volume``, net price = ``price_actual``
(regular price less discount); stallion has no promotion flag, so promo is 0 (its discounts are in the
price). Rows with volume or price_actual ≤ 0 are left out, as in the product.

The peer: statsmodels OLS with explicit series and month dummies (no within transformation) and its own
cluster-robust / HC1 covariance, fitted on the same rows; the script prints the largest difference of e and
of the standard error between the two.

    .venv/bin/python bench/elasticity.py [--no-trend]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sop_core.planning import elasticity  # noqa: E402

DATA = Path("/work/shared/data")


def stallion_rows(data: Path = DATA) -> pd.DataFrame:
    """``sku`` (agency/SKU series), ``family`` (the stallion SKU), ``period, quantity, net_price, promo``."""
    raw = pd.read_csv(data / "stallion" / "sales.csv", usecols=["agency", "sku", "period", "volume", "price_actual"])
    return pd.DataFrame({
        "sku": raw["agency"] + "/" + raw["sku"],
        "family": raw["sku"],
        "period": pd.to_datetime(raw["period"]),
        "quantity": raw["volume"].astype(float),
        "net_price": raw["price_actual"].astype(float),
        "promo": 0,
    })


def statsmodels_fit(rows: pd.DataFrame, trend: bool) -> tuple[float, float]:
    """e and its standard error from statsmodels, with the covariance :mod:`sop_core.planning.elasticity` chose."""
    import statsmodels.formula.api as smf

    data = rows[(rows["quantity"] > 0) & (rows["net_price"] > 0)]
    data = data[data.groupby("sku")["sku"].transform("size") >= 2]
    first = data["period"].min()
    data = data.assign(log_q=np.log(data["quantity"]), log_p=np.log(data["net_price"]), month=data["period"].dt.month,
                       trend=((data["period"].dt.year - first.year) * 12 + data["period"].dt.month - first.month) / 12,
                       group=pd.factorize(data["sku"])[0])
    formula = "log_q ~ log_p + C(month)" + (" + trend" if trend else "") + (" + C(sku)" if data["sku"].nunique() > 1 else "")
    model = smf.ols(formula, data=data)
    if data["sku"].nunique() >= elasticity.MIN_CLUSTERS:
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": data["group"]})
    else:
        fit = model.fit(cov_type="HC1")
    return float(fit.params["log_p"]), float(fit.bse["log_p"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-trend", action="store_true", help="leave the time trend out of the controls")
    args = parser.parse_args()
    rows = stallion_rows()
    t0 = time.perf_counter()
    frame = elasticity.family_elasticities(rows, trend=not args.no_trend)
    seconds = time.perf_counter() - t0
    left_out = len(rows) - int((rows["quantity"].gt(0) & rows["net_price"].gt(0)).sum())
    print(f"stallion: {len(rows)} rows, {left_out} left out (volume or price ≤ 0); "
          f"estimated in {seconds:.2f} s; trend {'off' if args.no_trend else 'on'}")
    print(f"{'SKU':8} {'e':>7} {'± se':>7} {'n':>5} {'series':>6}  {'se':12} {'used':5} {'value':>7}  reason")
    for r in frame.itertuples(index=False):
        e = f"{r.elasticity:+.3f}" if math.isfinite(r.elasticity) else "—"
        se = f"{r.std_error:.3f}" if math.isfinite(r.std_error) else "—"
        reason = "" if r.used else r.reason.split(";")[0]
        print(f"{r.family:8} {e:>7} {se:>7} {r.n:5d} {r.skus:6d}  {r.se_type:12} {str(r.used):5} "
              f"{r.value_used:+7.3f}  {reason}")
    pooled = frame.attrs["pooled"]
    print(f"all SKUs pooled (one e, season and trend per SKU): {pooled['elasticity']:+.3f} ± {pooled['std_error']:.3f} "
          f"({pooled['se_type']}), n {pooled['n']}, series {pooled['skus']}, used {pooled['used']}")
    print(f"used: {int(frame['used'].sum())} of {len(frame)} SKUs")
    t0 = time.perf_counter()
    de = dse = 0.0
    for r in frame[frame["elasticity"].notna()].itertuples(index=False):
        e, se = statsmodels_fit(rows[rows["family"] == r.family], trend=not args.no_trend)
        de, dse = max(de, abs(e - r.elasticity)), max(dse, abs(se - r.std_error) / se)
    print(f"peer check (statsmodels OLS with dummies, {time.perf_counter() - t0:.1f} s): largest |Δe| {de:.1e}, "
          f"largest relative Δse {dse:.1e}")


if __name__ == "__main__":
    main()
