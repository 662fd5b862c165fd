"""A product with neither a routing nor a supplier item has no capacity limiting its supply: the plan gives it
whatever it needs (a large new SKU took the demo's revenue to billions and its stock ×60 in a month). Such SKUs are
listed with their share of the cycle's demand value, and the planning pages and the meeting pack warn of them."""

from __future__ import annotations

import io
import os

import openpyxl
import pandas as pd
import pptx
import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from sop_core.db import master_repo, repo
from sop_core.db import models as m
from sop_core.db.engine import make_engine, session_scope
from sop_core.io import ingest
from sop_core.services import cycle as cycle_service
from sop_core.services import executive as executive_service
from sop_core.services import plan
from sop_core.services import supply as supply_service

#: Every service write checks its user: the demo users exist in the test's databases.
pytestmark = pytest.mark.usefixtures("demo_users")

PRODUCTS = (
    b"sku,name,family,category,unit_price,unit_cost,holding_rate,order_cost,service_target\n"
    b"KA-9001,Kettle for the new key account,KETTLES,FINISHED,400.0,250.0,0.2,100.0,0.95\n"
    b"KA-9002,Kettle not sold yet,KETTLES,FINISHED,90.0,50.0,0.2,100.0,0.95\n"
)
MONTHLY_UNITS = 100_000.0  # KA-9001's forecast in every month of the cycle's horizon
PRICE = 400.0


def import_unsourced(engine: Engine) -> tuple[int, int]:
    """Import KA-9001 and KA-9002 without a routing or a supplier item, and give KA-9001 a forecast in every month
    of the open cycle's newest run (as the next forecast run would); returns the cycle id and the months."""
    ingest.import_files(engine, [("product.csv", PRODUCTS)])
    cycle_id = cycle_service.cycle_by_month(engine, "2026-11").id
    run_id = plan.latest_forecast_run_id(engine, cycle_id)
    months = pd.date_range("2026-11-01", periods=18, freq="MS")
    rows = pd.DataFrame({"sku": "KA-9001", "period": months.date, "yhat": MONTHLY_UNITS, "model": "test"})
    with session_scope(engine) as s:
        repo.insert_frame(s, m.Forecast, rows, run_id=run_id)
    return cycle_id, len(months)


def test_the_query_finds_the_products_with_neither_a_routing_nor_a_supplier_item(engine: Engine) -> None:
    """On SQLite and PostgreSQL: a made SKU, a bought SKU, one with both and one with neither."""
    with session_scope(engine) as s:
        s.add_all([m.Product(sku=sku, name=f"Item {sku}", family="F", category="C", unit_price=price, unit_cost=1.0)
                   for sku, price in [("MADE", 10.0), ("BOUGHT", 20.0), ("BOTH", 30.0), ("NONE", 40.0)]])
        s.add_all([m.Resource(resource="R1", name="Line 1", capacity_hours=100.0), m.Supplier(supplier="S1", name="Sup")])
        s.flush()
        s.add_all([m.Routing(sku="MADE", resource="R1", hours_per_unit=0.5),
                   m.Routing(sku="BOTH", resource="R1", hours_per_unit=0.5),
                   m.SupplierItem(supplier="S1", sku="BOUGHT", lead_time_days=30.0, unit_cost=1.0),
                   m.SupplierItem(supplier="S1", sku="BOTH", lead_time_days=30.0, unit_cost=1.0)])
    with session_scope(engine) as s:
        found = master_repo.products_without_source(s)
    assert found.to_dict("records") == [{"sku": "NONE", "name": "Item NONE", "family": "F", "unit_price": 40.0}]


def _demand_value(engine: Engine, cycle_id: int) -> float:
    """Σ plan demand × list price over the cycle, computed here from the demand and the product prices."""
    demand, _source = supply_service.plan_demand(engine, cycle_id)
    with session_scope(engine) as s:
        price = repo.read_frame(s, m.Product).set_index("sku")["unit_price"].astype(float)
    return float((demand["quantity"] * demand["sku"].map(price)).sum())


def test_a_sku_imported_without_routing_or_supplier_is_listed_with_its_share(demo_engine: Engine) -> None:
    cycle_id = cycle_service.cycle_by_month(demo_engine, "2026-11").id
    # the demo company: every SKU is made (routing) or bought (supplier item)
    assert supply_service.unsourced_skus(demo_engine, cycle_id).empty
    assert supply_service.unsourced_warning(supply_service.unsourced_skus(demo_engine, cycle_id)) is None
    before = _demand_value(demo_engine, cycle_id)

    _cycle, months = import_unsourced(demo_engine)
    out = supply_service.unsourced_skus(demo_engine, cycle_id)
    # KA-9002 has no demand in the cycle: not listed; KA-9001 is, with its demand valued at list price
    assert out["sku"].tolist() == ["KA-9001"]
    row = out.iloc[0]
    assert (row["name"], row["family"]) == ("Kettle for the new key account", "KETTLES")
    assert row["demand_qty"] == pytest.approx(months * MONTHLY_UNITS)  # 1,800,000 units
    assert row["demand_value"] == pytest.approx(months * MONTHLY_UNITS * PRICE)  # €720M
    assert row["share"] == pytest.approx(720e6 / (720e6 + before))
    assert _demand_value(demo_engine, cycle_id) == pytest.approx(720e6 + before)
    assert supply_service.unsourced_warning(out) == (
        "1 SKU has neither a routing nor a supplier: its supply is not limited by any capacity — "
        f"KA-9001 ({100 * row['share']:.1f} %) of the cycle's demand value. Add a routing or a supplier item for it."
    )
    # no resource carries its load
    assert "KA-9001" not in supply_service.bottlenecks(demo_engine, cycle_id)["top_skus"].str.cat()


def test_the_planning_pages_and_the_pack_name_the_sku(app_env: str) -> None:
    engine = make_engine(os.environ["SOP_DATABASE_URL"])
    try:
        cycle_id, _months = import_unsourced(engine)
        expected = supply_service.unsourced_warning(supply_service.unsourced_skus(engine, cycle_id))
        assert expected is not None and "KA-9001" in expected and "KA-9002" not in expected
        pack, deck, _summary = executive_service.meeting_files(executive_service.review(engine, cycle_id))
    finally:
        engine.dispose()
    at = AppTest.from_file(app_env, default_timeout=120)
    for page in ("views/supply.py", "views/executive.py"):
        at.switch_page(page).run()
        assert not at.exception, [e.message for e in at.exception]
        assert expected in [w.value for w in at.warning], page
    summary = openpyxl.load_workbook(io.BytesIO(pack))["Summary"]
    rows = {r[0]: r[1] for r in summary.iter_rows(min_row=4, values_only=True)}
    assert rows["Warning: unlimited supply"] == expected
    text = [sh.text_frame.text for s in pptx.Presentation(io.BytesIO(deck)).slides for sh in s.shapes
            if sh.has_text_frame]
    assert any(f"Warning: {expected}" in t for t in text)
