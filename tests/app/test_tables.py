"""The pages' tables (views/tables.py, views/ui.py): human headers, numbers in the format of their kind, one
decimal for every share and never "-0.0 %", a missing value as "–", editors labelled without renaming."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from sop_core.config import CURRENCY
from views import tables


def _format(config: dict, header: str) -> str | None:
    return (config.get(header) or {}).get("type_config", {}).get("format")


def test_headers_are_the_labels_and_the_page_s_own_label_wins() -> None:
    frame = pd.DataFrame({"sku": ["A"], "demand_qty": [1.0], "safety_stock_days": [2.0], "2026-12": [3.0],
                          "status": ["ok"]})
    shown, config, order = tables.presented(frame, {"status": "State of play"}, ["status", "sku"])
    assert list(shown.columns) == ["SKU", "Demand (units)", "Safety stock days", "Dec 2026", "State of play"]
    assert order == ["State of play", "SKU"]
    assert "label" not in json.dumps(config)  # the header is the column's own name now
    assert list(frame.columns) == ["sku", "demand_qty", "safety_stock_days", "2026-12", "status"]  # not renamed


def test_numbers_take_the_format_of_their_kind_unless_the_page_sets_one() -> None:
    frame = pd.DataFrame({"revenue": [1_234_567.8], "demand_qty": [12.0], "fill_rate": [0.99083],
                          "utilisation": [91.2], "period": pd.to_datetime(["2026-12-01"])})
    shown, config, _ = tables.presented(
        frame, {"utilisation": st.column_config.NumberColumn("Load", format="%.1f %%")})
    assert _format(config, f"Revenue ({CURRENCY})") == f"%,.0f {CURRENCY}"
    assert _format(config, "Demand (units)") == "%,.0f"
    assert _format(config, "Fill rate") == "%.1f %%" and shown["Fill rate"].iloc[0] == 99.1  # one basis: 99.1 %
    assert _format(config, "Load") == "%.1f %%" and shown["Load"].iloc[0] == 91.2  # the page's own: as it is
    assert config["Month"]["type_config"] == {**config["Month"]["type_config"], "type": "date", "format": "MMM YYYY"}


@pytest.mark.parametrize("share", [-0.0004, -0.0, -1e-12, np.float64(-0.00049)])
def test_a_share_that_rounds_to_zero_is_never_minus_zero(share: float) -> None:
    shown, _, _ = tables.presented(pd.DataFrame({"margin_rate": [share]}))
    value = shown["Margin rate"].iloc[0]
    assert value == 0 and not np.signbit(value)  # "%.1f %%" prints "0.0 %", never "-0.0 %"
    kept, _, _ = tables.presented(pd.DataFrame({"margin_rate": [-0.0006]}))
    assert kept["Margin rate"].iloc[0] == -0.1


def test_missing_text_shows_a_dash_and_mixed_columns_never_say_none() -> None:
    frame = pd.DataFrame({"outcome": ["done", None, np.nan], "detail": [1, "x", None],
                          "revenue": [1.0, None, 2.0]})
    shown, _, _ = tables.presented(frame)
    assert shown["Outcome"].tolist() == ["done", "–", "–"]
    assert shown["Detail"].tolist() == ["1", "x", "–"]
    assert pd.isna(shown[f"Revenue ({CURRENCY})"].iloc[1])  # a number stays a number: the table shows "–"


def test_an_editor_keeps_its_column_names_under_human_labels() -> None:
    frame = pd.DataFrame({"period": [pd.Timestamp("2026-12-01")], "pct": [1.0], "created_at": [None]})
    config = tables.editor_config(frame, {"pct": st.column_config.NumberColumn("Override (%)", format="%+.1f"),
                                          "created_at": None})
    assert config["period"] == "Month" and config["pct"]["label"] == "Override (%)"
    assert config["pct"]["type_config"]["format"] == "%+.1f" and config["created_at"] is None


def _page() -> None:
    import pandas as pd

    from views import ui

    frame = pd.DataFrame({"sku": ["A", None], "fill_rate": [0.5, None], "due_date": [pd.Timestamp("2026-12-31"), None]})
    ui.dataframe(frame, key="shown")
    ui.data_editor(frame, key="edited")


def test_the_pages_tables_show_labels_and_a_dash_for_missing_values() -> None:
    at = AppTest.from_function(_page).run()
    assert not at.exception, [e.message for e in at.exception]
    shown, edited = at.dataframe
    assert list(shown.value.columns) == ["SKU", "Fill rate", "Due date"] and shown.proto.placeholder == "–"
    assert list(edited.value.columns) == ["sku", "fill_rate", "due_date"]  # the page reads the edits by these
    labels = {name: conf["label"] if isinstance(conf, dict) else conf
              for name, conf in json.loads(edited.proto.columns).items()}
    assert labels == {"sku": "SKU", "fill_rate": "Fill rate", "due_date": "Due date"}


def test_months_held_as_text_show_by_name_and_other_text_stays() -> None:
    shown, _, _ = tables.presented(pd.DataFrame({"period": ["2026-11", "2026-12-01", None]}))
    assert shown["Month"].tolist() == ["Nov 2026", "Dec 2026", "–"]
    raw, _, _ = tables.presented(pd.DataFrame({"period": ["2026-13-01", "soon"]}))  # an upload's preview
    assert raw["Month"].tolist() == ["2026-13-01", "soon"]
