"""Demand review page: what the planner sees equals what the demand service computes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from sop_core import formatting
from sop_core.db.engine import make_engine
from sop_core.services import cycle as cycle_service
from sop_core.services import demand, demand_accuracy, overrides, users
from sop_core.units import MAX_PICKER_OPTIONS


@pytest.fixture
def db(demo_url: str) -> Iterator[Engine]:
    eng = make_engine(demo_url)
    yield eng
    eng.dispose()


@pytest.fixture
def shared_db(shared_demo_url: str) -> Iterator[Engine]:
    """The shared demo database, for the tests that only read it."""
    eng = make_engine(shared_demo_url)
    yield eng
    eng.dispose()


def _open(app_env: str, **session: object) -> AppTest:
    at = AppTest.from_file(app_env, default_timeout=120)
    for k, v in session.items():
        at.session_state[k] = v
    at.run()  # Demand review is the default page (served at "/")
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "Demand review"
    return at


@pytest.fixture
def page(shared_app_env: str) -> AppTest:
    return _open(shared_app_env)


def _current(db: Engine) -> int:
    return cycle_service.list_cycles(db)[0].id


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _expected(summary: dict) -> dict[str, str]:
    return {
        "Forecast, next 12 months": formatting.quantity(summary["forecast_12m"]),
        "Consensus, next 12 months": formatting.quantity(summary["consensus_12m"]),
        "vs last 12 months": formatting.percent(summary["change_12m"]),
        "Backtest WMAPE": formatting.percent(summary["backtest_wmape"]),
        "Forecast run": f"#{summary['run_id']} · {summary['engine']}",
    }


def _table(at: AppTest, first_column: str) -> pd.DataFrame:
    """The read-only table whose first column has this header."""
    return [d.value for d in at.dataframe if d.editing_mode == "read_only" and d.value.columns[0] == first_column][0]


def _chart_consensus(at: AppTest) -> list[float]:
    """The y values of the chart's "Consensus" trace (plotly sends arrays as base64 typed buffers)."""
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    y = [t for t in traces if t.get("name") == "Consensus"][0]["y"]
    if isinstance(y, dict):
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"])).tolist()
    return list(y)


def test_default_view_is_the_total_of_the_current_cycle(page: AppTest, shared_db: Engine) -> None:
    db = shared_db
    cid = _current(db)
    assert page.title[0].value == "Demand review"
    assert page.selectbox(key="demand_level").value == "total"
    assert page.selectbox(key="demand_item").value == "Total"
    run = demand.latest_run(db, cycle_id=cid)
    summary = demand.item_summary(db, "total", "Total", run["id"], cid)
    assert summary["forecast_12m"] > 0 and summary["consensus_12m"] > 0
    assert _metrics(page) == _expected(summary)
    # the grid lists the 18 forecast months from November 2026 with statistical and consensus
    grid = overrides.override_grid(db, cid, "total", "Total")
    assert len(grid) == run["horizon"] == 18
    assert pd.Timestamp(grid["period"].iloc[0]) == pd.Timestamp("2026-11-01")
    shown = page.data_editor[0].value
    assert shown["consensus"].tolist() == pytest.approx(grid["consensus"].tolist())
    assert shown["statistical"].tolist() == pytest.approx(grid["statistical"].tolist())
    assert _chart_consensus(page) == pytest.approx(grid["consensus"].tolist())
    assert "Overrides and consensus by month" in [s.value for s in page.subheader]
    # biggest changes vs the 2026-10 cycle and the accuracy tables show the service's figures
    changes = demand_accuracy.changes_vs_last_cycle(db, cid, "family")
    shown = _table(page, "Family")
    assert shown["Family"].tolist() == changes["item"].tolist()
    assert shown["Change"].tolist() == [formatting.quantity(v) for v in changes["change"]]
    acc = demand_accuracy.item_accuracy(db, cid, "total", "Total").set_index("forecast")
    shown = _table(page, "Forecast").set_index("Forecast")
    assert shown.loc["Consensus", "WMAPE"] == formatting.percent(acc.loc["Consensus", "wmape"]) != "–"
    assert shown.loc["Seasonal naive", "MASE"] == formatting.number(acc.loc["Seasonal naive", "mase"])
    fva = demand_accuracy.fva_table(db, cid)
    shown = _table(page, "Group")
    assert shown["FVA consensus"].tolist() == [formatting.percent(v) for v in fva["fva_consensus"]]
    assert "Author" in shown["Group"].tolist()
    # switching to a family shows its figures
    page.selectbox(key="demand_level").set_value("family").run()
    assert not page.exception, [e.message for e in page.exception]
    families = demand.items(db, "family")
    assert page.selectbox(key="demand_item").options == families
    run_id = demand.latest_run(db, cycle_id=cid)["id"]
    assert _metrics(page) == _expected(demand.item_summary(db, "family", families[0], run_id, cid))
    other = families[-1]
    page.selectbox(key="demand_item").set_value(other).run()
    assert _metrics(page) == _expected(demand.item_summary(db, "family", other, run_id, cid))


def test_a_saved_family_override_shows_as_consensus(app_env: str, db: Engine) -> None:
    cid = _current(db)
    family = demand.items(db, "family")[0]
    grid = overrides.override_grid(db, cid, "family", family)
    first = pd.Timestamp(grid["period"].iloc[0])
    edits = pd.DataFrame({"period": [first], "value": [None], "pct": [20.0], "reason": ["promotion"],
                          "comment": ["spring campaign"]})
    overrides.save_overrides(db, cid, "family", family, edits, "dana", {first: grid["version"].iloc[0]})
    at = _open(app_env, demand_level="family", demand_item=family)
    after = overrides.override_grid(db, cid, "family", family)
    assert after["consensus"].iloc[0] == pytest.approx(1.2 * after["statistical"].iloc[0])
    assert _chart_consensus(at) == pytest.approx(after["consensus"].tolist())
    run_id = demand.latest_run(db, cycle_id=cid)["id"]
    summary = demand.item_summary(db, "family", family, run_id, cid)
    assert summary["consensus_12m"] > summary["forecast_12m"]
    assert _metrics(at)["Consensus, next 12 months"] == formatting.quantity(summary["consensus_12m"])
    # the total consensus moves by the same units; the changes table lists the family
    total = overrides.override_grid(db, cid, "total", "Total")
    assert total["consensus"].iloc[0] - total["statistical"].iloc[0] == pytest.approx(0.2 * after["statistical"].iloc[0])


def _conflict_table(at: AppTest) -> pd.DataFrame:
    """The table of the other person's changes shown on an edit conflict."""
    return next(d.value for d in at.dataframe if "Changed by" in d.value.columns)


def test_editing_the_grid_saves_an_override(app_env: str, db: Engine) -> None:
    cid = _current(db)
    at = _open(app_env)
    key = [k for k in at.session_state if str(k).startswith("demand_grid_")]
    grid_key = f"demand_grid_{cid}_total_Total_0"
    at.session_state[grid_key] = {"edited_rows": {"1": {"pct": 10.0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key="demand_save").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert [e.value for e in at.error] == ["2026-12: a reason code is required"], key
    assert overrides.list_overrides(db, cid).empty
    at.session_state[grid_key] = {"edited_rows": {"1": {"pct": 10.0, "reason": "market intelligence"}},
                                  "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key="demand_save").click().run()
    assert not at.exception, [e.message for e in at.exception]
    saved = overrides.list_overrides(db, cid)
    assert saved[["level", "item", "pct", "reason", "author"]].values.tolist() == [
        ["total", "*", 10.0, "market intelligence", "demo"]]
    grid = overrides.override_grid(db, cid, "total", "Total")
    assert grid["consensus"].iloc[1] == pytest.approx(1.1 * grid["statistical"].iloc[1])
    shown = at.data_editor[0].value
    assert shown["consensus"].tolist() == pytest.approx(grid["consensus"].tolist())
    assert shown["author"].iloc[1] == "demo"
    assert _chart_consensus(at) == pytest.approx(grid["consensus"].tolist())
    # another planner changes the same month meanwhile: the stale save is refused and nothing is lost
    other = pd.DataFrame({"period": [grid["period"].iloc[1]], "pct": [-5.0], "reason": ["lost customer"]})
    users.add_user(db, "demo", "erin", "demand_planner")
    overrides.save_overrides(db, cid, "total", "Total", other, "erin", {grid["period"].iloc[1]: 1})
    grid_key = f"demand_grid_{cid}_total_Total_1"
    at.session_state[grid_key] = {"edited_rows": {"1": {"pct": 12.0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key="demand_save").click().run()
    assert any("Someone changed these months since you opened them: 2026-12 by erin" in e.value for e in at.error)
    assert overrides.list_overrides(db, cid)["pct"].tolist() == [-5.0]
    # the page shows erin's change against mine, and keeping theirs shows their numbers
    shown = _conflict_table(at)
    assert shown[["What", "Changed by", "Their value", "Your value"]].values.tolist() == [
        ["2026-12", "erin", "-5 %", "+12 %"]]
    at.button(key=f"demand_{cid}_total_Total_keep_theirs").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.data_editor[0].value["author"].iloc[1] == "erin"
    assert not at.error and overrides.list_overrides(db, cid)["pct"].tolist() == [-5.0]
    # erin changes it again; this time I save mine over theirs
    overrides.save_overrides(db, cid, "total", "Total", other.assign(pct=[-7.0]), "erin", {grid["period"].iloc[1]: 2})
    grid_key = f"demand_grid_{cid}_total_Total_2"
    at.session_state[grid_key] = {"edited_rows": {"1": {"pct": 15.0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key="demand_save").click().run()
    assert _conflict_table(at)[["Changed by", "Their value", "Your value"]].values.tolist() == [
        ["erin", "-7 %", "+15 %"]]
    at.button(key=f"demand_{cid}_total_Total_save_mine").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error
    assert overrides.list_overrides(db, cid)[["pct", "author", "version"]].values.tolist() == [[15.0, "demo", 4]]
    assert at.data_editor[0].value["pct"].iloc[1] == 15.0


def test_meeting_mode_and_a_locked_cycle_are_read_only(shared_app_env: str, shared_db: Engine) -> None:
    db = shared_db
    at = _open(shared_app_env, meeting_mode=True)
    assert "Meeting mode: overrides are read-only." in [i.value for i in at.info]
    assert not [b for b in at.button if b.key == "demand_save"]
    assert at.data_editor[0].proto.disabled
    locked = [c for c in cycle_service.list_cycles(db) if c.status not in overrides.EDITABLE_STATES][0]
    at.session_state["meeting_mode"] = False
    at.session_state["cycle_month"] = locked.label
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert f"Cycle {locked.label} is in {locked.status}: its overrides are locked (they change only in draft or " \
        "demand review)." in [i.value for i in at.info]
    assert not [b for b in at.button if b.key == "demand_save"]


@pytest.mark.slow
def test_a_cycle_without_forecast_offers_to_run_it(app_env: str, db: Engine) -> None:
    from sqlalchemy import delete

    from sop_core.db import models as m
    from sop_core.db.engine import session_scope

    cid = _current(db)
    with session_scope(db) as s:
        runs = s.scalars(m.ForecastRun.__table__.select().with_only_columns(m.ForecastRun.id)
                         .where(m.ForecastRun.cycle_id == cid)).all()
        s.execute(delete(m.Forecast).where(m.Forecast.run_id.in_(runs)))
        s.execute(delete(m.ForecastRun).where(m.ForecastRun.id.in_(runs)))
    at = _open(app_env)
    assert "Cycle 2026-11 has no forecast yet." in [i.value for i in at.info]
    assert not at.metric
    at.button(key="demand_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    run = demand.latest_run(db, cycle_id=cid)
    assert run is not None and run["created_by"] == "demo"
    assert _metrics(at)["Forecast run"] == f"#{run['id']} · {run['engine']}"


def test_two_planners_each_see_their_own_save_and_are_told_of_the_others(app_env: str, db: Engine) -> None:
    # The loaders' cache is shared by every session: it is keyed on the database's review stamp, so
    # planner B's save shows to B at once even after planner A saved (a per-session counter would
    # hand B the entry cached for A's state), and A is told the data moved on.
    cid = _current(db)
    a, b = _open(app_env), _open(app_env)
    months = overrides.override_grid(db, cid, "total", "Total")["period"]
    for at, row, pct, reason in ((a, "1", 10.0, "promotion"), (b, "2", -4.0, "lost customer")):
        at.session_state[f"demand_grid_{cid}_total_Total_0"] = {
            "edited_rows": {row: {"pct": pct, "reason": reason}}, "added_rows": [], "deleted_rows": []}
        at.run()
        at.button(key="demand_save").click().run()
        assert not at.exception, [e.message for e in at.exception]
    grid = overrides.override_grid(db, cid, "total", "Total")
    assert grid["pct"].iloc[1:3].tolist() == [10.0, -4.0]
    shown_b = b.data_editor[0].value
    assert shown_b["pct"].iloc[1:3].tolist() == [10.0, -4.0]  # B sees both saves, its own included
    assert shown_b["consensus"].tolist() == pytest.approx(grid["consensus"].tolist())
    a.run()  # A still shows its snapshot, and says the data changed
    assert any("The demand data changed since this page loaded it" in i.value for i in a.info)
    assert pd.isna(a.data_editor[0].value["pct"].iloc[2])
    a.button(key="demand_latest").click().run()
    assert not any("The demand data changed" in i.value for i in a.info)
    assert a.data_editor[0].value["pct"].iloc[2] == -4.0
    assert pd.Timestamp(months.iloc[2]) == pd.Timestamp(grid["period"].iloc[2])


def test_an_import_of_new_sales_says_the_forecast_is_older_than_the_data(app_env: str, db: Engine) -> None:
    # Sales imported after the cycle's forecast run — November 2026 for one SKU, and three SKUs the run
    # does not forecast, ten times the demo's volume — leave the shown run as it was. The page says so, and
    # "vs last 12 months" keeps comparing like with like: the run's SKUs over the 12 months before its first
    # forecast month (not the imported SKUs, not the new month)
    from sop_core.io import ingest

    cid = _current(db)
    run = demand.latest_run(db, cycle_id=cid)
    before = demand.item_summary(db, "total", "Total", run["id"], cid)
    assert (before["actual_from"], before["actual_to"]) == (pd.Timestamp("2025-11-01"), pd.Timestamp("2026-10-01"))
    first = _open(app_env)
    assert not first.warning
    assert _metrics(first)["vs last 12 months"] == formatting.percent(before["change_12m"])
    sku = demand.items(db, "sku")[0]
    months = pd.date_range("2024-11-01", "2026-10-01", freq="MS")
    products = "sku,name,family,category,unit_price,unit_cost\n" + "".join(
        f"NEW-{i},New line {i},NEWFAM,KITCHEN,10.0,6.0\n" for i in range(3))
    sales = "sku,period,quantity\n" + f"{sku},2026-11-01,40\n" + "".join(
        f"NEW-{i},{p:%Y-%m-%d},{400_000 + 1000 * k}\n" for i in range(3) for k, p in enumerate(months))
    ingest.import_files(db, [("product.csv", products.encode()), ("sales_history.csv", sales.encode())], user="dana")
    after = demand.item_summary(db, "total", "Total", run["id"], cid)
    assert after["actual_last_12m"] == pytest.approx(before["actual_last_12m"])
    assert after["change_12m"] == pytest.approx(before["change_12m"])
    at = _open(app_env)
    expected = (f"This forecast was made on {run['created_at']:%Y-%m-%d %H:%M} from sales up to 2026-10; sales up to "
                "2026-11 have been imported since, and 3 SKUs with sales have no forecast in it: run the forecast "
                "again to plan on the new data.")
    assert [w.value for w in at.warning] == [expected]
    assert _metrics(at)["vs last 12 months"] == formatting.percent(before["change_12m"])
    # the session opened before the import is told the data changed, and warned once it loads the latest
    first.run()
    assert any("The demand data changed since this page loaded it" in i.value for i in first.info)
    first.button(key="demand_latest").click().run()
    assert not first.exception, [e.message for e in first.exception]
    assert [w.value for w in first.warning] == [expected]


def test_a_sku_is_found_by_a_search(page: AppTest, shared_db: Engine) -> None:
    # the SKU level lists the matches of a search (at most MAX_PICKER_OPTIONS), never every SKU
    page.selectbox(key="demand_level").set_value("sku").run()
    names = demand.item_names(shared_db, "sku")
    picker = page.selectbox(key="demand_sku")
    assert picker.value == names[demand.items(shared_db, "sku")[0]]
    assert len(picker.options) <= MAX_PICKER_OPTIONS < len(names)
    sku = demand.items(shared_db, "sku")[-1]
    page.text_input(key="demand_sku_search").set_value(sku).run()
    assert page.selectbox(key="demand_sku").options == [names[sku]]
    assert not page.exception
    run = demand.latest_run(shared_db, _current(shared_db))
    assert _metrics(page) == _expected(demand.item_summary(shared_db, "sku", sku, run["id"], _current(shared_db)))
