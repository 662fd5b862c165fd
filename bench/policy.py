"""Policy backtest on real data: fill rate achieved vs fill-rate target, and stock vs the naive cover rule.

Fast movers: the stallion beverage set (agency × SKU monthly volume, series with a sale every month),
ABC-segmented by annual value (volume × regular price). Intermittent: the carparts set (train + test,
51 months). Read from /work/shared/data (never copied). Lead time L = 1 month, review R = 1 month,
measured over the periods after the warm-up; S_t uses data up to t only.

For every segment, fill-rate target and safety-stock method (``pooled``: forecast-weighted pooled empirical
errors, the default; ``normal``; ``empirical``: the item's own errors) the script prints the achieved
fill rate and cycle service level of the (R, S) policy, its average inventory, the naive rule S = k × mean demand tuned (bisection on k) to
the SAME aggregate fill rate, the inventory that rule needs, and the ratio (policy / naive).

    .venv/bin/python bench/policy.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sop_core.planning import inventory_frontier, policy, segmentation  # noqa: E402

DATA = Path("/work/shared/data")
#: Fill-rate targets replayed [share].
TARGETS = (0.90, 0.95, 0.98)


def stallion(data: Path = DATA) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Fast movers: ``unique_id, ds, y`` of the stallion series with demand in every month, the unit
    value (mean positive regular price) and the ABC class by annual value of 2015 (the last warm-up year)."""
    raw = pd.read_csv(data / "stallion" / "sales.csv", usecols=["agency", "sku", "period", "volume", "price_regular"])
    raw["unique_id"] = raw["agency"] + "/" + raw["sku"]
    always = raw.groupby("unique_id")["volume"].min()
    raw = raw[raw["unique_id"].isin(always[always > 0].index)]
    history = raw.rename(columns={"period": "ds", "volume": "y"})[["unique_id", "ds", "y"]]
    price = raw[raw["price_regular"] > 0].groupby("unique_id")["price_regular"].mean()
    months = sorted(raw["period"].unique())
    last = raw[raw["period"].isin(months[24:36])]  # the 12 months before the measured window (no look-ahead)
    stats = last.groupby("unique_id")["volume"].agg(["mean", "std", "sum"])
    frame = pd.DataFrame(
        {
            "sku": stats.index,
            "annual_value": (stats["sum"] * price.reindex(stats.index).fillna(0.0)).to_numpy(),
            "demand_mean": stats["mean"].to_numpy(),
            "demand_std": stats["std"].to_numpy(),
        }
    )
    abc = segmentation.abc_xyz(frame).set_index("sku")["abc"]
    return history, price, abc


def carparts(data: Path = DATA) -> pd.DataFrame:
    """Intermittent: carparts train + test (51 months), series with ≥ 10 positive months."""
    parts = pd.concat([pd.read_csv(data / "carparts" / f) for f in ("train.csv", "test.csv")], ignore_index=True)
    positive = parts[parts["y"] > 0].groupby("unique_id").size()
    keep = positive[positive >= 10].index
    parts = parts[parts["unique_id"].isin(keep)]
    return parts.assign(unique_id=parts["unique_id"].astype(str))[["unique_id", "ds", "y"]]


def compare(
    history: pd.DataFrame,
    target: float,
    *,
    method: policy.Method,
    model: policy.Forecaster,
    warmup: int,
    unit_value: pd.Series | None,
) -> dict[str, float]:
    """One table row: the policy at the fill-rate target ``target`` and the naive rule at the policy's achieved
    fill rate (``fill_rate`` and ``csl`` are the fill rate and cycle service level achieved)."""
    common = dict(lead_time=1, review_period=1, window=24, warmup=warmup, unit_value=unit_value)
    result = policy.summarise(policy.backtest_policy(history, target, method=method, model=model, **common))
    k, naive = inventory_frontier.naive_cover_for_fill_rate(history, result["fill_rate"], **common)
    return {
        "fill_rate_target": target,
        "fill_rate": result["fill_rate"],
        "gap_pts": 100 * (result["fill_rate"] - target),
        "csl": result["csl"],
        "avg_inventory": result["avg_inventory_value"],
        "naive_k": k,
        "naive_inventory": naive["avg_inventory_value"],
        "ratio": result["avg_inventory_value"] / naive["avg_inventory_value"],
        "orders": result["orders"],
        "naive_orders": naive["orders"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="first 300 carparts series only")
    args = parser.parse_args()
    started = time.perf_counter()
    fast, price, abc = stallion()
    rows = []
    for seg in ("A", "B", "C", "all"):
        ids = abc.index if seg == "all" else abc[abc == seg].index
        part = fast[fast["unique_id"].isin(ids)]
        for method in ("pooled", "normal"):
            for target in TARGETS:
                row = compare(part, target, method=method, model="seasonal_trend", warmup=36, unit_value=price)
                rows.append({"set": "stallion fast", "segment": seg, "items": len(ids), "method": method, **row})
    slow = carparts()
    if args.quick:
        slow = slow[slow["unique_id"].isin(slow["unique_id"].unique()[:300])]
    for method in ("pooled", "normal", "empirical"):
        for target in TARGETS:
            row = compare(slow, target, method=method, model="mean", warmup=24, unit_value=None)
            rows.append(
                {
                    "set": "carparts intermittent",
                    "segment": "all",
                    "items": slow["unique_id"].nunique(),
                    "method": method,
                    **row,
                }
            )
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    fmt = {
        "fill_rate_target": "{:.1%}".format,
        "fill_rate": "{:.2%}".format,
        "gap_pts": "{:+.2f}".format,
        "csl": "{:.1%}".format,
        "avg_inventory": "{:,.0f}".format,
        "naive_k": "{:.2f}".format,
        "naive_inventory": "{:,.0f}".format,
        "ratio": "{:.3f}".format,
        "orders": "{:,.0f}".format,
        "naive_orders": "{:,.0f}".format,
    }
    print(table.to_string(index=False, formatters=fmt))
    frontier = inventory_frontier.frontier(fast, abc, method="pooled", model="seasonal_trend", warmup=36, unit_value=price)
    wide = frontier.pivot(index="fill_rate_target", columns="segment", values=["fill_rate", "avg_inventory_value"])
    print("\nFill rate vs inventory frontier, stallion fast movers (fill rate achieved / average inventory value):")
    for target, row in wide.iterrows():
        cells = "  ".join(
            f"{seg}: {row[('fill_rate', seg)]:6.2%} / {row[('avg_inventory_value', seg)]:>13,.0f}" for seg in "ABC"
        )
        print(f"  fill-rate target {target:6.1%}  {cells}")
    print(
        "\nL = 1 month, R = 1 month, backorders. stallion: warm-up 36 of 60 months (24 measured), value = volume × "
        "regular price; carparts: warm-up 24 of 51 (27 measured), value in units. ratio = policy inventory / naive "
        f"inventory at the same achieved fill rate. {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
