"""The Data step: import extracts (validated, all-or-nothing) and report the health of the input data.

The import functions are those of :mod:`sop_core.io.ingest` and its modules, re-exported so that pages need only this module.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.engine import session_scope
from sop_core.io.import_issues import ImportFailed, ImportIssue, issues_frame
from sop_core.io.import_readers import header_note, read_extract, table_for_file
from sop_core.io.import_templates import template_bytes
from sop_core.io.ingest import ImportReport, import_files, validate_files

__all__ = [
    "DataSummary",
    "HEALTH_COLUMNS",
    "INPUT_TABLES",
    "UPSERT_RULE",
    "ImportFailed",
    "ImportIssue",
    "ImportReport",
    "data_health",
    "data_summary",
    "header_note",
    "import_files",
    "issues_frame",
    "read_extract",
    "table_for_file",
    "template_bytes",
    "validate_files",
]

log = logging.getLogger(__name__)

#: The date column that spans each table's time range (tables without one have none).
DATE_COLUMNS: dict[str, str] = {
    "sales_history": "period",
    "inventory": "as_of",
    "open_order": "due_period",
    "receipt": "order_date",
    "event": "start",
    "budget": "period",
}

#: The input tables in load order (each has an import template).
INPUT_TABLES: tuple[str, ...] = tuple(m.INPUT_TABLES)

#: Rule shown next to the import: how rows of an import meet the stored rows.
UPSERT_RULE = (
    "Each file loads the table it is named after (sales_history_2026.csv → sales_history). Every file is checked "
    "before anything is written; one problem anywhere and nothing is imported. A row whose key exists is "
    "updated, other rows are added, nothing is deleted."
)

HEALTH_COLUMNS = ["table", "rows", "first_period", "last_period", "skus_covered", "skus_total", "gaps"]


@dataclass(frozen=True)
class DataSummary:
    """Headline facts about the stored input data.

    Attributes:
        skus: products in the master data.
        months_of_history: distinct months with sales history.
        first_actual: the first month of sales history (None without history).
        last_actual: the last month of sales history (None without history).
        empty_tables: input tables without a row.
    """

    skus: int
    months_of_history: int
    first_actual: dt.date | None
    last_actual: dt.date | None
    empty_tables: tuple[str, ...]


def _read_inputs(engine: Engine, tables: list[str] | None = None) -> dict[str, pd.DataFrame]:
    with session_scope(engine) as s:
        return {t: repo.read_table(s, t) for t in (tables or list(m.INPUT_TABLES))}


def _month_gaps(history: pd.DataFrame) -> int:
    """SKUs with at least one month missing between their first and last month of history."""
    if history.empty:
        return 0
    months = history["period"].dt.year * 12 + history["period"].dt.month
    per_sku = months.groupby(history["sku"]).agg(["min", "max", "nunique"])
    return int(((per_sku["max"] - per_sku["min"] + 1) > per_sku["nunique"]).sum())


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _gaps(frames: dict[str, pd.DataFrame]) -> dict[str, str]:
    """A note per table on what is missing (empty when nothing is)."""
    skus = set(frames["product"]["sku"])
    sourced = set(frames["routing"]["sku"]) | set(frames["supplier_item"]["sku"])
    counts = {
        "product": (len(skus - set(frames["sales_history"]["sku"])), "SKU", "without sales history"),
        "sales_history": (_month_gaps(frames["sales_history"]), "SKU", "with missing months inside their history"),
        "inventory": (len(skus - set(frames["inventory"]["sku"])), "SKU", "without an inventory row"),
        "supplier_item": (len(skus - sourced), "SKU", "with neither a supplier nor a routing"),
        "routing": (len(skus - sourced), "SKU", "with neither a supplier nor a routing"),
        "supplier": (
            len(set(frames["supplier"]["supplier"]) - set(frames["supplier_item"]["supplier"])),
            "supplier",
            "without items",
        ),
        "resource": (
            len(set(frames["resource"]["resource"]) - set(frames["routing"]["resource"])),
            "resource",
            "without routing",
        ),
    }
    return {table: f"{_plural(n, word)} {what}" if n else "" for table, (n, word, what) in counts.items()}


def data_health(engine: Engine) -> pd.DataFrame:
    """One row per input table: how much data there is, over which dates, for how many SKUs, and gaps.

    Columns: ``table``; ``rows``; ``first_period`` / ``last_period`` (dates, the range of the table's date
    column: period, as_of, due_period, order_date or start; empty for master data); ``skus_covered`` (distinct
    SKUs the table mentions; empty for tables without a sku column); ``skus_total`` (products in the master
    data); ``gaps`` (what is missing, e.g. "3 SKUs with missing months inside their history"; empty when
    nothing is).
    """
    frames = _read_inputs(engine)
    skus_total = len(frames["product"])
    gaps = _gaps(frames)
    rows = []
    for table, frame in frames.items():
        date_col = DATE_COLUMNS.get(table)
        dates = frame[date_col].dropna() if date_col and not frame.empty else pd.Series(dtype="datetime64[ns]")
        rows.append(
            {
                "table": table,
                "rows": len(frame),
                "first_period": dates.min().date() if len(dates) else None,
                "last_period": dates.max().date() if len(dates) else None,
                "skus_covered": frame["sku"].nunique() if "sku" in frame.columns else None,
                "skus_total": skus_total if "sku" in frame.columns else None,
                "gaps": gaps.get(table, "") if len(frame) else "no rows",
            }
        )
    out = pd.DataFrame(rows, columns=HEALTH_COLUMNS)
    out[["skus_covered", "skus_total"]] = out[["skus_covered", "skus_total"]].astype("Int64")
    return out


def data_summary(engine: Engine) -> DataSummary:
    """SKUs, months of history and its first/last month, and the empty input tables."""
    with session_scope(engine) as s:
        counts = repo.table_counts(s)
        history = repo.read_table(s, "sales_history")
    periods = history["period"].dropna()
    return DataSummary(
        skus=counts["product"],
        months_of_history=int(periods.dt.to_period("M").nunique()) if len(periods) else 0,
        first_actual=periods.min().date() if len(periods) else None,
        last_actual=periods.max().date() if len(periods) else None,
        empty_tables=tuple(t for t in m.INPUT_TABLES if counts[t] == 0),
    )
