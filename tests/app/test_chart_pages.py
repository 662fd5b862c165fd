"""The pages' charts and cards as drawn: event marks that do not overprint on the Demand review, the Executive
waterfall's axis, the KPI lights' symbols, and a definition behind every metric card."""

from __future__ import annotations

import datetime as dt

import screen
from streamlit.testing.v1 import AppTest

from sop_core.db.engine import make_engine
from sop_core.services import monitor as monitor_service


def _run(app_env: str, page: str | None = None, **session: object) -> AppTest:
    at = AppTest.from_file(app_env, default_timeout=180)
    for k, v in session.items():
        at.session_state[k] = v
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _legend(fig: dict) -> list[str]:
    return [t["name"] for t in fig["data"] if t.get("showlegend", True) and t.get("name")]


def test_demand_chart_event_marks_do_not_overprint(shared_app_env: str) -> None:
    # the total: 56 events of the demo company, as a lane of bands along the bottom, not over the forecast
    total = screen.figure(_run(shared_app_env), key="demand_chart")
    shapes, labels = total["layout"].get("shapes", []), total["layout"].get("annotations", [])
    assert [n for n in _legend(total) if n.startswith("Events")] == ["Events (56)"]
    assert len(shapes) <= 56 and all(s["y1"] <= 0.05 for s in shapes)
    assert len(labels) <= 4
    # a SKU: at most four labels, inside the plot (under its top edge, away from the legend), one legend entry each
    sku = screen.figure(_run(shared_app_env, demand_level="sku"), key="demand_chart")
    labels = sku["layout"].get("annotations", [])
    assert 1 <= len(labels) <= 4
    assert all(a["y"] <= 1 and a.get("yanchor") == "top" and not a.get("textangle") for a in labels)
    legend = _legend(sku)
    assert len(legend) == len(set(legend))
    title, key = sku["layout"].get("legend", {}), "yref"
    assert (title.get(key), title.get("y"), title.get("yanchor")) == ("container", 0, "bottom")


def test_every_kpi_card_says_what_it_means_and_its_light_has_a_symbol(app_env: str, demo_url: str) -> None:
    engine = make_engine(demo_url)
    try:  # open exceptions, so that the SKU drill-down and its policy cards are drawn
        monitor_service.run_monitor(engine, user="sam", today=dt.date(2026, 11, 25))  # a supply planner
    finally:
        engine.dispose()
    at = _run(app_env, "views/kpis.py")
    tabs = [t.label for t in at.tabs]
    assert tabs == ["Trends", "Targets", "Exceptions", "Inventory policy"]
    no_help = {tab: [m.label for m in screen.open_tab(at, "kpi_section", tab).metric if not m.proto.help] for tab in tabs}
    assert no_help == {tab: [] for tab in tabs}
    assert len(at.metric) == 14  # the Inventory policy tab: ten KPI cards and the section's four
    screen.open_tab(at, "kpi_section", "Exceptions")
    assert len(at.metric) == 15  # ten KPI cards, five policy cards of the drill-down
    cards = {m.label.split(" ", 1)[1]: m for m in at.metric if m.label.startswith((":green[", ":orange[", ":red[", ":gray["))}
    assert len(cards) == 10
    assert all(m.label.split(" ", 1)[0] in (":green[✔]", ":orange[▲]", ":red[✖]", ":gray[○]") for m in cards.values())
    reliability = cards["Supplier reliability"]
    # the demo's OTIF target is the default 90 %: the card says it moves with it
    assert "Measured against the OTIF target, now 90.0 %: changing that target moves this KPI." in reliability.proto.help
    word = {":green[✔]": "✔ on target", ":orange[▲]": "▲ watch", ":red[✖]": "✖ off target", ":gray[○]": "○ no data"}
    for m in cards.values():  # the light's word opens the card's help
        assert m.proto.help.startswith(f"**{word[m.label.split(' ', 1)[0]]}.** "), m.label
    drill = screen.figure(at, key="kpi_drill_chart")
    assert (drill["layout"]["title"]["yref"], drill["layout"]["legend"]["yref"]) == ("container", "container")
    assert drill["layout"]["title"]["y"] > drill["layout"]["legend"]["y"]


def test_every_executive_card_says_what_it_means_and_the_waterfall_starts_near_the_totals(shared_app_env: str) -> None:
    at = _run(shared_app_env, "views/executive.py")
    assert len(at.metric) == 5
    assert [m.label for m in at.metric if not m.proto.help] == []
    wf = next(f for f in screen.figures(at) if f["data"] and f["data"][0].get("type") == "waterfall")
    # the demo's default diff: before €125.8M, after €123.2M, the lowest running value €123.2M → axis from €121M
    assert wf["layout"]["yaxis"]["range"][0] == 121e6
    assert wf["layout"]["title"]["subtitle"]["text"].startswith("Axis starts at €121.0M, not 0")
