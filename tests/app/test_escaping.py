"""Text from the data is shown literally: a product name or a resource code written as Markdown (an image, bold)
is escaped wherever it enters Markdown on a page, so a planner's browser fetches nothing a file named."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Iterable

import screen
from streamlit.testing.v1 import AppTest

from sop_core.db.engine import make_engine
from sop_core.services import monitor as monitor_service
from views.ui import md

HOSTILE = "![img](http://x/y.png) **bold**"
#: Markdown that would render an image or a link: ``![…](…)`` or ``[…](…)`` with no backslash before ``[``.
_LIVE_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(")
#: Proto fields that Streamlit renders as Markdown (a select box's options are plain text, its label is not).
_MARKDOWN_FIELDS = ("body", "label", "help")


def _markdown_texts(at: AppTest) -> list[str]:
    out: list[str] = []
    for root in (at.main, at.sidebar):
        for node in root:
            proto = getattr(node, "proto", None)
            if proto is None or not hasattr(proto, "ListFields"):
                continue
            out += [v for f, v in proto.ListFields() if f.name in _MARKDOWN_FIELDS and isinstance(v, str)]
    return out


def _live(texts: Iterable[str]) -> list[str]:
    return [t for t in texts if _LIVE_LINK.search(t) or "**bold**" in t]


def _sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def test_a_product_name_written_as_markdown_shows_literally_on_the_kpi_drill_down(app_env: str, demo_url: str) -> None:
    engine = make_engine(demo_url)
    try:
        monitor_service.run_monitor(engine, user="sam", today=dt.date(2026, 11, 25))  # a supply planner
        sku = monitor_service.exception_list(engine)["sku"].iloc[0]
    finally:
        engine.dispose()
    with sqlite3.connect(_sqlite_path(demo_url)) as conn:
        conn.execute("UPDATE product SET name = ? WHERE sku = ?", (HOSTILE, sku))

    at = AppTest.from_file(app_env, default_timeout=120)
    at.switch_page("views/kpis.py").run()
    assert not at.exception, [e.message for e in at.exception]
    screen.open_tab(at, "kpi_section", "Exceptions")  # the drill-down's tab
    assert at.selectbox(key="kpi_drill_sku").value == sku
    shown = _markdown_texts(at)
    heading = f"**{md(sku)} — {md(HOSTILE)}**"
    assert any(t.startswith(heading) for t in shown), [t for t in shown if "img" in t]
    assert md(HOSTILE) == r"!\[img\](http\://x/y.png) \*\*bold\*\*"
    assert _live(shown) == []


def test_a_resource_code_written_as_markdown_shows_literally_on_the_supply_page(app_env: str, demo_url: str) -> None:
    hostile = "![i](http://x/r.png)"
    with sqlite3.connect(_sqlite_path(demo_url)) as conn:
        conn.execute("PRAGMA foreign_keys=OFF")
        first = conn.execute("SELECT resource FROM resource ORDER BY resource LIMIT 1").fetchone()[0]
        for table in ("resource", "routing"):
            conn.execute(f"UPDATE {table} SET resource = ? WHERE resource = ?", (hostile, first))  # noqa: S608
        conn.execute("UPDATE resource SET capacity_hours = capacity_hours + 1 WHERE resource = ?", (hostile,))
        # (a changed number: the stored figures are keyed on the tables' sums, which a new code alone leaves as is)

    at = AppTest.from_file(app_env, default_timeout=120)
    at.switch_page("views/supply.py").run()
    assert not at.exception, [e.message for e in at.exception]
    at.selectbox(key="supply_resource").set_value(next(o for o in at.selectbox(key="supply_resource").options
                                                       if o.startswith(hostile))).run()
    assert not at.exception, [e.message for e in at.exception]
    shown = _markdown_texts(at)
    assert any(t.startswith(f"**{md(hostile)}: load vs capacity**") for t in shown), [t for t in shown if "r.png" in t]
    assert _live(shown) == []
