"""Figures computed once per data version (sop_core.services.figures): a change of the data shows at once, whether
the figure was kept in this process or stored in the database; unchanged data are not computed again."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

import serve
from sop_core.db import models as m
from sop_core.db import plan_repo, repo, stamp_repo
from sop_core.db.engine import session_scope
from sop_core.db.models_figures import StoredFigure
from sop_core.planning import forecast as fc
from sop_core.services import cycle as cycle_service
from sop_core.services import demand, figures, page_figures, plan, plan_changes, supply_review
from sop_core.services import inventory_policy as policy_service


def _kpi_cases():  # noqa: ANN202 - the module of tests/core/test_kpi.py
    spec = importlib.util.spec_from_file_location("kpi_cases", Path(__file__).parents[1] / "core" / "test_kpi.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def _refuse(*_args: object, **_kwargs: object) -> pd.DataFrame:
    raise AssertionError("computed again")


def _on_hand(engine: Engine, cycle_id: int, sku: str) -> float:
    policy = policy_service.inventory_policy(engine, cycle_id)
    return float(policy.set_index("sku").at[sku, "on_hand"])


def test_a_data_change_shows_in_kept_and_stored_figures(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    cycle_id = _kpi_cases().seed_small_company(engine)
    assert _on_hand(engine, cycle_id, "A") == 60.0  # the snapshot of 2026-10-31
    stored = page_figures.store_page_figures(engine)
    assert {"inventory policy", "supply review", "KPI review"} <= set(stored)  # 13 months: too few to replay
    # a restarted server: nothing kept, the stored figures are read, nothing is computed
    figures.forget()
    monkeypatch.setattr(policy_service, "_inventory_policy", _refuse)
    monkeypatch.setattr(supply_review, "_review", _refuse)
    assert _on_hand(engine, cycle_id, "A") == 60.0
    assert supply_review.review(engine, cycle_id, "2026-11").source == "consensus"
    # a new stock count of A: the stamp changes, the kept and the stored figures are both out of date
    with session_scope(engine) as s:
        repo.upsert_frame(s, "inventory", pd.DataFrame({"sku": ["A"], "as_of": [pd.Timestamp("2026-10-31")],
                                                        "on_hand": [75.0]}))
    for figure in (lambda: policy_service.inventory_policy(engine, cycle_id),
                   lambda: supply_review.review(engine, cycle_id, "2026-11")):
        with pytest.raises(AssertionError, match="computed again"):
            figure()
    monkeypatch.undo()
    assert _on_hand(engine, cycle_id, "A") == 75.0


def test_a_stored_figure_of_other_code_is_computed_again(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    cycle_id = _kpi_cases().seed_small_company(sqlite_engine)
    page_figures.store_page_figures(sqlite_engine, cycle_id)
    figures.forget()
    monkeypatch.setattr(figures, "code_version", lambda: "another")
    monkeypatch.setattr(policy_service, "_inventory_policy", _refuse)
    with pytest.raises(AssertionError, match="computed again"):
        policy_service.inventory_policy(sqlite_engine, cycle_id)


def test_looking_writes_nothing(sqlite_engine: Engine) -> None:
    # outside figures.storing() a figure is computed and kept in this process, never written to the database
    cycle_id = _kpi_cases().seed_small_company(sqlite_engine)
    policy_service.inventory_policy(sqlite_engine, cycle_id)
    with session_scope(sqlite_engine) as s:
        assert repo.count_rows(s, StoredFigure) == 0
    with figures.storing():
        figures.forget()
        policy_service.inventory_policy(sqlite_engine, cycle_id)
    with session_scope(sqlite_engine) as s:
        assert repo.count_rows(s, StoredFigure) == 1


def test_held_stamps_read_each_table_once(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    table_stamp = stamp_repo.table_stamp

    def counted(session: object, model: type[m.Base]) -> tuple[object, ...]:
        read.append(model.__tablename__)
        return table_stamp(session, model)  # type: ignore[arg-type]

    def write_elsewhere(name: str) -> None:  # moves the data version, not these tables' stamps
        with session_scope(sqlite_engine) as s:
            s.add(m.AppUser(username=name, display_name=name, role="viewer"))

    monkeypatch.setattr(stamp_repo, "table_stamp", counted)
    first = figures.data_stamp(sqlite_engine, m.SalesHistory, m.Product)
    # remembered while nothing is written; read again after any write
    assert figures.data_stamp(sqlite_engine, m.SalesHistory, m.Product) == first and len(read) == 2
    write_elsewhere("u1")
    assert figures.data_stamp(sqlite_engine, m.SalesHistory, m.Product) == first and len(read) == 4
    write_elsewhere("u2")
    read.clear()
    with figures.held_stamps():  # held through writes (the figures stored meanwhile)
        assert figures.data_stamp(sqlite_engine, m.SalesHistory, m.Product) == first
        write_elsewhere("u3")
        assert figures.data_stamp(sqlite_engine, m.Product, m.Inventory) != first
        write_elsewhere("u4")
        assert figures.data_stamp(sqlite_engine, m.SalesHistory, m.Product) == first
    assert sorted(read) == ["inventory", "product", "sales_history"]


def test_the_plan_and_review_stamps_read_each_table_once_per_data_version(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inputs stamp, the review stamps (executive and demand) and the figures' stamps share each table's read (the Executive review's
    first visit read the sales history three times at 100×): a whole table once, a cycle's rows once per cycle."""
    read: list[tuple[str, int]] = []
    table_stamp = stamp_repo.table_stamp

    def counted(session: object, model: type[m.Base], *where: object) -> tuple[object, ...]:
        read.append((model.__tablename__, len(where)))
        return table_stamp(session, model, *where)  # type: ignore[arg-type]

    monkeypatch.setattr(stamp_repo, "table_stamp", counted)
    inputs = plan.inputs_stamp(sqlite_engine, 1)
    review = plan_changes.review_stamp(sqlite_engine, 1)
    figures.data_stamp(sqlite_engine, m.SalesHistory, m.Product, m.Scenario)
    demand.review_stamp(sqlite_engine, 1)
    assert sorted(read) == sorted({(model.__tablename__, int(column is not None))
                                   for model, column in plan_repo.REVIEW_TABLES})
    assert read.count(("sales_history", 0)) == 1 and read.count(("plan_cycle", 0)) == read.count(("plan_cycle", 1)) == 1
    plan.inputs_stamp(sqlite_engine, 2)  # another cycle: its own rows read, the shared tables not
    assert sorted(read[-3:]) == [("forecast_override", 1), ("forecast_run", 1), ("plan_cycle", 1)]
    assert (plan.inputs_stamp(sqlite_engine, 1), plan_changes.review_stamp(sqlite_engine, 1)) == (inputs, review)
    assert len(read) == len(plan_repo.REVIEW_TABLES) + 3  # nothing read again for cycle 1


def test_the_stamps_read_at_a_server_start_serve_the_first_visit(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with session_scope(sqlite_engine) as s:
        s.add(m.PlanCycle(month=dt.date(2026, 11, 1), status="demand_review", status_by="dana",
                          status_at=dt.datetime(2026, 11, 1)))
    page_figures.read_ahead(sqlite_engine)
    read: list[str] = []
    table_stamp = stamp_repo.table_stamp

    def counted(session: object, model: type[m.Base], *where: object) -> tuple[object, ...]:
        read.append(model.__tablename__)
        return table_stamp(session, model, *where)  # type: ignore[arg-type]

    monkeypatch.setattr(stamp_repo, "table_stamp", counted)
    cycle_id = cycle_service.list_cycles(sqlite_engine)[0].id
    demand.review_stamp(sqlite_engine, cycle_id)
    plan.inputs_stamp(sqlite_engine, cycle_id)
    plan_changes.review_stamp(sqlite_engine, cycle_id)
    assert read == []  # all read ahead
    # the server's warm-up leaves a database that the first start has not created yet alone
    monkeypatch.setenv("SOP_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    serve.warm_up()
    assert not (tmp_path / "new.db").exists() and read == []



def test_the_demand_reviews_opening_chart_is_read_ahead_at_a_server_start(
    demo_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the read-ahead, the first visit's chart of the total (the page a visit opens on) is at hand: no table
    stamp, stored figure or computation is read for it, and it is the chart the page would compute."""
    cycle_id = cycle_service.list_cycles(demo_engine)[0].id
    figures.forget()
    page_figures.read_ahead(demo_engine)
    touched: list[str] = []
    monkeypatch.setattr(stamp_repo, "table_stamp", lambda *_a, **_k: touched.append("stamp"))
    monkeypatch.setattr(figures, "_read_stored", lambda *_a, **_k: touched.append("stored"))
    monkeypatch.setattr(demand, "_chart_view", lambda *_a, **_k: touched.append("computed"))
    shown = demand.chart_view(demo_engine, cycle_id, "total", fc.TOTAL_ITEM)
    assert touched == []
    monkeypatch.undo()
    computed = demand._chart_view(demo_engine, cycle_id, "total", fc.TOTAL_ITEM,
                                  int(demand.latest_run(demo_engine, cycle_id)["id"]))
    pd.testing.assert_frame_equal(shown, computed)
    assert len(shown) > 48 and shown["forecast"].notna().sum() == 18

def test_table_stamps_follow_every_kind_of_change(sqlite_engine: Engine) -> None:
    def stamp() -> str:
        return figures.data_stamp(sqlite_engine, m.Product, m.SalesHistory)

    frames = {
        "product": pd.DataFrame({"sku": ["A", "B"], "name": ["Alpha", "Beta"], "family": ["F1", "F2"],
                                 "category": "K", "unit_price": 10.0, "unit_cost": 6.0, "holding_rate": 0.25,
                                 "order_cost": 50.0, "service_target": 0.95}),
        "sales_history": pd.DataFrame({"sku": ["A", "B"], "period": pd.Timestamp("2026-01-01"), "quantity": [5.0, 7.0],
                                       "net_price": None, "promo": 0}),
    }
    seen = {stamp()}

    def change(table: str, frame: pd.DataFrame) -> None:
        with session_scope(sqlite_engine) as s:
            repo.upsert_frame(s, table, frame)
        seen.add(stamp())

    change("product", frames["product"])
    change("sales_history", frames["sales_history"])
    change("sales_history", frames["sales_history"].assign(quantity=[5.0, 8.0]))  # a quantity updated in place
    change("product", frames["product"].assign(family=["F2", "F1"]))  # the families swapped: same sums, new text
    assert len(seen) == 5


def test_a_stored_table_keeps_its_values_and_their_kinds(sqlite_engine: Engine) -> None:
    # a KPI summary holds whole numbers (SKU counts) and floats in one column; dates, missing values, attributes
    table = pd.DataFrame(
        {"kpi": ["Stockouts", "Fill rate"], "value": np.array([3, 97.5], dtype=object),
         "gap": np.array([np.nan, -0.5], dtype=object), "when": pd.to_datetime(["2026-10-31", None]),
         "orders": pd.array([2, None], dtype="Int64")},
        index=pd.Index(["stockouts", "fill_rate"], name="key"),
    )
    table.attrs.update(as_of="2026-10-31")
    with figures.storing():
        figures.once(sqlite_engine, "kinds", (1,), "s", lambda: table, tables=figures.ONE_TABLE)
    figures.forget()
    back = figures.once(sqlite_engine, "kinds", (1,), "s", _refuse, tables=figures.ONE_TABLE)
    pd.testing.assert_frame_equal(back, table)
    assert back.attrs == {"as_of": "2026-10-31"}
    assert [type(v) for v in back["value"]] == [int, float]
    one = {"n": 3, "share": 0.25, "when": pd.Timestamp("2026-11-01"), "none": None, "label": "run 4",
           "day": dt.datetime(2026, 11, 2, 9, 30)}
    with figures.storing():
        figures.once(sqlite_engine, "row", (), "s", lambda: one, tables=figures.ONE_ROW)
    figures.forget()
    assert figures.once(sqlite_engine, "row", (), "s", _refuse, tables=figures.ONE_ROW) == one
    # every caller gets its own copy
    kept = figures.once(sqlite_engine, "kinds", (1,), "s", _refuse, tables=figures.ONE_TABLE)
    kept.loc["stockouts", "kpi"] = "changed"
    assert figures.once(sqlite_engine, "kinds", (1,), "s", _refuse, tables=figures.ONE_TABLE).equals(table)


def test_the_executive_reviews_slow_parts_are_stored_ahead(demo_engine: Engine, monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """The change against the last plan and the outcome of past decisions are read back as computed (a restarted
    server computes neither), and a new decision makes both out of date."""
    from sop_core.services import cycle as cycle_service
    from sop_core.services import decisions, executive, plan_changes

    cycle_id = cycle_service.current_cycle(demo_engine).id
    assert "executive review" in page_figures.store_page_figures(demo_engine, cycle_id)
    computed = executive.review(demo_engine, cycle_id)
    assert len(computed.past) >= 4 and computed.last_plan.diff is not None  # the demo's signed cycles
    figures.forget()
    monkeypatch.setattr(decisions, "_past_decisions", _refuse)
    monkeypatch.setattr(plan_changes, "_last_plan_change", _refuse)
    read = executive.review(demo_engine, cycle_id)
    pd.testing.assert_frame_equal(read.past.reset_index(drop=True), computed.past.reset_index(drop=True),
                                  check_dtype=False)
    assert read.last_plan.label == computed.last_plan.label
    assert read.last_plan.revenue_change == pytest.approx(computed.last_plan.revenue_change, rel=1e-12)
    assert read.last_plan.margin_change == pytest.approx(computed.last_plan.margin_change, rel=1e-12)
    assert read.last_plan.diff.after_first == computed.last_plan.diff.after_first
    pd.testing.assert_frame_equal(read.last_plan.diff.waterfall, computed.last_plan.diff.waterfall, check_dtype=False)
    # any write (here: a row of the audit trail, which every edit writes) changes the data version
    with session_scope(demo_engine) as s:
        s.add(m.AuditLog(username="dana", action="decision", entity="decision", entity_id="0", detail={}))
    with pytest.raises(AssertionError, match="computed again"):
        executive.review(demo_engine, cycle_id)
