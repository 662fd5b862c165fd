"""Meeting pack exports: the Excel workbook opens with one sheet per step, the deck with its slides."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pptx
import pytest
from sqlalchemy import Engine

from sop_core.cli import main as cli
from sop_core.io import export
from sop_core.services import cycle as cycle_service
from sop_core.services import decisions as decisions_service
from sop_core.services import executive as executive_service


def test_excel_pack_has_one_formatted_sheet_per_step(demo_engine: Engine) -> None:
    cycle = cycle_service.cycle_by_month(demo_engine, "2026-11")
    book = openpyxl.load_workbook(io.BytesIO(executive_service.excel_pack(demo_engine, cycle.id)))
    assert book.sheetnames == ["Summary", "Demand review", "Supply review", "Reconciliation", "Executive review",
                               "Plan capacity", "Plan diff", "Decisions", "Sign-off"]
    summary = book["Summary"]
    assert summary["A1"].value == "S&OP executive review — cycle 2026-11"
    assert summary["A1"].font.bold and summary["A3"].font.bold  # title and header row
    figures = {summary.cell(r, 1).value: summary.cell(r, 2).value for r in range(4, summary.max_row + 1)}
    head = executive_service.headline(demo_engine, cycle.id)
    assert figures["Revenue"] == f"{head['revenue']:,.0f} EUR"
    assert figures["Revenue vs budget"] == f"{head['budget_gap']:,.0f} EUR"
    assert head["margin_vs_budget"] is not None
    assert figures["Margin vs budget"] == f"{head['margin_vs_budget']:,.0f} EUR"
    # the plan diff sheet: the waterfall steps first (before, six causes, after)
    diff = book["Plan diff"]
    assert [diff.cell(r, 1).value for r in range(4, 12)] == [
        "Before", "New actuals", "Statistical forecast", "Overrides", "Price", "Capacity", "Scenario levers", "After"
    ]
    assert diff.freeze_panes == "A4"
    sheet = book["Decisions"]
    header = [c.value for c in sheet[3]]
    rows = {r[header.index("decision")]: dict(zip(header, r, strict=True))
            for r in sheet.iter_rows(min_row=4, values_only=True)}
    past = rows["Pre-build Black Friday stock: cover 1.2 months"]  # a past decision of 2026-10
    assert (past["cycle"], past["scope"], past["months"]) == ("2026-10", "all SKUs", "2026-10")
    assert past["changes"] == "demand +3 %; price +2 % (elasticity -1.2); cover 1.2 months"


def test_deck_has_the_headline_slides_with_chart_images(demo_engine: Engine) -> None:
    cycle = cycle_service.cycle_by_month(demo_engine, "2026-11")
    deck = pptx.Presentation(io.BytesIO(executive_service.deck(demo_engine, cycle.id)))
    titles = [s.shapes.title.text for s in deck.slides]
    assert titles == list(export.SLIDES)
    assert len(deck.slides) == 7
    pictures = {s.shapes.title.text: sum(sh.shape_type == 13 for sh in s.shapes) for s in deck.slides}
    assert pictures["Plan vs last plan"] == 1 and pictures["Revenue by month"] == 1


@pytest.mark.parametrize("name", ["pack.xlsx", "deck.pptx"])
def test_cli_export_writes_the_file(demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    name: str) -> None:
    monkeypatch.setenv("SOP_DATABASE_URL", demo_url)
    out = tmp_path / name
    assert cli.main(["export", "--cycle", "2026-10", "--out", str(out)]) == 0
    if name.endswith(".xlsx"):
        assert openpyxl.load_workbook(out).sheetnames[0] == "Summary"
    else:
        assert len(pptx.Presentation(str(out)).slides) == 7
    assert cli.main(["export", "--out", str(tmp_path / "pack.csv")]) == 1


def test_meeting_files_are_the_pack_and_the_deck_from_one_read(demo_engine: Engine) -> None:
    cycle = cycle_service.cycle_by_month(demo_engine, "2026-11")
    pack, deck = executive_service.meeting_files(executive_service.review(demo_engine, cycle.id))
    book = openpyxl.load_workbook(io.BytesIO(pack))
    alone = openpyxl.load_workbook(io.BytesIO(executive_service.excel_pack(demo_engine, cycle.id)))
    assert book.sheetnames == alone.sheetnames
    for name in book.sheetnames:  # the same cells as the pack built on its own
        assert list(book[name].values) == list(alone[name].values), name
    assert [s.shapes.title.text for s in pptx.Presentation(io.BytesIO(deck)).slides] == list(export.SLIDES)


def test_a_decision_written_as_a_formula_is_a_text_cell_in_the_pack(demo_engine: Engine) -> None:
    cycle = cycle_service.cycle_by_month(demo_engine, "2026-11")
    formula = '=HYPERLINK("http://x","y")'
    decisions_service.add_decision(demo_engine, cycle.id, formula, "+owner", None, "demo")
    data = io.BytesIO(executive_service.excel_pack(demo_engine, cycle.id))
    sheet = openpyxl.load_workbook(data)["Decisions"]
    header = [c.value for c in sheet[3]]
    cells = {c.value: c for row in sheet.iter_rows(min_row=4) for c in row if isinstance(c.value, str)}
    cell = cells[formula]
    assert (cell.data_type, cell.quotePrefix) == ("s", True)  # a string, not a formula ('f')
    assert cell.column == header.index("decision") + 1
    assert (cells["+owner"].data_type, cells["+owner"].quotePrefix) == ("s", True)
    assert not any(c.data_type == "f" for row in openpyxl.load_workbook(data)["Decisions"].iter_rows() for c in row)
