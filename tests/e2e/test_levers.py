"""Every what-if lever of the Reconciliation page, moved in chromium and checked against the library.

On the demo company (cycle 2026-11) the levers are moved one after the other, each move adding to the ones
before. After each move the page shows no exception and no error box, the ten KPI cards are there and read
what :func:`sop_core.planning.scenario.evaluate` gives for the levers moved so far (on the server's database,
formatted as the page formats them), and the figure the lever moves has moved the way it must. The scenario
is then saved, opened again from the sidebar in a fresh session (its levers back in the widgets) and compared
with the baseline. Screenshots: test-artifacts/screenshots/reconciliation_levers*.png.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from browser_app import SHOTS, _edit_grid_cell, _new_page, _wait_for_app

from sop_core import formatting
from sop_core.planning import levers as lev
from sop_core.planning import scenario as sc
from sop_core.planning import scenario_inputs as sci
from sop_core.planning import scenario_result as scr

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CYCLE = "2026-11"
NAME = "Every lever"
SUPPLIER = "RHEINWERK"
RESOURCE = "ULM-ESP"
FAMILY = "BLENDERS"

#: The KPI cards of the what-if, as views/reconciliation.py draws them: label → (KPI, how it is formatted).
CARDS: dict[str, tuple[str, Callable[[float], str]]] = {
    "Revenue": ("revenue", formatting.money),
    "Margin": ("margin", formatting.money),
    "Inventory value": ("inventory_value_end", formatting.money),
    "Fill rate (plan)": ("fill_rate", formatting.percent),
    "Expected fill rate": ("expected_fill_rate", formatting.percent),
    "Safety stock": ("safety_stock_value", formatting.money),
    "Overtime cost": ("overtime_cost", formatting.money),
    "Stockout units": ("stockout_units", formatting.quantity),
    "Shortage cost": ("shortage_cost", formatting.money),
    "Days of cover": ("days_of_cover", formatting.number),
}

#: Label → value text of every metric card on the page.
_READ_CARDS = """() => Object.fromEntries([...document.querySelectorAll("[data-testid='stMetric']")].map(m => [
    m.querySelector("[data-testid='stMetricLabel']")?.innerText.trim(),
    m.querySelector("[data-testid='stMetricValue']")?.innerText.trim()]))"""


def _card_texts(kpis: dict[str, float]) -> dict[str, str]:
    return {label: fmt(kpis[key]) for label, (key, fmt) in CARDS.items()}


def _shown_cards(page) -> dict[str, str]:
    shown = page.evaluate(_READ_CARDS)
    return {label: shown.get(label) for label in CARDS}


def _wait_for_cards(page, expected: dict[str, str], what: str, timeout_ms: int = 30_000) -> None:
    """Wait until the cards read ``expected`` (label → text); else fail with what they show."""
    try:
        page.wait_for_function(
            f"(expected) => {{ const shown = ({_READ_CARDS})();"
            " return Object.entries(expected).every(([k, v]) => shown[k] === v); }",
            arg=expected,
            timeout=timeout_ms,
        )
    except Exception as err:  # noqa: BLE001 - Playwright's timeout: say what the page shows instead
        raise AssertionError(
            f"{what}\nexpected {expected}\nshown    {_shown_cards(page)}\nproblems {_problems(page)}"
        ) from err


def _problems(page) -> list[str]:
    """The exceptions and error boxes on the page, as text."""
    boxes = page.get_by_test_id("stException").all() + page.get_by_test_id("stAlertContentError").all()
    return [box.inner_text()[:500] for box in boxes]


@dataclasses.dataclass
class LeverWalk:
    """The page, the library's view of the same plan, and the levers moved so far."""

    page: Any
    inputs: sci.ScenarioInputs
    levers: lev.Levers
    kpis: dict[str, float]
    cards: dict[str, str]
    #: The library's KPIs and the cards before the last move.
    before: tuple[dict[str, float], dict[str, str]] = ({}, {})
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    #: What the page got wrong where the walk could go on (the test fails with them at its end).
    defects: list[str] = dataclasses.field(default_factory=list)

    def move(self, what: str, action: Callable[[], None], **changes: Any) -> None:
        """Do ``action`` on the page, which sets the levers ``changes`` on top of those moved so far; wait until
        the cards read the library's evaluation of the new levers, and check that nothing went wrong."""
        page = self.page
        t0 = time.perf_counter()
        self.levers = dataclasses.replace(self.levers, **changes)
        action()
        kpis = sc.evaluate(self.inputs, self.levers).kpis  # while the server re-runs the page
        expected = _card_texts(kpis)
        if expected == self.cards:  # nothing to wait for on the cards: let the rerun start and end
            page.wait_for_timeout(700)
        else:
            _wait_for_cards(page, expected, f"{what}: the cards never showed the library's figures for {self.levers}")
        _wait_for_app(page, 60_000)
        assert _problems(page) == [], what
        assert _shown_cards(page) == expected, what
        self.before = (self.kpis, self.cards)
        self.kpis, self.cards = kpis, expected
        self.timings[what] = round(time.perf_counter() - t0, 2)

    def rose(self, *labels: str) -> None:
        """The last move raised these cards' figures, by enough to show on the card."""
        for label in labels:
            key = CARDS[label][0]
            assert self.kpis[key] > self.before[0][key], f"{label}: {self.before[0][key]} -> {self.kpis[key]}"
            assert self.cards[label] != self.before[1][label], f"{label} still reads {self.cards[label]}"

    def fell(self, *labels: str) -> None:
        """The last move lowered these cards' figures, by enough to show on the card."""
        for label in labels:
            key = CARDS[label][0]
            assert self.kpis[key] < self.before[0][key], f"{label}: {self.before[0][key]} -> {self.kpis[key]}"
            assert self.cards[label] != self.before[1][label], f"{label} still reads {self.cards[label]}"


# ---- driving the widgets (each is found by its label, as a user finds it)
def _label(page, test_id: str, label: str):
    """The widget ``test_id`` labelled ``label``."""
    return page.get_by_test_id(test_id).filter(has=page.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True))


def _slider(page, label: str):
    return _label(page, "stSlider", label).get_by_role("slider")


def _press(page, label: str, key: str, times: int = 1) -> Callable[[], None]:
    def action() -> None:
        thumb = _slider(page, label)
        thumb.focus()
        for _ in range(times):
            thumb.press(key)

    return action


def _choose(page, label: str, option: str, scope: Any = None) -> Callable[[], None]:
    """Pick ``option`` in the select box ``label`` (typed to filter the list, then clicked)."""

    def action() -> None:
        box = (scope if scope is not None else page).get_by_role("combobox", name=label, exact=True).first
        box.click()
        box.fill(option)
        page.get_by_role("option", name=option, exact=True).click()
        page.keyboard.press("Escape")  # a multiselect stays open after a pick

    return action


def _type(page, label: str, text: str) -> Callable[[], None]:
    def action() -> None:
        field = page.get_by_role("spinbutton", name=label, exact=True)
        field.fill(text)
        field.press("Enter")

    return action


def _grid(scope, header: str):
    """The data editor within ``scope`` (the page, or a part of it) with a column headed exactly ``header``."""
    page = getattr(scope, "page", scope)  # the header is matched within each grid: a locator of the page's own
    head = page.locator("th, [role='columnheader']").filter(has_text=re.compile(rf"^\s*{re.escape(header)}\s*$"))
    return scope.get_by_test_id("stDataFrame").filter(has=head)


def _grid_rows(grid) -> list[list[str]]:
    """The rows of a grid's accessible table (the rows drawn), as the texts of their cells."""
    return [[c.strip() for c in row.locator("td").all_text_contents()] for row in grid.locator("tbody tr").all()]


def _screenshot(page, name: str) -> None:
    """A screenshot of the whole page: Streamlit scrolls its main block, not the document, so the window is made
    as tall as the page for the shot (and the mouse moved off the tables, whose toolbars show on hover)."""
    page.mouse.move(1, 1)
    size = page.viewport_size
    height = page.evaluate("document.querySelector(\"[data-testid='stMain']\").scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 8000)})
    page.wait_for_timeout(600)  # charts redraw at the new size
    page.screenshot(path=str(SHOTS / name))
    page.set_viewport_size(size)


def _number(page, label: str) -> float | None:
    value = page.get_by_role("spinbutton", name=label, exact=True).input_value()
    return float(value) if value else None


def test_every_lever_moves_the_plan_in_the_browser(server: str, server_db: str, browser: Any) -> None:
    from playwright.sync_api import expect

    from sop_core.db.engine import make_engine
    from sop_core.services import cycle as cycle_service
    from sop_core.services import plan, scenarios

    SHOTS.mkdir(parents=True, exist_ok=True)
    engine = make_engine(server_db)
    cycle_id = cycle_service.cycle_by_month(engine, CYCLE).id
    inputs = plan.scenario_inputs(engine, cycle_id)
    months = [p.strftime("%Y-%m") for p in inputs.periods]
    resources = sorted(inputs.resources["resource"].astype(str))
    sku = sorted(inputs.products.loc[inputs.products["family"] == FAMILY, "sku"].astype(str))[0]
    assert (months[0], len(months)) == (CYCLE, 18) and RESOURCE in resources
    assert SUPPLIER in set(inputs.supplier_items["supplier"])
    # the demo's learned elasticities are all above -1: a higher price then brings more revenue
    assert inputs.elasticities and all(e > -1 for e in inputs.elasticities.values())
    # the cycle service level lever at 99 % is at or above every product's own target: more safety stock
    assert inputs.policy["cycle_service_level"].max() <= 0.99
    base = sc.evaluate(inputs, lev.Levers()).kpis

    with _new_page(browser, 1100) as page:
        page.goto(f"{server}/reconciliation", wait_until="domcontentloaded")
        _wait_for_app(page, 120_000)
        walk = LeverWalk(page, inputs, lev.Levers(), base, _card_texts(base))
        _wait_for_cards(page, walk.cards, "the baseline, as the library plans it")
        assert _problems(page) == []

        # ---- the levers above the fold
        walk.move("demand +10 %", _press(page, "Demand change (all SKUs)", "ArrowRight", 10), demand_change_pct=10.0)
        walk.rose("Revenue")
        assert _slider(page, "Demand change (all SKUs)").input_value() == "10"
        walk.move("price +5 %", _press(page, "Price change", "ArrowRight", 5), price_change_pct=5.0)
        walk.rose("Revenue")
        walk.move("capacity -20 % on all resources", _press(page, "Capacity change", "ArrowLeft", 4),
                  capacity_changes={r: -20.0 for r in resources})
        walk.rose("Overtime cost")  # the hours taken away are made up on overtime where it pays
        assert walk.kpis["fill_rate"] <= walk.before[0]["fill_rate"] + 1e-12  # never a better fill rate

        # ---- More levers: the fill-rate target and the overtime rate while overtime is needed
        page.get_by_test_id("stExpander").get_by_text("More levers", exact=True).click()
        expander = page.get_by_test_id("stExpander").filter(has_text="More levers")
        expect(expander.get_by_role("spinbutton", name="Unit cost change (%)")).to_be_visible()
        walk.move("fill-rate target 99 %", _press(page, "Fill-rate target (constrained plan)", "End"),
                  fill_rate_target=0.99)
        # a fill-rate target only adds to what the plan must serve: never a lower fill rate, never less overtime
        assert walk.kpis["fill_rate"] >= walk.before[0]["fill_rate"] - 1e-9
        assert walk.kpis["overtime_cost"] >= walk.before[0]["overtime_cost"] - 1e-6
        walk.move("overtime rate +50 %", _type(page, "Overtime rate change (%)", "50"), overtime_cost_change_pct=50.0)
        # dearer overtime: fewer overtime hours at a higher rate (their cost may go either way), never more margin
        assert walk.kpis["margin"] <= walk.before[0]["margin"] + 1e-6
        walk.move("overtime not allowed", lambda: page.get_by_text("Overtime allowed", exact=True).click(),
                  overtime_allowed=False)
        walk.fell("Overtime cost", "Fill rate (plan)")
        assert walk.cards["Overtime cost"] == formatting.money(0.0)
        assert not page.get_by_role("switch", name="Overtime allowed").is_checked()
        walk.move(f"capacity change on {RESOURCE} only", _choose(page, "Capacity change on", RESOURCE),
                  capacity_changes={RESOURCE: -20.0})
        walk.fell("Stockout units")  # the other resources have their hours back
        walk.move("demand change from 2027-01", _choose(page, "Demand change from", "2027-01"), demand_from="2027-01")
        walk.fell("Revenue")
        walk.move("demand change to 2027-06", _choose(page, "to", "2027-06"), demand_to="2027-06")
        walk.fell("Revenue")

        # ---- price elasticity: a number for every family, then empty again = the learned ones
        learned = walk.kpis
        walk.move("price elasticity -2", _type(page, "Price elasticity", "-2"), price_elasticity=-2.0)
        walk.fell("Revenue")  # +5 % price with e = -2: revenue × 1.05^(1-2)
        _type(page, "Price elasticity", "")()
        page.wait_for_timeout(700)
        _wait_for_app(page, 60_000)
        if _number(page, "Price elasticity") is None:
            walk.move("price elasticity learned", lambda: None, price_elasticity=None)
        else:  # noted, and the walk goes on with 0, the value learned for every demo family, to cover the rest
            walk.defects.append(
                f"clearing 'Price elasticity' does not give the learned elasticities: the field shows "
                f"{page.get_by_role('spinbutton', name='Price elasticity').input_value()!r}, Revenue "
                f"{_shown_cards(page)['Revenue']} (learned: {_card_texts(learned)['Revenue']})"
            )
            assert set(inputs.elasticities.values()) == {0.0}
            walk.move("price elasticity 0", _type(page, "Price elasticity", "0"), price_elasticity=0.0)
        assert walk.kpis == learned

        # ---- costs, lead time, safety stock, cover, frozen months
        walk.move("unit cost +10 %", _type(page, "Unit cost change (%)", "10"), cost_change_pct=10.0)
        walk.rose("Safety stock")  # the same units at a higher cost
        walk.fell("Margin")
        walk.move("lead time +14 days", _type(page, "Supplier lead-time change (days)", "14"),
                  lead_time_change_days=14.0)
        walk.rose("Safety stock")
        assert walk.kpis["safety_stock_units"] > walk.before[0]["safety_stock_units"]
        walk.move("cycle service level 99 %", _type(page, "Cycle service level (safety stock, %)", "99"),
                  cycle_service_level=0.99)
        walk.rose("Safety stock")
        walk.move("extra cover 0.5 months", _type(page, "Extra cover (months)", "0.5"), cover_months=0.5)
        walk.rose("Inventory value")
        walk.move("frozen months 2", _type(page, "Frozen months (open orders only)", "2"), frozen_periods=2)
        walk.fell("Fill rate (plan)")

        # ---- a supplier out of action (the lever that once broke the page), in its default window, then its own
        walk.move(f"{SUPPLIER} out of action", _choose(page, "Supplier out of action", SUPPLIER),
                  supplier_disruptions={SUPPLIER: [months[0], months[2]]})
        walk.rose("Stockout units")
        expect(page.get_by_role("button", name="Save scenario")).to_be_visible()
        walk.move("out of action from 2026-12", _choose(page, "Out of action from", "2026-12"),
                  supplier_disruptions={SUPPLIER: ["2026-12", months[2]]})
        walk.move("out of action to 2027-03", _choose(page, "to", "2027-03", scope=expander),
                  supplier_disruptions={SUPPLIER: ["2026-12", "2027-03"]})
        walk.rose("Stockout units")  # two more months without it
        expect(page.get_by_role("button", name="Save scenario")).to_be_visible()

        # ---- a family's and a SKU's demand change, in their tables
        family_grid = _grid(expander, "Demand change (%)")  # the saved scenarios' table has that column too
        family_row = list(inputs.families).index(FAMILY)
        walk.move(f"{FAMILY} +20 %",
                  lambda: _edit_grid_cell(page, family_row, "Demand change (%)", text="20", grid=family_grid),
                  family_changes={FAMILY: 20.0})
        walk.rose("Revenue")

        def add_sku_change() -> None:  # the SKU is found by search, then added with its % to the table below
            search = page.get_by_label("Search sku", exact=True)
            search.fill(sku)
            search.press("Enter")
            _wait_for_app(page, 60_000)
            if page.get_by_role("combobox", name="SKU", exact=True).input_value() != sku:  # the one match is chosen
                _choose(page, "SKU", sku)()
            _type(page, "Extra demand change (%)", "50")()
            _wait_for_app(page, 60_000)
            page.get_by_role("button", name="Add SKU change").click()

        walk.move(f"{sku} +50 %", add_sku_change, sku_changes={sku: 50.0})
        walk.rose("Revenue")
        _screenshot(page, "reconciliation_levers.png")

        # ---- save
        name = page.get_by_label("Scenario name")
        name.fill(NAME)
        name.press("Enter")
        page.wait_for_timeout(500)
        _wait_for_app(page, 60_000)
        page.get_by_role("button", name="Save scenario").click()
        flash = page.get_by_test_id("stAlertContentSuccess").or_(page.get_by_test_id("stAlertContentError"))
        expect(flash.first).to_be_visible(timeout=30_000)
        _wait_for_app(page, 60_000)
        assert _problems(page) == []
        assert page.get_by_test_id("stAlertContentSuccess").inner_text() == f"Saved scenario '{NAME}' (version 1)."
        record = scenarios.find_scenario(engine, cycle_id, NAME)
        assert record is not None and record.levers == walk.levers
        stored = sc.evaluate(inputs, record.levers).kpis

        # ---- a fresh session: the scenario chosen in the sidebar puts its levers back into the widgets
        page.reload(wait_until="domcontentloaded")
        _wait_for_app(page, 60_000)
        _wait_for_cards(page, _card_texts(base), "a fresh session starts from the baseline")
        _choose(page, "Scenario", NAME, scope=page.get_by_test_id("stSidebar"))()
        _wait_for_cards(page, _card_texts(stored), f"'{NAME}' chosen in the sidebar")
        _wait_for_app(page, 60_000)
        assert _problems(page) == []
        assert _shown_cards(page) == _card_texts(stored)
        page.get_by_test_id("stExpander").get_by_text("More levers", exact=True).click()
        expect(expander.get_by_role("spinbutton", name="Unit cost change (%)")).to_be_visible()
        expect(family_grid.locator("tbody tr")).to_have_count(len(inputs.families))  # its rows drawn
        shown_levers = {
            "demand": _slider(page, "Demand change (all SKUs)").input_value(),
            "price": _slider(page, "Price change").input_value(),
            "capacity": _slider(page, "Capacity change").input_value(),
            "fill target": _slider(page, "Fill-rate target (constrained plan)").input_value(),
            "capacity on": page.get_by_role("combobox", name="Capacity change on", exact=True).input_value(),
            "demand from": page.get_by_role("combobox", name="Demand change from", exact=True).input_value(),
            "demand to": page.get_by_role("combobox", name="to", exact=True).first.input_value(),
            "overtime": page.get_by_role("switch", name="Overtime allowed").is_checked(),
            "elasticity": _number(page, "Price elasticity"),
            "cost": _number(page, "Unit cost change (%)"),
            "overtime rate": _number(page, "Overtime rate change (%)"),
            "lead time": _number(page, "Supplier lead-time change (days)"),
            "service level": _number(page, "Cycle service level (safety stock, %)"),
            "cover": _number(page, "Extra cover (months)"),
            "frozen": _number(page, "Frozen months (open orders only)"),
            "suppliers": _label(page, "stMultiSelect", "Supplier out of action").locator("[data-tag] [title]")
            .all_inner_texts(),
            "out from": page.get_by_role("combobox", name="Out of action from", exact=True).input_value(),
            "out to": expander.get_by_role("combobox", name="to", exact=True).input_value(),
            "family": _grid_rows(family_grid)[family_row],
            "sku": _grid_rows(_grid(expander, "Extra demand change (%)"))[:1],
        }
        assert shown_levers == {
            "demand": "10", "price": "5", "capacity": "-20", "fill target": "99", "capacity on": RESOURCE,
            "demand from": "2027-01", "demand to": "2027-06", "overtime": False,
            "elasticity": walk.levers.price_elasticity, "cost": 10.0, "overtime rate": 50.0, "lead time": 14.0, "service level": 99.0, "cover": 0.5,
            "frozen": 2.0, "suppliers": [SUPPLIER], "out from": "2026-12", "out to": "2027-03",
            "family": [FAMILY, "20"], "sku": [[sku, "50"]],
        }  # fmt: skip

        # ---- compared with the baseline: the scenario's column and its difference
        compare = _grid(page, f"Δ {NAME}")
        compare.scroll_into_view_if_needed()
        expect(compare.locator("th, [role='columnheader']").filter(has_text=f"Δ {NAME}")).to_have_count(1)
        headers = [h.strip() for h in compare.locator("th, [role='columnheader']").all_text_contents()]
        assert headers[-3:] == [plan.BASELINE, NAME, f"Δ {NAME}"]
        rows = {row[0]: row[1:] for row in _grid_rows(compare) if row}
        for kpi in ("revenue", "margin", "inventory_value_end"):
            delta = stored[kpi] - base[kpi]
            assert rows[scr.KPI_LABELS[kpi]] == [
                formatting.money(base[kpi]),
                formatting.money(stored[kpi]),
                ("+" if delta >= 0 else "") + formatting.money(delta),
            ], kpi
        _screenshot(page, "reconciliation_levers_compare.png")
    engine.dispose()
    print("lever moves (s):", walk.timings)
    assert walk.defects == []
