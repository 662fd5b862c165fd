"""Supplier reliability per item and month (supply review services) on the demo company."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from sop_core.services import suppliers as suppliers_service
from sop_core.services import supply as supply_service


def test_item_trend_of_one_item_by_month(demo_engine: Engine) -> None:
    # KA-1018 from BRIGHTWAY: 13 deliveries, one a month, the first ordered 2024-12-13 and received 83 days later
    trend = suppliers_service.supplier_item_trend(demo_engine, "BRIGHTWAY", sku="KA-1018")
    assert list(trend.columns) == suppliers_service.ITEM_TREND_COLUMNS
    assert len(trend) == 13 and (trend["orders"] == 1).all()
    assert set(trend["sku"]) == {"KA-1018"} and trend["name"].notna().all()
    assert trend.loc[0, "lt_mean_days"] == 83.0
    assert trend["otif"].sum() == 4  # 4 of 13 on time and in full, as the item scorecard says
    card = suppliers_service.supplier_item_scorecard(demo_engine, supplier="BRIGHTWAY").set_index("sku")
    assert card.loc["KA-1018", "otif"] == pytest.approx(4 / 13)
    assert card.loc["KA-1018", "lt_p90"] == pytest.approx(93.6)  # 92 + 0.8·(94 − 92), linear interpolation
    assert set(trend["master_lead_time_days"]) == {84.0}
    # a tolerance of 5 days only adds deliveries on time
    lenient = suppliers_service.supplier_item_trend(demo_engine, "BRIGHTWAY", sku="KA-1018", on_time_tolerance_days=5)
    assert (lenient["otif"].to_numpy() >= trend["otif"].to_numpy()).all() and lenient["otif"].sum() > 4


def test_item_trend_of_all_items_adds_up_to_the_supplier_scorecard(demo_engine: Engine) -> None:
    trend = suppliers_service.supplier_item_trend(demo_engine, "BRIGHTWAY")
    card = suppliers_service.supplier_scorecard(demo_engine).set_index("supplier")
    items = suppliers_service.supplier_item_scorecard(demo_engine, supplier="BRIGHTWAY")
    assert set(items["supplier"]) == {"BRIGHTWAY"} and set(trend["sku"]) == set(items["sku"])
    assert trend["orders"].sum() == card.loc["BRIGHTWAY", "orders"]
    otif_count = (trend["otif"] * trend["orders"]).sum()
    assert otif_count / trend["orders"].sum() == pytest.approx(card.loc["BRIGHTWAY", "otif"])
    # the item × month table: every month from the first to the last delivery, blanks where none came
    wide = suppliers_service.item_trend_table(trend, "otif", order=list(items["sku"]))
    assert list(wide.index) == list(items["sku"])
    months = pd.date_range(trend["period"].min(), trend["period"].max(), freq="MS")
    assert list(wide.columns) == [f"{m:%Y-%m}" for m in months]
    assert int(wide.notna().to_numpy().sum()) == len(trend)
    one = trend.iloc[0]
    assert wide.loc[one["sku"], f"{one['period']:%Y-%m}"] == pytest.approx(round(100 * one["otif"], 1))
    lead = suppliers_service.item_trend_table(trend, "lt_mean_days")
    assert lead.loc[one["sku"], f"{one['period']:%Y-%m}"] == pytest.approx(round(one["lt_mean_days"], 1))
    assert np.isnan(suppliers_service.item_trend_table(trend.iloc[:0], "otif").to_numpy()).all()


def test_item_trend_refuses_unknown_suppliers_and_items(demo_engine: Engine) -> None:
    with pytest.raises(supply_service.SupplyDataError, match="unknown supplier 'NOPE'"):
        suppliers_service.supplier_item_trend(demo_engine, "NOPE")
    with pytest.raises(supply_service.SupplyDataError, match="BRIGHTWAY does not deliver SKU 'BL-1005'"):
        suppliers_service.supplier_item_trend(demo_engine, "BRIGHTWAY", sku="BL-1005")
    with pytest.raises(ValueError, match="value must be"):
        suppliers_service.item_trend_table(pd.DataFrame(), "orders")
