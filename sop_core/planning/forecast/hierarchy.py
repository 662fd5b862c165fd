"""Bottom-up aggregation of SKU series to family, category and total (coherent by construction).

Every numeric column (history ``y``, forecast ``yhat``, backtest actuals …) is summed over the SKUs of a group
for each period (and cutoff, when present): the aggregate forecast equals the sum of its SKU forecasts.

Prediction intervals do not add up. With ``intervals="independent"`` (the default) the half-widths are
combined as for independent SKU errors, separately below and above the point forecast:

    lo = Σŷ_i − sqrt(Σ(ŷ_i − lo_i)²),   hi = Σŷ_i + sqrt(Σ(hi_i − ŷ_i)²)

(exact for normal errors; clipped at 0). ``intervals="sum"`` adds the bounds — the band for perfectly
correlated errors, the widest possible. Real SKU errors are partly correlated, so the truth lies between.

Reference: Hyndman & Athanasopoulos, FPP3 §11.2 (bottom-up approach).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

Level = Literal["sku", "family", "category", "total"]
LEVELS: tuple[Level, ...] = ("sku", "family", "category", "total")
#: The id of the single series at level "total".
TOTAL_ITEM = "Total"


def aggregate(
    frame: pd.DataFrame,
    products: pd.DataFrame,
    level: Level,
    *,
    id_col: str = "unique_id",
    time_col: str = "ds",
    sku_col: str = "sku",
    intervals: Literal["independent", "sum"] = "independent",
) -> pd.DataFrame:
    """Sum SKU-level rows to ``level``.

    Args:
        frame: long frame keyed by ``id_col`` (a SKU) and ``time_col`` (plus ``cutoff`` for backtests), with
            numeric columns in units; a ``model`` column, when present, becomes "bottom-up".
        products: product master with ``sku_col``, ``family`` and ``category``.
        level: "sku" (returned unchanged), "family", "category" or "total" (id :data:`TOTAL_ITEM`).
        id_col: series id column of ``frame``.
        time_col: period column of ``frame``.
        sku_col: SKU column of ``products``.
        intervals: how ``yhat_lo_<l>`` / ``yhat_hi_<l>`` combine: "independent" (root-sum-square of the
            half-widths) or "sum" (bounds added).

    Returns:
        The frame at ``level``: ``id_col`` holds the family / category code (or "Total"), numeric columns are
        sums (NaN only where every SKU value is NaN), sorted by id and period.

    Raises:
        ValueError: unknown level, or SKUs of ``frame`` missing from ``products``.

    Example:
        >>> f = pd.DataFrame({"unique_id": ["a", "b"], "ds": ["2025-01-01"] * 2, "yhat": [1.0, 2.0]})
        >>> p = pd.DataFrame({"sku": ["a", "b"], "family": ["F", "F"], "category": ["C", "C"]})
        >>> aggregate(f, p, "family").to_dict("records")
        [{'unique_id': 'F', 'ds': '2025-01-01', 'yhat': 3.0}]
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    if level == "sku":
        return frame.copy()
    if level == "total":
        group = pd.Series(TOTAL_ITEM, index=frame.index)
    else:
        mapping = products.drop_duplicates(sku_col).set_index(sku_col)[level]
        group = frame[id_col].map(mapping)
        if group.isna().any():
            unknown = frame.loc[group.isna(), id_col].unique()
            raise ValueError(f"aggregate: {len(unknown)} series not in products (e.g. {unknown[0]!r})")
    keys = [c for c in ("cutoff", time_col) if c in frame.columns]
    numeric = [c for c in frame.columns if c not in (id_col, *keys) and pd.api.types.is_numeric_dtype(frame[c])]
    bounds = [c for c in numeric if c.startswith(("yhat_lo_", "yhat_hi_"))] if "yhat" in numeric else []
    if intervals not in ("independent", "sum"):
        raise ValueError(f"unknown intervals {intervals!r}; expected 'independent' or 'sum'")
    work = frame[keys + numeric].assign(**{id_col: group.to_numpy()})
    if intervals == "independent":
        for c in bounds:  # squared half-widths add up
            work[c] = (work["yhat"] - work[c]) ** 2
    out = work.groupby([id_col, *keys], sort=True)[numeric].sum(min_count=1).reset_index()
    if intervals == "independent":
        out = bounds_from_squares(out, bounds)
    if "model" in frame.columns:
        out["model"] = "bottom-up"
    return out


def bounds_from_squares(frame: pd.DataFrame, bounds: list[str]) -> pd.DataFrame:
    """Interval bounds of a sum of independent forecasts from the sums of their squared half-widths: each column
    of ``bounds`` holds Σ (yhat − bound)² on entry and the bound yhat ∓ √Σ on return (a lower bound not below 0).

    Example:
        >>> f = pd.DataFrame({"yhat": [10.0], "yhat_lo_80": [3.0**2 + 4.0**2], "yhat_hi_80": [25.0]})
        >>> bounds_from_squares(f, ["yhat_lo_80", "yhat_hi_80"]).iloc[0].tolist()
        [10.0, 5.0, 15.0]
    """
    for c in bounds:
        half = np.sqrt(frame[c])
        frame[c] = (frame["yhat"] - half).clip(lower=0.0) if c.startswith("yhat_lo_") else frame["yhat"] + half
    return frame


def spread_override(
    forecast_skus: pd.DataFrame,
    products: pd.DataFrame,
    level: Level,
    item: str,
    period: object,
    value: float | None = None,
    pct: float | None = None,
    *,
    id_col: str = "unique_id",
    time_col: str = "ds",
    value_col: str = "yhat",
    sku_col: str = "sku",
) -> pd.DataFrame:
    """Spread an override of one item at any level and one period to its SKUs in proportion to their forecast.

    The new SKU values are x_i' = x_i · V / Σx (V the new total of the item); when the item's forecast is 0
    the new total is split equally. With ``pct`` the new total is V = Σx · (1 + pct / 100). Other items and
    periods are unchanged, so the SKUs still add up to every level (coherent). Reference: the proportional
    top-down disaggregation of Hyndman & Athanasopoulos, FPP3 §11.3.

    Args:
        forecast_skus: SKU-level long frame with ``id_col``, ``time_col`` and ``value_col`` [units].
        products: product master with ``sku_col``, ``family`` and ``category``.
        level: "sku", "family", "category" or "total".
        item: the SKU / family / category code, or "Total".
        period: the period start (anything ``pd.Timestamp`` accepts).
        value: the item's new total for the period [units], ≥ 0 (give ``value`` or ``pct``).
        pct: change of the item's total [%], e.g. −10 for ten percent less.
        id_col: SKU column of ``forecast_skus``.
        time_col: period column of ``forecast_skus``.
        value_col: the column to change.
        sku_col: SKU column of ``products``.

    Returns:
        A copy of ``forecast_skus`` with ``value_col`` changed for the item's SKUs in ``period``.

    Raises:
        ValueError: unknown level or item, no rows for the item in the period, both or neither of ``value``
            and ``pct``, or a negative new total.

    Example:
        >>> f = pd.DataFrame({"unique_id": ["a", "b"], "ds": pd.to_datetime(["2025-01-01"] * 2), "yhat": [30.0, 10.0]})
        >>> p = pd.DataFrame({"sku": ["a", "b"], "family": ["F", "F"], "category": ["C", "C"]})
        >>> spread_override(f, p, "family", "F", "2025-01-01", value=60.0)["yhat"].tolist()
        [45.0, 15.0]
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    if (value is None) == (pct is None):
        raise ValueError("give exactly one of value (units) and pct (percent)")
    if level == "sku":
        members = {item}
    elif level == "total":
        if item != TOTAL_ITEM:
            raise ValueError(f"the total level has the single item {TOTAL_ITEM!r}, not {item!r}")
        members = set(forecast_skus[id_col].unique())
    else:
        members = set(products.loc[products[level].astype(str) == str(item), sku_col])
        if not members:
            raise ValueError(f"no {level} {item!r}")
    when = pd.Timestamp(period)
    out = forecast_skus.copy()
    mask = out[id_col].isin(members) & (pd.to_datetime(out[time_col]) == when)
    if not mask.any():
        raise ValueError(f"no forecast for {level} {item!r} in {when:%Y-%m-%d}")
    current = out.loc[mask, value_col].to_numpy(dtype=float)
    total = float(current.sum())
    new_total = float(value) if value is not None else total * (1.0 + float(pct) / 100.0)  # type: ignore[arg-type]
    if new_total < 0:
        raise ValueError(f"the new total {new_total:g} is negative; demand must be ≥ 0")
    share = current / total if total > 0 else np.full(len(current), 1.0 / len(current))
    out.loc[mask, value_col] = share * new_total
    return out
