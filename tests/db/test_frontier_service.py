"""The on-screen service frontier agrees with the policy table, intermittent items included."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.planning import inventory
from sop_core.services import cycle as cycle_service
from sop_core.services import inventory_policy as policy_service
from sop_core.services import policy_backtest as backtest_service
from sop_core.units import DAYS_PER_MONTH


def test_frontier_at_one_level_equals_the_policy_table_at_that_target(demo_engine: Engine) -> None:
    # Every product targeted at 95 %: the frontier's safety-stock value at 95 % per ABC class must be
    # Σ SS × unit cost of the policy table, whose intermittent items take the empirical SS.
    with session_scope(demo_engine) as s:
        s.execute(update(m.Product).values(service_target=0.95))
    cycle = cycle_service.current_cycle(demo_engine)
    items = policy_service.inventory_policy(demo_engine, cycle.id)
    assert items["intermittent"].sum() > 0  # the demo has intermittent items
    frontier = backtest_service.service_frontier(demo_engine, cycle.id, (0.95,)).set_index("segment")
    expected = (items["safety_stock"] * items["unit_cost"]).groupby(items["abc"].fillna("C")).sum()
    for seg, value in expected.items():
        assert frontier.loc[seg, "safety_stock_value"] == pytest.approx(value, rel=1e-9), seg
    # ... and differs from the normal formula applied to every item in a class holding intermittent items
    normal = inventory.safety_stock(
        0.95,
        items["demand_mean"].fillna(0.0),
        items["demand_std"].fillna(0.0),
        items["lead_time_months"],
        items["lead_time_std_days"].fillna(0.0) / DAYS_PER_MONTH,
        items["review_months"],
    )
    normal_value = (normal.clip(lower=0.0) * items["unit_cost"]).groupby(items["abc"].fillna("C")).sum()
    seg = items.loc[items["intermittent"], "abc"].fillna("C").mode()[0]
    assert abs(frontier.loc[seg, "safety_stock_value"] - normal_value[seg]) > 1.0


def test_backtest_leaves_out_items_launched_within_the_replayed_history(demo_engine: Engine) -> None:
    # The replay covers the 48 months before the cycle, from the first month with a sale; an item first sold
    # after its first 12 months (a launch: the demo has several) has no history to learn from and is counted
    # in new_items instead of replayed.
    import datetime as dt

    from dateutil.relativedelta import relativedelta
    from sqlalchemy import func, select

    cycle = cycle_service.current_cycle(demo_engine)
    window_start = dt.date.fromisoformat(f"{cycle.label}-01") - relativedelta(months=48)
    with session_scope(demo_engine) as s:
        first_sale = dict(
            s.execute(
                select(m.SalesHistory.sku, func.min(m.SalesHistory.period))
                .where(m.SalesHistory.quantity > 0, m.SalesHistory.period >= window_start)
                .group_by(m.SalesHistory.sku)
            ).all()
        )
    start = min(first_sale.values())
    launched = {sku for sku, first in first_sale.items() if first >= start + relativedelta(months=12)}
    assert launched  # the demo launches products in these four years
    items = policy_service.inventory_policy(demo_engine, cycle.id)
    selling = items[items["demand_mean"] > 0]
    backtest = backtest_service.policy_backtest(demo_engine, cycle.id, fill_rate_targets=(0.95,)).set_index("segment")
    for seg, part in selling.groupby(selling["abc"]):
        new = int(part["sku"].isin(launched).sum())
        assert backtest.loc[seg, "new_items"] == new, seg
        assert backtest.loc[seg, "items"] == len(part) - new, seg
