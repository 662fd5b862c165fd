"""Inventory policy section (the KPIs page's Inventory policy tab): what it shows matches the supply services."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import screen
from streamlit.testing.v1 import AppTest

from sop_core.planning import segmentation
from sop_core.services import inventory_policy as policy_service
from sop_core.services import policy_backtest as backtest_service


def _section_script() -> None:
    import os

    from sop_core.db.engine import make_engine
    from sop_core.services.cycle import list_cycles
    from views import inventory_section

    engine = make_engine(os.environ["SOP_DATABASE_URL"])
    inventory_section.render(engine, list_cycles(engine)[0])


@pytest.fixture
def section(shared_app_env: str, shared_demo_url: str) -> tuple[AppTest, str]:  # noqa: ARG001
    """The section on the shared demo database: these tests only read it."""
    at = AppTest.from_function(_section_script, default_timeout=120)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at, shared_demo_url


def test_section_shows_matrix_policy_frontier_and_backtest(section: tuple[AppTest, str]) -> None:
    at, url = section
    with screen.current_cycle(url) as (engine, cycle):
        policy = policy_service.inventory_policy(engine, cycle.id)
        frontier = backtest_service.service_frontier(engine, cycle.id)
        backtest = backtest_service.policy_backtest(engine, cycle.id)
    # ABC/XYZ counts: the matrix of the classes the policy uses, every SKU counted once
    matrix = at.dataframe[0].value
    pd.testing.assert_frame_equal(matrix, segmentation.abc_xyz_matrix(policy), check_names=False)
    assert int(matrix.to_numpy().sum()) == len(policy) == 176
    # safety stock / reorder point / EOQ table: the service's numbers, intermittent items on the empirical method
    table = at.dataframe[1].value.set_index("SKU")
    expected = policy.set_index("sku")
    assert table["Safety stock"].round(6).to_dict() == expected["safety_stock"].round(6).to_dict()
    assert table["Reorder point"].round(6).to_dict() == expected["reorder_point"].round(6).to_dict()
    assert set(table.loc[expected["intermittent"], "Method"]) == {"empirical"}
    assert (table["Reorder point"] >= table["Safety stock"]).all()
    # frontier: per class, the inventory value rises with the cycle service level
    wide = at.dataframe[2].value
    assert list(wide.index)[0] == "80.0 %" and list(wide.index)[-1] == "99.5 %"
    for seg in ("A", "B", "C"):
        shown = wide[f"Class {seg}"].to_numpy()
        assert (shown[1:] > shown[:-1]).all()
        assert shown.tolist() == pytest.approx(frontier.loc[frontier["segment"] == seg, "inventory_value"].tolist())
    # backtest table: achieved fill rates as the service measured them
    shown_bt = at.dataframe[3].value
    assert shown_bt["Fill rate (achieved)"].round(6).tolist() == (backtest["fill_rate"] * 100).round(6).tolist()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Below reorder point"] == str(int(policy["below_reorder_point"].sum()))
    assert metrics["Intermittent items"] == str(int(policy["intermittent"].sum()))


def test_matrix_targets_switch_the_service_levels(section: tuple[AppTest, str]) -> None:
    at, _url = section
    at.radio(key="inv_targets").set_value("matrix").run()
    assert not at.exception, [e.message for e in at.exception]
    table = at.dataframe[1].value
    expected = table["ABC/XYZ class"].map(segmentation.DEFAULT_SERVICE_TARGETS) * 100
    assert table["Cycle service level (target)"].round(6).tolist() == expected.round(6).tolist()


def _frontier_drawn_is_the_service_frontier(at: AppTest, frontier: pd.DataFrame) -> None:
    fig = screen.figure(at, trace_name="Class A")
    segments = sorted(frontier["segment"].unique())
    assert [t["name"] for t in fig["data"]] == [f"Class {seg}" for seg in segments]
    for seg in segments:
        part = frontier[frontier["segment"] == seg]
        drawn = screen.trace(fig, f"Class {seg}")
        assert drawn["x"] == pytest.approx((part["cycle_service_level"] * 100).tolist())
        assert drawn["y"] == pytest.approx(part["inventory_value"].tolist())
        assert (np.diff(drawn["y"]) > 0).all()  # more service costs more stock
    assert fig["layout"]["xaxis"]["title"]["text"] == "Cycle service level, target (%)"


def _matrix_drawn_is_the_policy_classes(at: AppTest, policy: pd.DataFrame) -> None:
    counts = segmentation.abc_xyz_matrix(policy)
    heat = screen.figure(at, trace_type="heatmap")["data"][0]
    assert heat["y"] == ["A (80 % of value)", "B (next 15 %)", "C (last 5 %)"]
    assert heat["x"] == ["X (steady)", "Y (variable)", "Z (erratic)"]
    assert np.array(heat["z"]).tolist() == counts.to_numpy().tolist()
    target_ax = 100 * segmentation.DEFAULT_SERVICE_TARGETS["AX"]
    assert heat["text"][0][0] == f"{counts.loc['A', 'X']} SKUs<br>CSL target {target_ax:.0f} %"


def test_section_figures_draw_the_service_numbers(section: tuple[AppTest, str]) -> None:
    at, url = section
    with screen.current_cycle(url) as (engine, cycle):
        policy = policy_service.inventory_policy(engine, cycle.id)
        frontier = backtest_service.service_frontier(engine, cycle.id)
    _matrix_drawn_is_the_policy_classes(at, policy)
    _frontier_drawn_is_the_service_frontier(at, frontier)
