"""The Data step: import extracts (validated, all-or-nothing) and report the health of the input data.

The import functions are those of :mod:`sop_core.io.ingest` and its modules, re-exported so that pages need only this module.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from sop_core.db import health_repo, repo
from sop_core.db import models as m
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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _gaps(session: Session) -> dict[str, str]:
    """A note per table on what is missing (empty when nothing is), counted in the database."""
    unsourced = health_repo.products_without_source(session)
    counts = {
        "product": (health_repo.products_without(session, m.SalesHistory), "SKU", "without sales history"),
        "sales_history": (health_repo.skus_with_month_gaps(session), "SKU", "with missing months inside their history"),
        "inventory": (health_repo.products_without(session, m.Inventory), "SKU", "without an inventory row"),
        "supplier_item": (unsourced, "SKU", "with neither a supplier nor a routing"),
        "routing": (unsourced, "SKU", "with neither a supplier nor a routing"),
        "supplier": (health_repo.suppliers_without_items(session), "supplier", "without items"),
        "resource": (health_repo.resources_without_routing(session), "resource", "without routing"),
    }
    return {table: f"{_plural(n, word)} {what}" if n else "" for table, (n, word, what) in counts.items()}


def _day(value: dt.date | dt.datetime | None) -> dt.date | None:
    return value.date() if isinstance(value, dt.datetime) else value


def data_health(engine: Engine) -> pd.DataFrame:
    """One row per input table: how much data there is, over which dates, for how many SKUs, and gaps.

    Columns: ``table``; ``rows``; ``first_period`` / ``last_period`` (dates, the range of the table's date
    column: period, as_of, due_period, order_date or start; empty for master data); ``skus_covered`` (distinct
    SKUs the table mentions; empty for tables without a sku column); ``skus_total`` (products in the master
    data); ``gaps`` (what is missing, e.g. "3 SKUs with missing months inside their history"; empty when
    nothing is).
    """
    with session_scope(engine) as s:
        facts = {t: health_repo.table_facts(s, model, DATE_COLUMNS.get(t)) for t, model in m.INPUT_TABLES.items()}
        gaps = _gaps(s)
    skus_total = facts["product"]["rows"]
    rows = [
        {
            "table": table,
            "rows": f["rows"],
            "first_period": _day(f["first"]),
            "last_period": _day(f["last"]),
            "skus_covered": f["skus"],
            "skus_total": skus_total if f["skus"] is not None else None,
            "gaps": gaps.get(table, "") if f["rows"] else "no rows",
        }
        for table, f in facts.items()
    ]
    out = pd.DataFrame(rows, columns=HEALTH_COLUMNS)
    out[["skus_covered", "skus_total"]] = out[["skus_covered", "skus_total"]].astype("Int64")
    return out


def data_summary(engine: Engine) -> DataSummary:
    """SKUs, months of history and its first/last month, and the empty input tables (counted in the database)."""
    with session_scope(engine) as s:
        counts = {t: repo.count_rows(s, model) for t, model in m.INPUT_TABLES.items()}
        months, first, last = health_repo.sales_months(s)
    return DataSummary(
        skus=counts["product"],
        months_of_history=months,
        first_actual=_day(first),
        last_actual=_day(last),
        empty_tables=tuple(t for t in m.INPUT_TABLES if counts[t] == 0),
    )
