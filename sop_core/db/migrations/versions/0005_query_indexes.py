"""query indexes: composite indexes matching the pages' main queries

Forecast rows are read by run in SKU and month order, plan lines by cycle and plan version in SKU and month order,
frozen version lines by cycle and version, overrides by cycle, level and item; sales, inventory snapshots and
receipts by date range. The single-column cycle/run indexes are replaced by the composite ones that start with the
same column.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: (table, replaced single-column index or None, new index, its columns)
INDEXES: tuple[tuple[str, str | None, str, list[str]], ...] = (
    ("forecast", "ix_forecast_run_id", "ix_forecast_run_sku_period", ["run_id", "sku", "period"]),
    ("plan_line", "ix_plan_line_cycle_id", "ix_plan_line_cycle_version_sku_period",
     ["cycle_id", "plan_version", "sku", "period"]),
    ("plan_version_line", "ix_plan_version_line_cycle_id", "ix_plan_version_line_cycle_version",
     ["cycle_id", "plan_version"]),
    ("forecast_override", "ix_forecast_override_cycle_id", "ix_forecast_override_cycle_level_item",
     ["cycle_id", "level", "item"]),
    ("sales_history", None, "ix_sales_history_period", ["period"]),
    ("inventory", None, "ix_inventory_as_of", ["as_of"]),
    ("receipt", None, "ix_receipt_received_date", ["received_date"]),
)  # fmt: skip


def upgrade() -> None:
    for table, replaced, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
        if replaced is not None:
            op.drop_index(replaced, table_name=table)


def downgrade() -> None:
    for table, replaced, name, columns in reversed(INDEXES):
        if replaced is not None:
            op.create_index(replaced, table, columns[:1], unique=False)
        op.drop_index(name, table_name=table)
