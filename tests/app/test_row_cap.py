"""The row cap of the pages' tables and the search pickers (views/ui.py), on frames larger than the cap."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from sop_core.units import MAX_PICKER_OPTIONS, MAX_ROWS_TO_BROWSER, TABLE_PAGE_ROWS
from views import ui


def _table_page() -> None:
    import pandas as pd

    from sop_core.units import MAX_ROWS_TO_BROWSER
    from views import ui

    ui.dataframe(pd.DataFrame({"sku": [f"S{i:05d}" for i in range(MAX_ROWS_TO_BROWSER + 5)]}), key="big")
    ui.dataframe(pd.DataFrame({"sku": ["A", "B"]}), key="small")


def _picker_page() -> None:
    import streamlit as st

    from views import ui

    picked = ui.search_picker("SKU", [f"S{i:05d} — Widget {i}" for i in range(17_600)], key="pick", fixed=["All"])
    st.write(f"picked {picked}")


def test_a_table_larger_than_a_page_sends_one_page_found_by_search_and_page_number() -> None:
    at = AppTest.from_function(_table_page).run()
    assert not at.exception, [e.message for e in at.exception]
    big, small = at.dataframe
    n = MAX_ROWS_TO_BROWSER + 5
    assert len(big.value) == TABLE_PAGE_ROWS and big.value["SKU"].iloc[-1] == f"S{TABLE_PAGE_ROWS - 1:05d}"
    assert len(small.value) == 2
    assert [c.value for c in at.caption] == [f"Rows 1–{TABLE_PAGE_ROWS:,} of {n:,} rows."]
    last = -(-n // TABLE_PAGE_ROWS)
    assert at.number_input(key="big_page").max == last
    at.number_input(key="big_page").set_value(last).run()
    assert at.dataframe[0].value["SKU"].tolist() == [f"S{i:05d}" for i in range((last - 1) * TABLE_PAGE_ROWS, n)]
    assert at.caption[0].value == f"Rows {(last - 1) * TABLE_PAGE_ROWS + 1:,}–{n:,} of {n:,} rows."
    # a search narrows the rows and brings the page back to the first
    at.text_input(key="big_find").set_value("s0999").run()
    assert at.dataframe[0].value["SKU"].tolist() == [f"S0999{d}" for d in range(10)]
    assert at.number_input(key="big_page").value == 1
    assert at.caption[0].value == f"Rows 1–10 of 10 rows matching “s0999” (of {n:,})."
    at.text_input(key="big_find").set_value("nothing like it").run()
    assert at.dataframe[0].value.empty and at.caption[0].value == f"No row of {n:,} matches “nothing like it”."


def test_the_picker_lists_a_few_matches_of_the_search() -> None:
    at = AppTest.from_function(_picker_page).run()
    assert not at.exception, [e.message for e in at.exception]
    picker = at.selectbox(key="pick")
    assert len(picker.options) == 1 + MAX_PICKER_OPTIONS and picker.value == "All"
    at.text_input(key="pick_search").set_value("widget s01234").run()
    assert at.selectbox(key="pick").options == ["All", "S01234 — Widget 1234"]
    at.selectbox(key="pick").set_value("S01234 — Widget 1234").run()
    assert at.markdown[-1].value == "picked S01234 — Widget 1234"


def test_matching_keeps_the_order_and_stops_at_the_limit() -> None:
    labels = ["AB-1 — Red cup", "AB-2 — Blue cup", "CD-3 — Red plate"]
    assert ui.matching(labels, "red") == ["AB-1 — Red cup", "CD-3 — Red plate"]
    assert ui.matching(labels, "  CUP  ab-2 ") == ["AB-2 — Blue cup"]
    assert ui.matching(labels, "", limit=2) == labels[:2]
    assert ui.matching(labels, "green") == []
