"""Hostile import files the tests and ``bench/reliability.py`` try: a workbook small when zipped that expands to
many rows (a "zip bomb")."""

from __future__ import annotations

import io
import zipfile

import openpyxl


def workbook(rows: int, dimension: bool) -> bytes:
    """An .xlsx whose sheet holds ``rows`` rows of three cells, its XML written as a stream (small when zipped)."""
    template, out = io.BytesIO(), io.BytesIO()
    book = openpyxl.Workbook()
    book.active.title = "sales_history"
    book.active.append(["sku", "period", "quantity"])
    book.save(template)
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(item, src.read(item))
                continue
            with dst.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
                ref = f'<dimension ref="A1:C{rows}"/>' if dimension else ""
                sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
                            b'.org/spreadsheetml/2006/main">' + ref.encode() + b"<sheetData>")
                chunk = b"".join(b'<row><c t="inlineStr"><is><t>A-100</t></is></c><c t="inlineStr"><is><t>'
                                 b"2026-10-01</t></is></c><c><v>4</v></c></row>" for _ in range(10_000))
                for _ in range(rows // 10_000):
                    sheet.write(chunk)
                sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()
