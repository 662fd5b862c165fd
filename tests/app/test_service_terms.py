"""One meaning per word: every service figure on screen says whether it is a cycle service level (the
probability of no stock-out per replenishment cycle, which sets the safety stock) or a fill rate (the share
of demand served from stock), and whether it is a target, achieved, projected or of the plan."""

from __future__ import annotations

import screen
from streamlit.testing.v1 import AppTest


def test_the_check_finds_the_bare_words_and_passes_the_named_ones() -> None:
    ambiguous = ["Service level", "Service targets", "service_level", "Fill rate (service)", "the service target"]
    named = [
        "Cycle service level (target)", "cycle_service_level", "Cycle service level, target (%)",
        "Fill-rate target", "Fill rate (achieved)", "Fill rate (projected)", "The default cycle-service-level target",
        "Supplier fill rate", "Tracing the service frontier",
    ]  # fmt: skip
    assert screen.bare_service_terms(ambiguous + named) == ambiguous


def _page(app_env: str, page: str) -> AppTest:
    at = AppTest.from_file(app_env, default_timeout=180)
    at.switch_page(page).run()  # straight to the page: the default page is not needed here
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_kpis_page_names_each_service_measure(shared_app_env: str) -> None:
    at = _page(shared_app_env, "views/kpis.py")
    tabs = [t.label for t in at.tabs]
    assert tabs == ["Trends", "Targets", "Exceptions", "Inventory policy"]
    shown = [text for tab in tabs for text in screen.texts(screen.open_tab(at, "kpi_section", tab))]
    assert {"Trends", "Targets", "Exceptions", "Inventory policy"} <= set(shown)  # every tab was drawn
    assert screen.bare_service_terms(shown) == []
    # the KPI card: a fill rate projected from stock and open orders against next month's forecast (its help
    # opens with the light's word, then the definition)
    assert any(t.endswith(" Fill rate (projected)") for t in shown)
    assert any(t.startswith("**") and t.split(".** ", 1)[-1].startswith("Fill rate projected for next month")
               for t in shown)
    # the inventory policy: the safety stock's target is a cycle service level; the backtest aims at a fill
    # rate and reports both measures achieved
    assert {"Cycle service level targets", "Cycle service level (target)", "Cycle service level, target (%)"} <= set(
        shown
    )
    assert {"Fill-rate target", "Fill rate (achieved)", "Cycle service level (achieved)"} <= set(shown)


def test_supply_review_names_each_service_measure(shared_app_env: str) -> None:
    at = _page(shared_app_env, "views/supply.py")
    tabs = [t.label for t in at.tabs]
    assert tabs == ["Capacity", "Projected inventory", "Suppliers", "Replenishment"]
    shown = [text for tab in tabs for text in screen.texts(screen.open_tab(at, "supply_section", tab))]
    assert "Supply review" in shown  # the page was drawn
    assert {"Supplier performance", "Replenishment proposals"} <= set(shown)  # every tab was drawn
    assert screen.bare_service_terms(shown) == []
