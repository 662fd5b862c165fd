"""What the inventory policy costs and achieves: the inventory value needed per cycle service level target
(frontier) and the replay of the sales history under the policy per fill-rate target (backtest), per ABC
class. Both start from :func:`sop_core.services.inventory_policy.inventory_policy`; formulas in
:mod:`sop_core.planning.policy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from dateutil.relativedelta import relativedelta
from sqlalchemy import Engine

from sop_core.db import cycle_repo, master_repo
from sop_core.db.engine import session_scope
from sop_core.planning import inventory_frontier, policy
from sop_core.services import figures
from sop_core.services.inventory_policy import intermittent_samples, inventory_policy, monthly_history, policy_stamp
from sop_core.units import DAYS_PER_MONTH, Progress


def service_frontier(
    engine: Engine,
    cycle_id: int,
    cycle_service_levels: tuple[float, ...] = inventory_frontier.FRONTIER_LEVELS,
    *,
    history_months: int = 24,
) -> pd.DataFrame:
    """Inventory value needed for each cycle service level target, per ABC class (analytic, from the policy inputs).

    Safety stock per level as in :func:`sop_core.services.inventory_policy.inventory_policy`: the normal formula for regular items and,
    for intermittent ones, the empirical quantile of their demand over L + R months (no normal
    assumption), so the frontier matches the policy table at each item's own CSL target.

    Returns:
        :func:`sop_core.planning.inventory_frontier.analytic_frontier` columns: ``segment`` (ABC class), ``cycle_service_level``,
        ``safety_stock_value``, ``cycle_stock_value``, ``inventory_value``.
    """
    items = inventory_policy(engine, cycle_id, history_months=history_months)
    with session_scope(engine) as s:
        cyc = cycle_repo.cycle(s, cycle_id)
        month = cyc.month if cyc is not None else None
        products = master_repo.products(s)
        monthly = monthly_history(s, products, month - relativedelta(months=1), history_months)
    frame = pd.DataFrame(
        {
            "segment": items["abc"].fillna("C"),
            "demand_mean": items["demand_mean"].fillna(0.0),
            "demand_std": items["demand_std"].fillna(0.0),
            "lead_time": items["lead_time_months"],
            "lead_time_std": items["lead_time_std_days"].fillna(0.0) / DAYS_PER_MONTH,
            "review_period": items["review_months"],
            "order_qty": items["order_qty"].fillna(0.0),
            "unit_cost": items["unit_cost"],
        }
    )
    samples = intermittent_samples(items, monthly)
    return inventory_frontier.analytic_frontier(
        frame, cycle_service_levels, samples={frame.index[i]: x for i, x in samples.items()}
    )


#: Months at the start of the replayed history in which an item must have sold to be replayed [months].
BACKTEST_MIN_HISTORY_MONTHS = 12


def policy_backtest(
    engine: Engine,
    cycle_id: int,
    *,
    fill_rate_targets: tuple[float, ...] = (0.90, 0.95, 0.98),
    history_months: int = 48,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Replay the sales history before the cycle under the (R, S) policy, per ABC class and fill-rate target.

    Each ABC class is replayed with lead time L = the class's median preferred lead time in whole
    months, R = 1 month, the seasonal forecast with trend (a mean forecast when most of the class is
    intermittent) and the safety factor from the class's pooled empirical forecast errors
    (``method="pooled"`` of :mod:`sop_core.planning.policy`: no normality assumed, fast and intermittent
    items alike), over the last ``history_months`` months from the first month with a sale (the
    first 24 as warm-up). The naive
    rule S = k × mean demand is tuned to the same achieved fill rate to compare stock (NaN when
    it cannot reach it). Items first sold after the first :data:`BACKTEST_MIN_HISTORY_MONTHS`
    months of that history are left out and counted in ``new_items``: a launch has no history a
    replenishment rule could learn from (its first months come from the planners' forecast).

    Returns:
        ``segment, items, new_items, method, lead_time_months, fill_rate_target, fill_rate, csl,
        avg_inventory_value, orders, naive_cover_months, naive_inventory_value, inventory_ratio`` (shares,
        currency, counts); ``fill_rate`` and ``csl`` are the fill rate and cycle service level achieved.
    """
    items = inventory_policy(engine, cycle_id)
    with session_scope(engine) as s:
        cyc = cycle_repo.cycle(s, cycle_id)
        month = cyc.month if cyc is not None else None
        products = master_repo.products(s)
        monthly = monthly_history(s, products, month - relativedelta(months=1), history_months)
    history = monthly.rename(columns={"sku": "unique_id", "period": "ds", "quantity": "y"})
    selling_months = history.loc[history["y"] > 0, "ds"]
    if not selling_months.empty:  # the months before the first sale of any item are no history
        history = history[history["ds"] >= selling_months.min()]
    value = products.set_index("sku")["unit_cost"]
    early = history[history["ds"] < history["ds"].min() + pd.DateOffset(months=BACKTEST_MIN_HISTORY_MONTHS)]
    established = set(early.loc[early["y"] > 0, "unique_id"])
    rows: list[dict[str, Any]] = []
    segments = [seg for seg in ("A", "B", "C") if (items["abc"] == seg).any()]
    steps = max(1, len(segments) * len(fill_rate_targets))
    for seg in segments:
        selling = items[(items["abc"] == seg) & (items["demand_mean"] > 0)]
        part_items = selling[selling["sku"].isin(established)]
        if part_items.empty:
            continue
        lead = int(round(float(part_items["lead_time_months"].median())))
        method: Literal["pooled"] = "pooled"
        model: Literal["mean", "seasonal_trend"] = (
            "mean" if part_items["intermittent"].mean() > 0.5 else "seasonal_trend"
        )
        values, ids = policy.wide_demand(history[history["unique_id"].isin(part_items["sku"])])
        for target in fill_rate_targets:
            if progress is not None:
                progress(len(rows) / steps, f"Replaying class {seg} at a fill-rate target of {100 * target:.0f} %")
            common = dict(lead_time=lead, review_period=1, warmup=24, unit_value=value)
            levels = policy.order_up_to_levels(values, target, lead_time=lead, method=method, model=model, window=24)
            got = policy.summarise(policy.replay(values, ids, levels, **common))
            try:
                k, naive = inventory_frontier.naive_cover(values, ids, got["fill_rate"], window=24, **common)
            except ValueError:  # the naive rule cannot reach that fill rate on this history
                k, naive = np.nan, {"avg_inventory_value": np.nan}
            rows.append(
                {
                    "segment": seg,
                    "items": int(got["items"]),
                    "new_items": len(selling) - len(part_items),
                    "method": method,
                    "lead_time_months": lead,
                    "fill_rate_target": target,
                    "fill_rate": got["fill_rate"],
                    "csl": got["csl"],
                    "avg_inventory_value": got["avg_inventory_value"],
                    "orders": int(got["orders"]),
                    "naive_cover_months": k,
                    "naive_inventory_value": naive["avg_inventory_value"],
                    "inventory_ratio": got["avg_inventory_value"] / naive["avg_inventory_value"]
                    if naive["avg_inventory_value"] > 0  # NaN compares False
                    else np.nan,
                }  # fmt: skip
            )
    if progress is not None:
        progress(1.0, "Backtest done")
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class PolicyEvaluation:
    """What the cycle's inventory policy costs and achieves, per ABC class."""

    frontier: pd.DataFrame  # service_frontier: inventory value per cycle service level target
    backtest: pd.DataFrame  # policy_backtest: the history replayed per fill-rate target


def evaluate_policy(engine: Engine, cycle_id: int) -> PolicyEvaluation:
    """The frontier and the backtest of a cycle's policy with their default settings (see
    :class:`PolicyEvaluation`), computed once per data version (:mod:`sop_core.services.figures`)."""
    return figures.once(
        engine, "evaluate_policy", (cycle_id,), policy_stamp(engine),
        lambda: PolicyEvaluation(frontier=service_frontier(engine, cycle_id), backtest=policy_backtest(engine, cycle_id)),
        tables=EVALUATION_TABLES,
    )


#: How a :class:`PolicyEvaluation` is stored (:mod:`sop_core.services.figures`).
EVALUATION_TABLES: figures.Tables[PolicyEvaluation] = figures.Tables(
    lambda e: {"frontier": e.frontier, "backtest": e.backtest}, lambda t: PolicyEvaluation(**t)
)
