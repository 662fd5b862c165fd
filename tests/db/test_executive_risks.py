"""Top risks and opportunities of the executive review on the demo company, recomputed from the capacity and
plan tables they summarise; and the figures are the same whether the current plan is handed in or not."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.services import cycle as cycle_service
from sop_core.services import executive as executive_service
from sop_core.services import plan


def test_risks_and_opportunities_summarise_capacity_and_budget(demo_engine: Engine) -> None:
    cycle = cycle_service.current_cycle(demo_engine)
    current = plan.current_plan(demo_engine, cycle.id)
    out = executive_service.risks_opportunities(demo_engine, cycle.id, current=current)
    # capacity: per resource, the months above regular capacity and the hours above it
    hot = executive_service.capacity_risks(demo_engine, cycle.id, current=current)
    over = (hot["load_hours"] - hot["capacity_hours"]).groupby(hot["resource"]).sum()
    months = hot.groupby("resource").size()
    capacity = out["risks"][out["risks"]["kind"] == "capacity"]
    for row in capacity.itertuples(index=False):
        resource = row.text.split(":")[0]
        assert row.value == -over[resource]
        unit = "month" if months[resource] == 1 else "months"
        assert row.text.startswith(f"{resource}: {months[resource]} {unit} over regular capacity, "
                                   f"{over[resource]:,.0f} h above it")
    # opportunities: families whose plan revenue is above budget, the largest gaps first
    table = plan.plan_table(demo_engine, cycle.id, current=current)
    fam = table.groupby("family")[["revenue", "budget_revenue"]].sum(min_count=1)
    gap = (fam["revenue"] - fam["budget_revenue"]).dropna()
    top = gap[gap > 0].sort_values(ascending=False).head(5)
    assert out["opportunities"]["family"].tolist() == top.index.tolist()
    assert out["opportunities"]["value"].tolist() == top.tolist()
    # a resource over in one month only reads "1 month": ULM-SMA's regular capacity raised to between the loads
    # of its two busiest months
    loads = executive_service.capacity_table(demo_engine, cycle.id, current=current)
    top2 = loads.loc[loads["resource"] == "ULM-SMA", "load_hours"].nlargest(2)
    with session_scope(demo_engine) as s:
        s.get(m.Resource, "ULM-SMA").capacity_hours = float(top2.mean())
    hot = executive_service.capacity_risks(demo_engine, cycle.id)
    assert (hot["resource"] == "ULM-SMA").sum() == 1
    texts = executive_service.risks_opportunities(demo_engine, cycle.id)["risks"]["text"]
    assert any(t.startswith("ULM-SMA: 1 month over regular capacity, ") for t in texts)


def test_figures_are_the_same_with_the_current_plan_handed_in(demo_engine: Engine) -> None:
    cycle = cycle_service.current_cycle(demo_engine)
    current = plan.current_plan(demo_engine, cycle.id)
    assert executive_service.headline(demo_engine, cycle.id, current=current) == executive_service.headline(demo_engine, cycle.id)
    pd.testing.assert_frame_equal(plan.plan_table(demo_engine, cycle.id, current=current),
                                  plan.plan_table(demo_engine, cycle.id))
    assert current[0]["source"] == "baseline"  # the demo's open cycle has no promoted plan: the costly case
