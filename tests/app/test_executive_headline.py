"""Executive review page: revenue and margin against budget and last plan, and past decisions with the scope
of their linked scenario, exactly as the services compute them."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from sop_core import formatting
from sop_core.config import CURRENCY
from sop_core.db.engine import make_engine
from sop_core.services import cycle as cycle_service
from sop_core.services import decisions, plan_changes
from sop_core.services import executive as executive_service


@pytest.fixture
def app_engine(shared_app_env: str) -> Iterator[Engine]:  # noqa: ARG001 - points SOP_DATABASE_URL at the shared demo
    """The shared demo database (this test only reads it)."""
    eng = make_engine(os.environ["SOP_DATABASE_URL"])
    yield eng
    eng.dispose()


def test_headline_and_past_decisions_as_the_services_compute_them(shared_app_env: str, app_engine: Engine) -> None:
    cycle_id = cycle_service.cycle_by_month(app_engine, "2026-11").id
    head = executive_service.headline(app_engine, cycle_id)
    past = decisions.past_decisions(app_engine, cycle_id)

    at = AppTest.from_file(shared_app_env, default_timeout=90)
    at.run()
    at.switch_page("views/executive.py").run()
    assert not at.exception, [e.message for e in at.exception]

    captions = [c.value for c in at.caption]
    assert (
        f"Vs budget over the 14 budgeted months: revenue {formatting.money(head['budget_gap'])} "
        f"(plan {formatting.money(head['plan_revenue_budget_months'])} vs {formatting.money(head['budget_revenue'])}), "
        f"margin {formatting.money(head['margin_vs_budget'])} (plan line margin "
        f"{formatting.money(head['plan_margin_budget_months'])} vs {formatting.money(head['budget_margin'])})."
    ) in captions
    # revenue over the plan diff's window (October 2026 is history now: new actuals), margin over the months
    # both plans forecast
    assert (
        f"Vs last plan 2026-10 v1: revenue {formatting.money(head['revenue_vs_last_plan'])} over 2026-10 – 2028-03 "
        f"(2026-10 at actual sales), the total of the plan diff below — "
        f"{formatting.money(head['revenue_vs_last_plan_new_actuals'])} new actuals and "
        f"{formatting.money(head['revenue_vs_last_plan_forecast_months'])} over the months both plans forecast; "
        f"margin {formatting.money(head['margin_vs_last_plan'])} over "
        f"2026-11 – 2028-03, the months both plans forecast ({plan_changes.LINE_MARGIN_BASIS})."
    ) in captions
    assert head["margin_budget_months"] == 14  # Nov 2026 – Dec 2027 of the 18-month horizon

    table = next(d.value for d in at.dataframe if "Scope" in d.value.columns).set_index("Decision")
    assert sorted(table["Cycle"].unique()) == ["2026-06", "2026-09", "2026-10"]
    push = table.loc["Push grills and mowers through August: +8 % and +5 % demand"]
    assert (push["Scenario"], push["Changes"], push["Scope"], push["Months"]) == (
        "Summer garden push", "GRILLS demand +8 %, MOWERS demand +5 % (to 2026-08)", "families GRILLS, MOWERS",
        "2026-06, 2026-07, 2026-08")
    expected = past.set_index("decision").loc[push.name]
    assert push[f"Planned revenue ({CURRENCY})"] == pytest.approx(expected["planned_revenue"])
    assert push[f"Actual revenue ({CURRENCY})"] == pytest.approx(expected["actual_revenue"])
    assert push["Revenue vs plan"] == formatting.percent(expected["actual_vs_plan"])
    assert push["Result"] == "actuals for 3 months"
    review = table.loc["Review the kettle and toaster range with the key accounts"]  # no scenario: its family
    assert (review["Scope"], review["Months"]) == ("family KETTLES", "2026-06, 2026-07, 2026-08, 2026-09, 2026-10")
