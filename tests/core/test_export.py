"""Meeting pack exports: the Excel workbook opens with one sheet per step, the deck with its slides."""

from __future__ import annotations

import datetime
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pdf_text
import pptx
import pytest
from sqlalchemy import Engine

from sop_core import formatting
from sop_core.cli import main as cli
from sop_core.db.engine import make_engine
from sop_core.io import export_deck, export_summary
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
    assert figures["Revenue"] == pytest.approx(head["revenue"])
    assert figures["Revenue vs budget"] == pytest.approx(head["budget_gap"])
    assert head["margin_vs_budget"] is not None
    assert figures["Margin vs budget"] == pytest.approx(head["margin_vs_budget"])
    # the plan diff sheet: the waterfall steps first (before, six causes, after)
    diff = book["Plan diff"]
    assert [diff.cell(r, 1).value for r in range(4, 12)] == [
        "Before", "New actuals", "Statistical forecast", "Overrides", "Price", "Capacity", "Scenario levers", "After"
    ]
    assert diff.freeze_panes == "A4"
    # the decisions: this cycle's, then the earlier cycles' against actual sales, each table under its own header
    sheet = book["Decisions"]
    tops = [r for r in range(3, sheet.max_row + 1) if sheet.cell(r, 1).value == "ID"]
    assert tops[0] == 3 and len(tops) == 2
    header = [c.value for c in sheet[tops[1]]]
    rows = {r[header.index("Decision")]: dict(zip(header, r, strict=True))
            for r in sheet.iter_rows(min_row=tops[1] + 1, values_only=True)}
    past = rows["Pre-build Black Friday stock: cover 1.2 months"]  # a past decision of 2026-10
    assert (past["Cycle"], past["Scope"], past["Months"]) == ("2026-10", "all SKUs", "2026-10")
    assert past["Changes"] == "demand +3 %; price +2 % (elasticity -1.2); cover 1.2 months"


def test_deck_has_the_headline_slides_with_chart_images(demo_engine: Engine) -> None:
    cycle = cycle_service.cycle_by_month(demo_engine, "2026-11")
    deck = pptx.Presentation(io.BytesIO(executive_service.deck(demo_engine, cycle.id)))
    titles = [s.shapes.title.text for s in deck.slides]
    assert titles == list(export_deck.SLIDES)
    assert len(deck.slides) == 8
    pictures = {s.shapes.title.text: sum(sh.shape_type == 13 for sh in s.shapes) for s in deck.slides}
    assert pictures["Plan vs last plan"] == 1 and pictures["Revenue by month"] == 1
    # nobody has signed the open cycle's plan yet: the sign-off slide says so, role by role
    sign = deck.slides[len(export_deck.SLIDES) - 1]
    text = " ".join(sh.text_frame.text for sh in sign.shapes if sh.has_text_frame)
    assert "Plan version 1: 0 of 4 roles signed; not frozen yet." in text
    table = next(sh.table for sh in sign.shapes if sh.has_table)
    assert [[c.text for c in r.cells][1] for r in list(table.rows)[1:]] == ["not signed"] * 4


@pytest.mark.parametrize("name", ["pack.xlsx", "deck.pptx", "summary.pdf"])
def test_cli_export_writes_the_file(demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    name: str) -> None:
    monkeypatch.setenv("SOP_DATABASE_URL", demo_url)
    out = tmp_path / name
    assert cli.main(["export", "--cycle", "2026-10", "--out", str(out)]) == 0
    if name.endswith(".xlsx"):
        assert openpyxl.load_workbook(out).sheetnames[0] == "Summary"
    elif name.endswith(".pptx"):
        assert len(pptx.Presentation(str(out)).slides) == len(export_deck.SLIDES)
    else:
        assert "S&OP executive summary ? cycle 2026-10" in pdf_text.pages(out.read_bytes())[1]
    assert cli.main(["export", "--out", str(tmp_path / "pack.csv")]) == 1


def test_meeting_files_are_the_pack_and_the_deck_from_one_read(demo_engine: Engine) -> None:
    cycle = cycle_service.cycle_by_month(demo_engine, "2026-11")
    pack, deck, summary = executive_service.meeting_files(executive_service.review(demo_engine, cycle.id))
    assert summary.startswith(b"%PDF-")
    book = openpyxl.load_workbook(io.BytesIO(pack))
    alone = openpyxl.load_workbook(io.BytesIO(executive_service.excel_pack(demo_engine, cycle.id)))
    assert book.sheetnames == alone.sheetnames
    for name in book.sheetnames:  # the same cells as the pack built on its own
        assert list(book[name].values) == list(alone[name].values), name
    assert [s.shapes.title.text for s in pptx.Presentation(io.BytesIO(deck)).slides] == list(export_deck.SLIDES)


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
    assert cell.column == header.index("Decision") + 1
    assert (cells["+owner"].data_type, cells["+owner"].quotePrefix) == ("s", True)
    assert not any(c.data_type == "f" for row in openpyxl.load_workbook(data)["Decisions"].iter_rows() for c in row)


# --------------------------------------------------------------------------- what a finance team accepts
SIGNED = "2026-10"  # the demo's last signed cycle
EMU_PER_INCH = 914_400
HEADER_FILL = "FFDBEAFE"  # the header rows' fill


@pytest.fixture(scope="module")
def signed_files(shared_demo_path: Path) -> Iterator[dict[str, Any]]:
    """The review, the workbook, the deck and the summary (PDF bytes) of the demo's signed cycle (read only)."""
    engine = make_engine(f"sqlite:///{shared_demo_path}")
    try:
        review = executive_service.review(engine, cycle_service.cycle_by_month(engine, SIGNED).id)
        pack, deck, summary = executive_service.meeting_files(review)
        yield {"review": review, "book": openpyxl.load_workbook(io.BytesIO(pack)),
               "deck": pptx.Presentation(io.BytesIO(deck)), "summary": summary}
    finally:
        engine.dispose()


def _headers(sheet: Any) -> list[list[Any]]:
    """The header rows of a sheet (cells with the header fill), each as its values."""
    return [[c.value for c in row if c.value is not None] for row in sheet.iter_rows()
            if row[0].fill.fgColor.rgb == HEADER_FILL]


def _width(sheet: Any, col: int) -> float:
    """The width of a column [characters] (a width may be stored once for a range of columns)."""
    found = [d.width for d in sheet.column_dimensions.values() if d.min is not None and d.min <= col <= d.max]
    assert found, (sheet.title, col)
    return float(found[0])


def test_workbook_figures_are_numbers_with_number_formats(signed_files: dict[str, Any]) -> None:
    book, head = signed_files["book"], signed_files["review"].headline
    summary = book["Summary"]
    cells = {summary.cell(r, 1).value: summary.cell(r, 2) for r in range(4, summary.max_row + 1)}
    revenue = cells["Revenue"]
    assert revenue.value == pytest.approx(head["revenue"]) and isinstance(revenue.value, float)
    assert revenue.number_format == '#,##0 "EUR"'
    assert cells["Margin rate"].value == pytest.approx(head["margin_rate"])
    assert cells["Margin rate"].number_format == "0.0%"
    assert cells["Fill rate (plan)"].number_format == "0.0%"
    # no number anywhere is stored as text ("138,720,695 EUR", "35.6%")
    texts = [c.value for ws in book for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [t for t in texts if re.fullmatch(r"-?[\d,.]+ ?(EUR|%)", t)]
    # months are dates shown as months; money columns carry the currency format
    plan = book["Executive review"]
    header = [c.value for c in plan[3]]
    first = plan[4]
    assert isinstance(first[header.index("Month")].value, datetime.datetime)
    assert first[header.index("Month")].number_format == "yyyy-mm"
    assert first[header.index("Revenue (EUR)")].number_format == '#,##0 "EUR"'
    assert first[header.index("Demand (units)")].number_format == "#,##0"


def test_workbook_regions_have_their_own_human_headers_frozen_and_fitted(signed_files: dict[str, Any]) -> None:
    book, review = signed_files["book"], signed_files["review"]
    for ws in book:
        headers = _headers(ws)
        assert headers, ws.title
        assert ws.freeze_panes == "A4", ws.title  # title, a blank row and the first header stay in view
        for header in headers:
            assert not [h for h in header if re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", str(h))], (ws.title, header)
        for col, cell in enumerate(ws[3], start=1):  # every column at least as wide as its header
            width = _width(ws, col)
            assert cell.value is None or width >= len(str(cell.value)), (ws.title, cell.value, width)
    assert "Demand (units)" in _headers(book["Executive review"])[0]
    assert "Demand change (%)" in _headers(book["Reconciliation"])[0]
    assert "Updated at" in _headers(book["Reconciliation"])[0]
    # the plan diff: the change by cause and the change by family, two tables, each under its own header
    diff = book["Plan diff"]
    assert _headers(diff)[0] == ["Step", "Change (EUR)"]
    steps = {diff.cell(r, 1).value: diff.cell(r, 2).value for r in range(4, 12)}
    assert list(steps) == ["Before", "New actuals", "Statistical forecast", "Overrides", "Price", "Capacity",
                           "Scenario levers", "After"]
    assert diff.cell(12, 1).value is None  # a blank row between the tables
    second = _headers(diff)[1]
    assert second[:4] == ["Family", "Before (EUR)", "After (EUR)", "Change (EUR)"]
    top = next(r for r in range(13, diff.max_row + 1) if diff.cell(r, 1).value == "Family")
    families = [row for row in diff.iter_rows(min_row=top + 1, values_only=True) if row[0] is not None]
    assert [f[0] for f in families] == sorted(review.table["family"].unique())
    assert sum(f[3] for f in families) == pytest.approx(steps["After"] - steps["Before"], abs=1)
    # the content is wider than the header: the summary's value column fits "125,846,438 EUR"
    assert _width(book["Summary"], 2) >= len(f"{review.headline['revenue']:,.0f} EUR")


def test_workbook_states_the_cycle_state_once_and_a_signed_plan_is_signed(signed_files: dict[str, Any]) -> None:
    summary = signed_files["book"]["Summary"]
    rows = [(summary.cell(r, 1).value, summary.cell(r, 2).value) for r in range(4, summary.max_row + 1)]
    assert [v for k, v in rows if k == "State"] == ["Signed"]
    assert sum(str(k).startswith("State") for k, _v in rows) == 1
    words = " ".join(f"{k} {v}" for k, v in rows).lower()
    assert "proposed" not in words
    assert dict(rows)["Plan"] == "Black Friday push (version 1, signed)"
    # the sign-off sheet: who signed, when, which version, as labelled cells and real times
    sign = signed_files["book"]["Sign-off"]
    assert _headers(sign)[0] == ["Role", "Signed by", "Signed at", "Plan version", "Comment"]
    signers = {r[0]: r for r in sign.iter_rows(min_row=4, values_only=True)}
    assert {k: v[1] for k, v in signers.items()} == {"Demand planner": "dana", "Supply planner": "sam",
                                                       "Finance": "fiona", "Executive": "eric"}
    assert all(isinstance(v[2], datetime.datetime) and v[3] == 1 for v in signers.values())


def _inches(emu: int) -> float:
    return emu / EMU_PER_INCH


def test_deck_is_16_9_with_centred_titles_and_sharp_pictures_inside_the_slide(signed_files: dict[str, Any]) -> None:
    deck = signed_files["deck"]
    width, height = _inches(deck.slide_width), _inches(deck.slide_height)
    assert (round(width, 2), height) == (13.33, 7.5)
    pictures = 0
    for n, slide in enumerate(deck.slides, start=1):
        title = slide.shapes.title
        assert _inches(title.left + title.width / 2) == pytest.approx(width / 2, abs=0.05), n
        assert _inches(title.left) >= 0.3 and _inches(title.left + title.width) <= width - 0.3, n
        for shape in slide.shapes:
            if shape.shape_type != 13:
                continue
            pictures += 1
            left, top = _inches(shape.left), _inches(shape.top)
            right, bottom = left + _inches(shape.width), top + _inches(shape.height)
            assert left >= 0.25 and top >= 0.25 and right <= width - 0.25 and bottom <= height - 0.25, (
                n, left, top, right, bottom)
            px_w, px_h = shape.image.size
            assert px_w * EMU_PER_INCH >= 200 * shape.width and px_h * EMU_PER_INCH >= 200 * shape.height, (
                n, px_w, px_h, shape.width, shape.height)
            assert px_w / px_h == pytest.approx(shape.width / shape.height, rel=0.01), n  # aspect kept
            for other in slide.shapes:  # no text box over the picture
                if other.shape_type == 17:
                    assert _inches(other.top) >= bottom - 0.01 or _inches(other.top + other.height) <= top + 0.01
    assert pictures == 2


def test_deck_has_a_signoff_slide_and_the_numbers_behind_each_chart_in_its_notes(
    signed_files: dict[str, Any],
) -> None:
    deck, review = signed_files["deck"], signed_files["review"]
    slides = {s.shapes.title.text: s for s in deck.slides}
    sign = slides["Sign-off"]
    table = next(sh.table for sh in sign.shapes if sh.has_table)
    rows = [[c.text for c in r.cells] for r in table.rows]
    assert rows[0] == ["Role", "Signed by", "Signed at", "Plan version"]
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [
        ("Demand planner", "dana", "1"), ("Supply planner", "sam", "1"), ("Finance", "fiona", "1"),
        ("Executive", "eric", "1")]
    assert all(r[2].startswith("2026-10-13 ") for r in rows[1:])
    text = " ".join(sh.text_frame.text for sh in sign.shapes if sh.has_text_frame)
    assert "Plan version 1 signed by all 4 roles" in text
    # the notes: the waterfall's steps and total change, the revenue chart's totals and gap
    diff = review.diff
    assert diff is not None
    notes = slides["Plan vs last plan"].notes_slide.notes_text_frame.text
    steps = diff.waterfall.set_index("label")["value"]
    for step in ("Before", "Scenario levers", "After"):
        assert f"{step}: {formatting.money_in_full(steps[step])}" in notes
    assert f"Total change: {formatting.money_in_full(diff.total_change)}" in notes
    by_month = review.table.groupby("period")[["revenue", "budget_revenue"]].sum(min_count=1)
    notes = slides["Revenue by month"].notes_slide.notes_text_frame.text
    assert f"Plan revenue: {formatting.money_in_full(by_month['revenue'].sum())}" in notes
    first = by_month.index[0]
    assert (f"{first:%Y-%m}: plan {formatting.money_in_full(by_month.loc[first, 'revenue'])}, budget "
            f"{formatting.money_in_full(by_month.loc[first, 'budget_revenue'])}") in notes


def test_summary_pdf_is_a4_landscape_with_the_figures_the_sign_off_and_the_decisions(
    signed_files: dict[str, Any],
) -> None:
    review, pdf = signed_files["review"], signed_files["summary"]
    boxes, text = pdf_text.pages(pdf)
    assert boxes and all(b[2:] == pytest.approx([841.9, 595.3], abs=1) for b in boxes)  # A4 landscape [pt]
    head = review.headline
    cards = {c.label: c for c in export_summary.cards(review)}
    assert list(cards) == ["Revenue", "Margin", "Fill rate (plan)", "Inventory value", "Capacity risks"]
    assert cards["Revenue"].value == formatting.money(head["revenue"])  # as the page's card shows it
    assert cards["Revenue"].notes[0] == f"{formatting.money(head['budget_gap'])} vs budget"
    assert cards["Margin"].value == formatting.money(head["margin"])
    assert cards["Fill rate (plan)"].value == formatting.percent(head["fill_rate"])
    assert cards["Capacity risks"].value == str(head["capacity_risks"])
    for card in cards.values():  # the figures are in the PDF's text (the currency sign is a drawn shape)
        assert card.value.lstrip("-€") in text, card
    assert f"S&OP executive summary ? cycle {SIGNED}" in text and "Plan Black Friday push · version 1 (signed)" in text
    assert "Plan version 1 signed by all 4 roles; the version is frozen. State: Signed." in text
    for who in ("dana", "sam", "?ona", "eric"):  # fiona's "fi" is one glyph
        assert who in text, who
    rows = export_summary.decision_rows(review)
    assert len(rows) == len(review.decisions) > 0
    assert [r[0] for r in rows] == review.decisions["decision"].tolist()
    assert all(r[1] and r[2] and r[4] for r in rows)
    assert rows[0][0].split()[0] in text
    past = export_summary.past_rows(review)
    assert [r[1] for r in past] == review.past["decision"].tolist()
    assert not [cell for row in rows + past for cell in row if cell in ("None", "nan", "NaT", "")]
