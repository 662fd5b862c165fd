"""Plan diff: what changed between two plan versions, per SKU × month, and why.

Pure functions on DataFrames. Each plan version is described per SKU *i* and month *t* by
(quantities in units, money in the company currency):

* ``stat_qty`` s — the statistical forecast;
* ``base_qty`` c — the demand the plan started from (the forecast after overrides), so the
  override effect is c − s;
* ``demand_qty`` d — demand after the scenario levers (demand change, family changes, price
  elasticity), so the lever effect is d − c;
* ``served_qty`` v — demand met by supply; the capacity/supply effect is v − d (≤ 0: lost sales);
* ``revenue`` R = v · p, with p the effective unit price (list price × price lever).

So v = s + (c − s) + (d − c) + (v − d) and R = p · v. The change of revenue between version A
(before) and version B (after) splits exactly (a two-factor "shift-share" split of a product,
price first; cf. Ang & Zhang, "A survey of index decomposition analysis in energy and
environmental studies", *Energy* 25 (2000) 1149–1176, the Laspeyres-type chained variant):

    R_B − R_A = (p_B − p_A) · v_A                       price
              + p_B · (s_B − s_A)                       statistical forecast
              + p_B · ((c_B − s_B) − (c_A − s_A))       overrides
              + p_B · ((d_B − c_B) − (d_A − c_A))       scenario levers
              + p_B · ((v_B − d_B) − (v_A − d_A))       capacity (supply limits)

which is an identity (expand: p_B·v_B − p_A·v_A). For the months of A's horizon that have become
actuals by B (before B's first planned month), B's value is the actual figure and the whole change
is *new actuals*: ``actual − R_A``. Months not in both horizons are left out (the comparison
window is A's months up to B's last month). Per family, SKU or month the parts are sums of the line
parts, so they add up to the total change at every level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Causes in waterfall order, with their labels.
CAUSES: dict[str, str] = {
    "new_actuals": "New actuals",
    "statistical_forecast": "Statistical forecast",
    "overrides": "Overrides",
    "price": "Price",
    "capacity": "Capacity",
    "scenario_levers": "Scenario levers",
}
#: Columns a version frame must have.
VERSION_COLUMNS = ["sku", "family", "period", "stat_qty", "base_qty", "demand_qty", "served_qty", "revenue"]
#: Columns of the actuals frame.
ACTUAL_COLUMNS = ["sku", "period", "quantity", "revenue"]


def _check(frame: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")


def decompose(
    before: pd.DataFrame,
    after: pd.DataFrame,
    actuals: pd.DataFrame | None = None,
    measure: str = "revenue",
) -> pd.DataFrame:
    """The change from ``before`` (version A) to ``after`` (version B) per SKU × month, split by cause.

    Args:
        before: version A, :data:`VERSION_COLUMNS` (one row per SKU × month).
        after: version B, same columns. Its first month is B's first planned month.
        actuals: ``sku, period, quantity, revenue`` — actual sales of the months that became history
            between A and B [units, currency]; None or empty when there are none.
        measure: ``"revenue"`` (currency; the formula in the module docstring) or ``"units"``
            (served units: the same split with p ≡ 1, so the price part is 0).

    Returns:
        One row per SKU × month of the comparison window: ``sku, family, period, before, after,
        change`` and one column per cause of :data:`CAUSES`; for every row
        ``change == Σ causes`` up to float rounding (≈1e-9 relative).

    Raises:
        ValueError: a missing column or an unknown measure.
    """
    if measure not in ("revenue", "units"):
        raise ValueError(f"unknown measure {measure!r}: revenue or units")
    _check(before, "before", VERSION_COLUMNS)
    _check(after, "after", VERSION_COLUMNS)
    a = before[VERSION_COLUMNS].assign(period=pd.to_datetime(before["period"]))
    b = after[VERSION_COLUMNS].assign(period=pd.to_datetime(after["period"]))
    out_cols = ["sku", "family", "period", "before", "after", "change", *CAUSES]
    if a.empty:
        return pd.DataFrame(columns=out_cols)
    b_first = b["period"].min() if not b.empty else pd.Timestamp.max
    b_last = b["period"].max() if not b.empty else pd.Timestamp.min
    a = a[a["period"] <= b_last]

    act = actuals if actuals is not None and not actuals.empty else pd.DataFrame(columns=ACTUAL_COLUMNS)
    _check(act, "actuals", ACTUAL_COLUMNS)
    act = act[ACTUAL_COLUMNS].assign(period=pd.to_datetime(act["period"]))
    return _finish(a, b, b_first, act, measure, out_cols)


def _finish(
    a: pd.DataFrame, b: pd.DataFrame, b_first: pd.Timestamp, act: pd.DataFrame, measure: str, out_cols: list[str]
) -> pd.DataFrame:
    value = "revenue" if measure == "revenue" else "served_qty"
    # 1) months of A that are history in B: all of the change is new actuals
    past = a[a["period"] < b_first][["sku", "family", "period", value]].rename(columns={value: "before"})
    act_value = "revenue" if measure == "revenue" else "quantity"
    act = act.rename(columns={act_value: "after"})[["sku", "period", "after"]]
    past = past.merge(act, on=["sku", "period"], how="left")
    past["after"] = past["after"].fillna(0.0).astype(float)
    past["change"] = past["after"] - past["before"]
    for cause in CAUSES:
        past[cause] = 0.0
    past["new_actuals"] = past["change"]

    # 2) months in both horizons: the exact split of the module docstring
    fut_a = a[a["period"] >= b_first]
    both = fut_a.merge(b, on=["sku", "period"], how="outer", suffixes=("_a", "_b"))
    # the comparison window only: B's months before A's first month are not in both horizons either
    both = both[(both["period"] >= a["period"].min()) & (both["period"] <= a["period"].max())] if not a.empty \
        else both.iloc[0:0]
    both["family"] = both["family_b"].fillna(both["family_a"])
    num = ["stat_qty", "base_qty", "demand_qty", "served_qty", "revenue"]
    for col in num:
        for side in ("_a", "_b"):
            both[col + side] = both[col + side].fillna(0.0).astype(float)
    if measure == "revenue":
        p_a = _price(both["revenue_a"], both["served_qty_a"])
        p_b = _price(both["revenue_b"], both["served_qty_b"])
        p_a = np.where(both["served_qty_a"] > 0, p_a, p_b)
        p_b = np.where(both["served_qty_b"] > 0, p_b, p_a)
        r_a, r_b = both["revenue_a"].to_numpy(), both["revenue_b"].to_numpy()
    else:
        p_a = p_b = np.ones(len(both))
        r_a, r_b = both["served_qty_a"].to_numpy(), both["served_qty_b"].to_numpy()
    s_a, s_b = both["stat_qty_a"].to_numpy(), both["stat_qty_b"].to_numpy()
    c_a, c_b = both["base_qty_a"].to_numpy(), both["base_qty_b"].to_numpy()
    d_a, d_b = both["demand_qty_a"].to_numpy(), both["demand_qty_b"].to_numpy()
    v_a, v_b = both["served_qty_a"].to_numpy(), both["served_qty_b"].to_numpy()
    fut = pd.DataFrame({"sku": both["sku"], "family": both["family"], "period": both["period"]})
    fut["before"] = r_a
    fut["after"] = r_b
    fut["change"] = r_b - r_a
    fut["new_actuals"] = 0.0
    fut["price"] = (p_b - p_a) * v_a
    fut["statistical_forecast"] = p_b * (s_b - s_a)
    fut["overrides"] = p_b * ((c_b - s_b) - (c_a - s_a))
    fut["scenario_levers"] = p_b * ((d_b - c_b) - (d_a - c_a))
    fut["capacity"] = p_b * ((v_b - d_b) - (v_a - d_a))
    if measure == "revenue":
        # R = p·v holds up to rounding of the stored lines; the remainder (≈1e-12) goes to price
        fut["price"] += fut["change"] - fut[list(CAUSES)].sum(axis=1)
    out = pd.concat([past[out_cols], fut[out_cols]], ignore_index=True) if len(past) else fut[out_cols]
    return out.sort_values(["sku", "period"], kind="stable").reset_index(drop=True)


def _price(revenue: pd.Series, served: pd.Series) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(served.to_numpy() > 0, revenue.to_numpy() / served.to_numpy(), 0.0)


def summarize(lines: pd.DataFrame, by: str | list[str] | None = None) -> pd.DataFrame:
    """Sum a :func:`decompose` result by ``family``, ``sku``, ``period`` (or a list), or in total (None)."""
    value_cols = ["before", "after", "change", *CAUSES]
    if by is None:
        return lines[value_cols].sum().to_frame().T
    return lines.groupby(by, as_index=False)[value_cols].sum()


def waterfall(lines: pd.DataFrame) -> pd.DataFrame:
    """The total change as waterfall steps: ``step, label, value, kind`` (kind: absolute | relative | total).

    The first step is the before total, then each cause, then the after total; the relative steps
    add up to after − before.
    """
    total = summarize(lines).iloc[0] if not lines.empty else pd.Series(0.0, index=["before", "after", *CAUSES])
    rows = [("before", "Before", float(total["before"]), "absolute")]
    rows += [(c, label, float(total[c]), "relative") for c, label in CAUSES.items()]
    rows.append(("after", "After", float(total["after"]), "total"))
    return pd.DataFrame(rows, columns=["step", "label", "value", "kind"])
