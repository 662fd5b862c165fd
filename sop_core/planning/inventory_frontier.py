"""The inventory frontiers: the inventory each service target needs, and the naive rule at equal fill rate.

:func:`frontier` runs the policy backtest (:mod:`sop_core.planning.policy`) for fill-rate targets 80 … 99.5 %
and reports the achieved fill rate, CSL and average inventory value each needs, per segment (e.g. ABC class);
:func:`analytic_frontier` gives the inventory each *cycle service level* target needs from the safety-stock
formula (the frontier the KPIs page draws); :func:`naive_cover_for_fill_rate` finds the cover with which the
naive rule reaches a given fill rate, to compare policies at equal achieved fill rate. Pure NumPy/pandas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sop_core.planning import inventory
from sop_core.planning.policy import (
    Forecaster,
    Method,
    backtest_policy,
    replay,
    summarise,
    trailing_means,
    wide_demand,
)
from sop_core.units import Progress

#: Largest cover the naive rule is tried with [periods].
MAX_NAIVE_COVER = 384.0

#: Targets of the frontiers [share]: fill-rate targets of :func:`frontier`, cycle service levels of
#: :func:`analytic_frontier`.
FRONTIER_LEVELS = (0.80, 0.85, 0.90, 0.95, 0.97, 0.98, 0.99, 0.995)


def naive_cover_for_fill_rate(
    history: pd.DataFrame,
    fill_rate: float,
    *,
    lead_time: int = 1,
    review_period: int = 1,
    window: int = 24,
    warmup: int = 12,
    unit_value: pd.Series | None = None,
    tolerance: float = 0.0005,
) -> tuple[float, dict[str, float]]:
    """The cover k (periods of mean demand) with which the naive rule reaches a given aggregate fill rate.

    Bisection on k ∈ [0, 24] (the upper end doubled up to :data:`MAX_NAIVE_COVER` while it falls
    short): the naive rule's fill rate grows with k. Used to compare policies at *equal* achieved fill rate.

    Returns:
        ``(k, summary)`` with the naive rule's :func:`summarise` at that k.
    """
    values, ids = wide_demand(history)
    return naive_cover(values, ids, fill_rate, lead_time=lead_time, review_period=review_period, window=window,
                       warmup=warmup, unit_value=unit_value, tolerance=tolerance)


def naive_cover(
    values: np.ndarray,
    ids: pd.Index,
    fill_rate: float,
    *,
    lead_time: int = 1,
    review_period: int = 1,
    window: int = 24,
    warmup: int = 12,
    unit_value: pd.Series | None = None,
    tolerance: float = 0.0005,
) -> tuple[float, dict[str, float]]:
    """:func:`naive_cover_for_fill_rate` on demand already laid out items × periods (:func:`wide_demand`):
    ``values`` with the ``unique_id`` of each row in ``ids``."""
    means = trailing_means(values, window)  # the naive level is k × the trailing mean: one mean for every k

    def run(k: float) -> dict[str, float]:
        result = replay(values, ids, k * means, lead_time=lead_time, review_period=review_period, warmup=warmup,
                        unit_value=unit_value)
        return summarise(result)

    lo, hi = 0.0, 24.0
    top = run(hi)
    while top["fill_rate"] < fill_rate and hi < MAX_NAIVE_COVER:
        lo, hi = hi, 2 * hi
        top = run(hi)
    best: tuple[float, dict[str, float]] | None = (hi, top) if top["fill_rate"] >= fill_rate else None
    while best is not None and hi - lo >= tolerance:
        k = (lo + hi) / 2
        summary = run(k)
        if summary["fill_rate"] >= fill_rate:
            hi, best = k, (k, summary)
        else:
            lo = k
    if best is None:
        raise ValueError(
            f"the naive rule does not reach a fill rate of {fill_rate:.3f} with up to {MAX_NAIVE_COVER:.0f} periods of cover"
        )
    return best


def frontier(
    history: pd.DataFrame,
    segments: pd.Series,
    fill_rate_targets: Sequence[float] = FRONTIER_LEVELS,
    *,
    lead_time: int = 1,
    review_period: int = 1,
    method: Method = "pooled",
    model: Forecaster = "seasonal_trend",
    window: int = 24,
    warmup: int = 12,
    unit_value: pd.Series | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Fill rate vs inventory frontier: inventory value each fill-rate target needs, per segment (backtest).

    Args:
        history: ``unique_id, ds, y``.
        segments: segment per ``unique_id`` (e.g. ABC class).
        fill_rate_targets: fill-rate targets [share].
        lead_time, review_period, method, model, window, warmup, unit_value: as in :func:`backtest_policy`.
        progress: called with (share done, message).

    Returns:
        ``segment, fill_rate_target, fill_rate, csl, avg_inventory_value, orders`` — one row per segment and
        target (``fill_rate`` and ``csl`` achieved, shares; value in currency).
    """
    rows = []
    seg_of = history["unique_id"].map(segments)
    for i, level in enumerate(fill_rate_targets):
        if progress is not None:
            progress(i / len(fill_rate_targets), f"Replaying the history at a fill-rate target of {100 * level:.1f} %")
        # each segment is replayed on its own: the pooled errors are those of the segment's items
        for seg, part in history.groupby(seg_of, sort=True):
            result = backtest_policy(
                part,
                level,
                lead_time=lead_time,
                review_period=review_period,
                method=method,
                model=model,
                window=window,
                warmup=warmup,
                unit_value=unit_value,
            )
            rows.append({"segment": seg, "fill_rate_target": level, **summarise(result)})
    if progress is not None:
        progress(1.0, "Frontier done")
    out = pd.DataFrame(rows)
    return out[["segment", "fill_rate_target", "fill_rate", "csl", "avg_inventory_value", "orders"]]


def analytic_frontier(
    items: pd.DataFrame,
    cycle_service_levels: Sequence[float] = FRONTIER_LEVELS,
    *,
    samples: Mapping[object, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Inventory value needed for each cycle service level (CSL) target per segment, from the safety-stock formula.

    Average inventory value = Σ_i (SS_i(CSL) + Q_i / 2) · c_i, SS from
    :func:`sop_core.planning.inventory.safety_stock` (cycle service level; Chopra & Meindl, 6th ed., §12.4)
    and Q_i/2 the cycle stock of the order quantity (Silver, Pyke & Thomas, 4th ed., §4.2).
    Items given demand ``samples`` over their protection interval (intermittent items) take the
    empirical safety stock :func:`sop_core.planning.inventory.empirical_safety_stock` instead (no normal
    assumption); safety stocks below 0 count as 0.

    Args:
        items: one row per item with ``segment``, ``demand_mean`` d̄ [units/period], ``demand_std``
            σ_d [units/period], ``lead_time`` L [periods], ``lead_time_std`` σ_L [periods],
            ``review_period`` R [periods], ``order_qty`` Q [units] and ``unit_cost`` c [currency/unit].
        cycle_service_levels: CSL targets [share].
        samples: demand samples over L + R [units] per row label of ``items`` (those rows only).

    Returns:
        ``segment, cycle_service_level, safety_stock_value, cycle_stock_value, inventory_value`` [share,
        currency].
    """
    need = [
        "segment",
        "demand_mean",
        "demand_std",
        "lead_time",
        "lead_time_std",
        "review_period",
        "order_qty",
        "unit_cost",
    ]
    missing = [c for c in need if c not in items.columns]
    if missing:
        raise ValueError(f"items: missing column(s) {', '.join(missing)}")
    rows = []
    cycle_value = items["order_qty"].fillna(0.0) / 2 * items["unit_cost"]
    for level in cycle_service_levels:
        ss = inventory.safety_stock(
            level,
            items["demand_mean"],
            items["demand_std"],
            items["lead_time"],
            items["lead_time_std"],
            items["review_period"],
        )
        ss = pd.Series(np.asarray(ss, dtype=float), index=items.index)
        if samples:
            labels = list(samples)
            ss[labels] = inventory.empirical_safety_stocks([samples[k] for k in labels], [level] * len(labels))
        ss = ss.clip(lower=0.0)
        frame = pd.DataFrame(
            {"segment": items["segment"], "ss_value": ss * items["unit_cost"], "cycle_value": cycle_value}
        )
        for seg, part in frame.groupby("segment", sort=True):
            rows.append(
                {
                    "segment": seg,
                    "cycle_service_level": level,
                    "safety_stock_value": float(part["ss_value"].sum()),
                    "cycle_stock_value": float(part["cycle_value"].sum()),
                }
            )
    out = pd.DataFrame(rows)
    out["inventory_value"] = out["safety_stock_value"] + out["cycle_stock_value"]
    return out
