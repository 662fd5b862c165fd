"""Numbers that hold: on the demo company, a figure shown in more than one place — the Executive review page, the
meeting pack's workbook, its deck, the summary for print (PDF) and the command line — is the same number everywhere.

Every figure is read from what each surface renders (the page's text and chart, the workbook's cells, the deck's
text, the printed diff), never from the service that computes it, so a surface that computes its own variant
fails here. The plans themselves may change: the tests compare the surfaces with each other, not with fixed totals.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pdf_text
import pptx
import pytest
from streamlit.testing.v1 import AppTest

from sop_core import formatting, labels
from sop_core.cli import main as cli
from sop_core.db.engine import make_engine
from sop_core.io.export import CAPACITY_COLUMNS
from sop_core.services import cycle as cycle_service
from sop_core.services import executive as executive_service
from sop_core.services import signoff

APP = str(Path(__file__).resolve().parents[2] / "app.py")
OPEN, SIGNED = "2026-11", "2026-10"  # the demo's open cycle and the last signed one before it


@dataclass
class Surfaces:
    """What each surface shows for one cycle."""

    metrics: dict[str, str] = field(default_factory=dict)  # page: metric label → value text
    captions: list[str] = field(default_factory=list)  # page
    waterfall: dict[str, float] = field(default_factory=dict)  # page: step label → value
    summary: dict[str, str] = field(default_factory=dict)  # workbook Summary: figure → value text
    diff_sheet: dict[str, float] = field(default_factory=dict)  # workbook Plan diff: waterfall step → value
    deck: list[str] = field(default_factory=list)  # every line of text of the deck
    pdf: list[str] = field(default_factory=list)  # every line of text of the summary for print ("€" shows as "?")
    cli: dict[str, str] = field(default_factory=dict)  # printed diff: step → amount, and "total change"
    capacity: dict[str, pd.DataFrame] = field(default_factory=dict)  # page: basis → utilisation (%), resource × month
    pack_capacity: dict[str, pd.DataFrame] = field(default_factory=dict)  # workbook: basis → the sheet's rows


def _capacity(at: AppTest) -> dict[str, pd.DataFrame]:
    """The capacity table on screen (resource × month, %) under the basis its heading names (none: empty)."""
    heading = next((m.value for m in at.markdown if m.value.startswith("**Load of")), None)
    table = next((d.value for d in at.dataframe if d.value.index.name == labels.label("resource")), None)
    return {heading.split("**")[1]: table} if heading is not None and table is not None else {}


def _page(at: AppTest) -> Surfaces:
    out = Surfaces(metrics={m.label: m.value for m in at.metric}, captions=[c.value for c in at.caption])
    out.capacity.update(_capacity(at))
    for chart in at.get("plotly_chart"):
        trace = json.loads(chart.proto.spec)["data"][0]
        if trace.get("type") == "waterfall":
            y = trace["y"]  # a plain list, or plotly's base64 typed array
            values = np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"])) if isinstance(y, dict) \
                else y
            out.waterfall = dict(zip(trace["x"], map(float, values), strict=True))
    return out


def _shown(cell: Any) -> str:
    """A workbook cell's value as the deck writes it: money in full with the currency, shares as "98.9%"."""
    value = cell.value
    if isinstance(value, str) or value is None:
        return str(value)
    if cell.number_format.endswith(f'"{formatting.CURRENCY}"'):
        return formatting.money_in_full(value)
    if cell.number_format.endswith("%"):
        return formatting.percent(value, separator="")
    return formatting.count(value)


def _pack(out: Surfaces, pack: bytes, deck: bytes, pdf: bytes) -> None:
    book = openpyxl.load_workbook(io.BytesIO(pack))
    summary = book["Summary"]
    out.summary = {str(summary.cell(r, 1).value): _shown(summary.cell(r, 2)) for r in range(4, summary.max_row + 1)}
    sheet = book["Plan diff"]
    header = [c.value for c in sheet[3]]
    if header[:2] == ["Step", labels.label("change")]:  # the waterfall's steps: (step, change)
        for row in sheet.iter_rows(min_row=4, max_row=11, values_only=True):
            out.diff_sheet[row[0]] = float(row[1])
    for name in ("Supply review", "Plan capacity"):
        if name not in book.sheetnames:
            continue
        sheet = book[name]
        header = [c.value for c in sheet[3]]
        frame = pd.DataFrame(list(sheet.iter_rows(min_row=4, values_only=True)), columns=header)
        frame = frame.rename(columns={labels.label(c): c for c in CAPACITY_COLUMNS})
        frame["period"] = pd.to_datetime(frame["period"]).dt.strftime("%Y-%m-%d")
        out.pack_capacity[str(sheet["A1"].value).split(":")[0]] = frame
    for slide in pptx.Presentation(io.BytesIO(deck)).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                out.deck += shape.text_frame.text.splitlines()
    out.pdf = pdf_text.pages(pdf)[1].splitlines()


def _cli_diff() -> dict[str, str]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert cli.main(["diff"]) == 0
    rows = {}
    for line in printed.getvalue().splitlines():
        if line.startswith("  "):
            label, _, amount = line.strip().rpartition("  ")
            rows[label.strip()] = amount.strip()
        elif line.startswith("total change: "):
            rows["total change"] = line.removeprefix("total change: ")
    return rows


@pytest.fixture(scope="module")
def surfaces(shared_demo_path: Path) -> Iterator[dict[str, Any]]:
    """The Supply review page and the Executive review page (the open cycle with both capacity bases, then the
    signed cycle), the meeting pack and deck of both cycles, and the ``diff`` command, all on the shared demo
    database (nothing here writes)."""
    url = f"sqlite:///{shared_demo_path}"
    before = shared_demo_path.read_bytes()
    shown: dict[str, Any] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOP_DATABASE_URL", url)
        mp.setenv("SOP_AUTH", "off")
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        at.switch_page("views/supply.py").run()
        assert not at.exception, [e.message for e in at.exception]
        shown["supply"] = Surfaces(metrics={m.label: m.value for m in at.metric}, capacity=_capacity(at))
        at.switch_page("views/executive.py").run()
        assert not at.exception, [e.message for e in at.exception]
        shown[OPEN] = _page(at)
        if any(r.key == "exec_capacity_basis" for r in at.radio):
            at.radio(key="exec_capacity_basis").set_value("demand").run()
            assert not at.exception, [e.message for e in at.exception]
            shown[OPEN].capacity.update(_capacity(at))
        at.selectbox(key="cycle_month").set_value(SIGNED).run()
        assert not at.exception, [e.message for e in at.exception]
        shown[SIGNED] = _page(at)
        shown[OPEN].cli = _cli_diff()
        engine = make_engine(url)
        try:
            for month in (OPEN, SIGNED):
                review = executive_service.review(engine, cycle_service.cycle_by_month(engine, month).id)
                _pack(shown[month], *executive_service.meeting_files(review))
            shown["versions"] = signoff.plan_versions(engine, cycle_service.cycle_by_month(engine, SIGNED).id)
        finally:
            engine.dispose()
    yield shown
    assert shared_demo_path.read_bytes() == before, "reading the surfaces wrote to the shared demo database"


def _euros(text: str) -> float:
    """``-3,198,073 EUR`` (workbook, deck) or ``-3,198,072.72`` (command line) → the number."""
    return float(text.split()[0].replace(",", ""))


def _share(text: str) -> float:
    """``98.9 %`` (page) or ``98.9%`` (workbook, deck) → 0.989."""
    return float(text.replace("%", "").strip()) / 100


def _row(rows: dict[str, Any], start: str) -> tuple[str, Any]:
    """The one row whose label is ``start`` or, failing that, starts with it."""
    if start in rows:
        return start, rows[start]
    found = [(k, v) for k, v in rows.items() if k.startswith(start)]
    assert len(found) == 1, f"{len(found)} rows start with {start!r}: {list(rows)}"
    return found[0]


def _margin_row(rows: dict[str, Any]) -> tuple[str, Any]:
    """The headline margin's row: ``Margin``, or ``Margin (…basis…)``."""
    found = [(k, v) for k, v in rows.items() if k == "Margin" or k.startswith("Margin (")]
    assert len(found) == 1, list(rows)
    return found[0]


def _deck_line(lines: list[str], start: str) -> str:
    found = [line for line in lines if line.startswith(start)]
    assert found, f"no deck line starts with {start!r}"
    return found[0]


def test_revenue_vs_last_plan_is_one_figure_on_the_page_in_the_pack_the_deck_and_the_cli(
    surfaces: dict[str, Any],
) -> None:
    shown = surfaces[OPEN]
    cli_total = _euros(shown.cli["total change"])
    # the command line's parts add up to its total (the diff itself is tested in test_plan_diff_pairs)
    assert cli_total == pytest.approx(_euros(shown.cli["After"]) - _euros(shown.cli["Before"]), abs=0.01)
    # the workbook's headline row and the deck's headline line
    label, pack_value = _row(shown.summary, "Revenue vs last plan")
    assert _euros(pack_value) == round(cli_total)
    assert _deck_line(shown.deck, "Revenue vs last plan 2026-10 v1").endswith(f": {pack_value}")
    # the page's headline caption (compact money, as on the cards)
    caption = next(c for c in shown.captions if c.startswith("Vs last plan"))
    page_value = re.search(r"revenue (-?€[\d.,]*\d[kMB]?)", caption)
    assert page_value is not None, caption
    assert page_value.group(1) == formatting.money(cli_total), caption
    # the page's waterfall, the workbook's plan diff sheet and the deck's diff slide: the same total change
    assert shown.waterfall["After"] - shown.waterfall["Before"] == pytest.approx(cli_total, abs=0.01)
    assert shown.diff_sheet["After"] - shown.diff_sheet["Before"] == pytest.approx(cli_total, abs=0.01)
    assert any(c.startswith(f"Total change {formatting.money(cli_total)}: 2026-10 v1 ") for c in shown.captions)
    assert f"total change {pack_value} over " in _deck_line(shown.deck, "Revenue vs last plan: 2026-10 v1")
    # each surface names the months the figure covers: October 2026 is history now, at actual sales
    basis = "2026-10 – 2028-03 (2026-10 at actual sales)"
    assert basis in caption and basis in label
    assert "2026-10 at actual sales" in next(c for c in shown.captions if c.startswith("Total change"))


def test_the_last_plan_comparison_names_each_basis_and_its_parts_add_up(surfaces: dict[str, Any]) -> None:
    shown = surfaces[OPEN]
    total = _euros(_row(shown.summary, "Revenue vs last plan")[1])
    new_actuals = _euros(_row(shown.summary, "  of which new actuals")[1])
    forecast = _euros(_row(shown.summary, "  of which the months both plans forecast")[1])
    assert new_actuals + forecast == pytest.approx(total, abs=1)
    # the new actuals are the waterfall's step of that name, on the page and on the command line
    assert new_actuals == round(shown.waterfall["New actuals"]) == round(_euros(shown.cli["New actuals"]))
    assert new_actuals != 0  # the demo's October is history: the two windows differ by it
    # the margin has no actuals: it covers the months both plans forecast, and says so everywhere
    label, _value = _row(shown.summary, "Margin vs last plan")
    assert "over 2026-11 – 2028-03, the months both plans forecast" in label
    caption = next(c for c in shown.captions if c.startswith("Vs last plan"))
    assert "margin" in caption and "over 2026-11 – 2028-03, the months both plans forecast" in caption


@pytest.mark.parametrize("month", [OPEN, SIGNED])
def test_headline_figures_are_equal_on_the_page_in_the_pack_the_deck_and_the_summary(
    surfaces: dict[str, Any], month: str
) -> None:
    shown = surfaces[month]
    for card, (label, value) in [("Revenue", _row(shown.summary, "Revenue")), ("Margin", _margin_row(shown.summary)),
                                 ("Inventory value", _row(shown.summary, "Inventory value"))]:
        assert shown.metrics[card] == formatting.money(_euros(value)), card
        assert _deck_line(shown.deck, label) == f"{label}: {value}"
    for card in ("Revenue", "Margin", "Fill rate (plan)", "Inventory value", "Capacity risks"):  # as on the page
        assert shown.metrics[card].replace("€", "?") in shown.pdf, card
    label, fill = _row(shown.summary, "Fill rate (plan)")
    assert _share(shown.metrics["Fill rate (plan)"]) == pytest.approx(_share(fill), abs=0.0005)
    assert _deck_line(shown.deck, label) == f"{label}: {fill}"
    label, risks = _row(shown.summary, "Capacity risks")
    assert shown.metrics["Capacity risks"] == risks
    assert _deck_line(shown.deck, label) == f"{label}: {risks}"


def test_the_signed_plan_has_the_same_numbers_wherever_it_appears(surfaces: dict[str, Any]) -> None:
    signed, now = surfaces[SIGNED], surfaces[OPEN]
    versions = surfaces["versions"].set_index("version")
    # what was frozen at sign-off is what the signed cycle's page and pack show
    revenue = _euros(_row(signed.summary, "Revenue")[1])
    assert revenue == round(versions.loc[1, "revenue"])
    assert _euros(_margin_row(signed.summary)[1]) == round(versions.loc[1, "margin"])
    # the signed plan is the "before" of the open cycle's plan diff: its months all lie in the window, so the
    # before total is its whole revenue — on the page, in the workbook and on the command line
    assert round(now.waterfall["Before"]) == revenue
    assert round(now.diff_sheet["Before"]) == revenue
    assert round(_euros(now.cli["Before"])) == revenue


DEMAND_LOAD, PLAN_LOAD = "Load of the consensus demand (unconstrained)", "Load of the constrained plan"


def _utilisation(sheet: pd.DataFrame) -> pd.DataFrame:
    """A capacity sheet of the workbook as the pages show it: load ÷ regular capacity in %, resource × month (the
    pages head the months "Nov 2026")."""
    wide = sheet.assign(util=100 * sheet["load_hours"] / sheet["capacity_hours"],
                        month=sheet["period"].str[:7]).pivot(index="resource", columns="month", values="util")
    return wide.rename(columns=formatting.month).rename_axis(index=labels.label("resource"), columns=None)


def test_capacity_load_names_its_basis_and_is_equal_wherever_the_basis_is_the_same(
    surfaces: dict[str, Any],
) -> None:
    supply, executive = surfaces["supply"], surfaces[OPEN]
    # every capacity table names what it is the load of: Supply review the demand before any limit, the Executive
    # review (either, the plan by default) and the pack both, each sheet saying so
    assert list(supply.capacity) == [DEMAND_LOAD]
    assert list(executive.capacity) == [PLAN_LOAD, DEMAND_LOAD]
    assert set(executive.pack_capacity) == {DEMAND_LOAD, PLAN_LOAD}
    # the same basis, the same numbers: per resource and month, on both pages and in the workbook
    pd.testing.assert_frame_equal(executive.capacity[DEMAND_LOAD], supply.capacity[DEMAND_LOAD])
    for basis, shown in executive.capacity.items():
        pack = _utilisation(executive.pack_capacity[basis])
        assert list(pack.index) == list(shown.index) and list(pack.columns) == list(shown.columns), basis
        np.testing.assert_allclose(shown.to_numpy(), pack.to_numpy(), atol=0.051, err_msg=basis)
    # two pictures, not one: the constrained plan loads the resources differently from the demand
    assert not np.allclose(executive.capacity[PLAN_LOAD].to_numpy(), executive.capacity[DEMAND_LOAD].to_numpy())
    # the counts of resource-months over regular capacity, each on its own basis
    over = {b: int((f["status"] == "bottleneck").sum()) for b, f in executive.pack_capacity.items()}
    for f in executive.pack_capacity.values():  # over capacity means above it, not filled to it by the plan
        excess = f["load_hours"] - f["capacity_hours"]
        assert ((f["status"] == "bottleneck") == (excess > 1e-6 * f["capacity_hours"])).all()
    assert supply.metrics["Bottleneck months"] == str(over[DEMAND_LOAD])
    assert executive.metrics["Capacity risks"] == str(over[PLAN_LOAD])
    label, risks = _row(executive.summary, "Capacity risks")
    assert risks == str(over[PLAN_LOAD]) and PLAN_LOAD.lower() in label
