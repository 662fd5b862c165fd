"""Plan diff in either direction: only the months both plans cover are compared."""

from __future__ import annotations

import pandas as pd
import pytest

from sop_core.planning import plan_diff as diff


def frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=diff.VERSION_COLUMNS).assign(period=lambda f: pd.to_datetime(f["period"]))


LATER = frame(
    [
        # sku, family, period, stat s, base c, demand d, served v, revenue R (price 10)
        ("X", "F", "2026-11-01", 100.0, 100.0, 100.0, 100.0, 1000.0),
        ("X", "F", "2026-12-01", 100.0, 100.0, 100.0, 100.0, 1000.0),
    ]
)
EARLIER = frame(
    [
        ("X", "F", "2026-10-01", 90.0, 90.0, 90.0, 90.0, 900.0),  # not in the later plan's horizon
        ("X", "F", "2026-11-01", 80.0, 80.0, 80.0, 80.0, 800.0),
        ("X", "F", "2026-12-01", 120.0, 120.0, 120.0, 120.0, 1200.0),
    ]
)


def test_an_earlier_plan_as_after_leaves_out_the_months_before_the_before_plan() -> None:
    # before = the later plan (Nov–Dec), after = the earlier one (Oct–Dec): October is in one plan only
    lines = diff.decompose(LATER, EARLIER)
    assert lines["period"].dt.strftime("%Y-%m").tolist() == ["2026-11", "2026-12"]
    total = diff.summarize(lines).iloc[0]
    # before 1000 + 1000 = 2000; after 800 + 1200 = 2000; change 0, all statistical forecast (−200 + 200)
    assert (total["before"], total["after"], total["change"]) == (2000.0, 2000.0, 0.0)
    assert lines["statistical_forecast"].tolist() == pytest.approx([-200.0, 200.0])
    steps = diff.waterfall(lines).set_index("step")["value"]
    assert steps["before"] == 2000.0 and steps["after"] == 2000.0 and steps["new_actuals"] == 0.0


def test_plans_without_a_common_month_compare_nothing() -> None:
    later = LATER.assign(period=LATER["period"] + pd.DateOffset(months=3))  # Feb–Mar 2027
    lines = diff.decompose(later, EARLIER)
    assert lines.empty
    assert diff.waterfall(lines)["value"].tolist() == [0.0] * 8
