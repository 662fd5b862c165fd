"""The import templates: for every input table a file with its headers and two example rows that are
consistent across tables (the SKUs of the product template are those of the history, the supplier items, …), as
CSV or as an XLSX workbook with a second sheet describing the columns.

>>> template_frame("routing")
       sku resource  hours_per_unit
0  SKU-001   LINE-1             1.5
1  SKU-002   LINE-1             1.2
>>> template_bytes("supplier", "csv").decode()
'supplier,name\\nSUP-01,Alpine Components\\nSUP-02,Nordic Frames\\n'
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.io.import_schema import column_specs

_TEMPLATE_ROWS: dict[str, list[dict[str, Any]]] = {
    "product": [
        dict(
            sku="SKU-001",
            name="Trail bike 29in",
            family="BIKES",
            category="FINISHED",
            unit_price=1200.0,
            unit_cost=780.0,
            holding_rate=0.25,
            order_cost=150.0,
            service_target=0.95,
        ),
        dict(
            sku="SKU-002",
            name="City bike 28in",
            family="BIKES",
            category="FINISHED",
            unit_price=850.0,
            unit_cost=560.0,
            holding_rate=0.25,
            order_cost=150.0,
            service_target=0.9,
        ),
    ],
    "supplier": [dict(supplier="SUP-01", name="Alpine Components"), dict(supplier="SUP-02", name="Nordic Frames")],
    "resource": [
        dict(
            resource="LINE-1",
            name="Assembly line 1",
            plant="Plant A",
            capacity_hours=320.0,
            overtime_hours=48.0,
            overtime_cost_per_hour=55.0,
        ),
        dict(
            resource="PAINT",
            name="Paint shop",
            plant="Plant A",
            capacity_hours=160.0,
            overtime_hours=0.0,
            overtime_cost_per_hour=0.0,
        ),
    ],
    "sales_history": [
        dict(sku="SKU-001", period=dt.date(2026, 9, 1), quantity=140.0, net_price=1180.0, promo=0),
        dict(sku="SKU-001", period=dt.date(2026, 10, 1), quantity=152.0, net_price=1150.0, promo=1),
    ],
    "inventory": [
        dict(sku="SKU-001", as_of=dt.date(2026, 10, 31), on_hand=85.0),
        dict(sku="SKU-002", as_of=dt.date(2026, 10, 31), on_hand=40.0),
    ],
    "open_order": [
        dict(sku="SKU-001", due_period=dt.date(2026, 11, 1), quantity=60.0, source="purchase", supplier="SUP-01"),
        dict(sku="SKU-002", due_period=dt.date(2026, 12, 1), quantity=40.0, source="production", supplier=""),
    ],
    "supplier_item": [
        dict(
            supplier="SUP-01",
            sku="SKU-001",
            lead_time_days=30.0,
            lead_time_std_days=5.0,
            moq=50.0,
            unit_cost=760.0,
            priority=1,
        ),
        dict(
            supplier="SUP-02",
            sku="SKU-001",
            lead_time_days=45.0,
            lead_time_std_days=8.0,
            moq=100.0,
            unit_cost=740.0,
            priority=2,
        ),
    ],
    "receipt": [
        dict(
            supplier="SUP-01",
            sku="SKU-001",
            order_date=dt.date(2026, 8, 3),
            promised_date=dt.date(2026, 9, 2),
            received_date=dt.date(2026, 9, 5),
            qty_ordered=100.0,
            qty_received=100.0,
        ),
        dict(
            supplier="SUP-02",
            sku="SKU-001",
            order_date=dt.date(2026, 9, 1),
            promised_date=dt.date(2026, 10, 16),
            received_date=None,
            qty_ordered=80.0,
            qty_received=0.0,
        ),
    ],
    "routing": [
        dict(sku="SKU-001", resource="LINE-1", hours_per_unit=1.5),
        dict(sku="SKU-002", resource="LINE-1", hours_per_unit=1.2),
    ],
    "event": [
        dict(
            name="Spring promotion", start=dt.date(2027, 3, 1), end=dt.date(2027, 3, 31), scope="BIKES", uplift_pct=15.0
        ),
        dict(name="Trade fair", start=dt.date(2027, 5, 3), end=dt.date(2027, 5, 9), scope="SKU-001", uplift_pct=8.0),
    ],
    "budget": [
        dict(family="BIKES", period=dt.date(2026, 11, 1), volume=300.0, revenue=330000.0, margin=112200.0),
        dict(family="BIKES", period=dt.date(2026, 12, 1), volume=280.0, revenue=308000.0, margin=104720.0),
    ],
}


def template_frame(table: str) -> pd.DataFrame:
    """The import template of ``table``: its headers and two example rows (consistent across tables)."""
    return pd.DataFrame(_TEMPLATE_ROWS[table], columns=repo.input_columns(table))


def _columns_sheet(table: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "column": s.name,
                "type": {"str": "text", "float": "number", "int": "whole number", "date": "date YYYY-MM-DD"}[s.kind],
                "required": "yes" if s.required else "no",
                "default when empty": "" if s.required or s.default is None else s.default,
            }
            for s in column_specs(table)
        ]
    )


def template_bytes(table: str, fmt: Literal["csv", "xlsx"]) -> bytes:
    """The template of ``table`` as a UTF-8 CSV or an XLSX workbook (sheet named after the table)."""
    frame = template_frame(table)
    if fmt == "csv":
        text: str = frame.to_csv(index=False, lineterminator="\n")
        return text.encode("utf-8")
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl", date_format="YYYY-MM-DD", datetime_format="YYYY-MM-DD") as xl:
        frame.to_excel(xl, sheet_name=table, index=False)
        _columns_sheet(table).to_excel(xl, sheet_name="columns", index=False)
    return buffer.getvalue()


def write_templates(out_dir: Path) -> list[Path]:
    """Write ``<table>.csv`` and ``<table>.xlsx`` for every input table into ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in m.INPUT_TABLES:
        for fmt in ("csv", "xlsx"):
            path = out_dir / f"{table}.{fmt}"
            path.write_bytes(template_bytes(table, fmt))
            paths.append(path)
    return paths
