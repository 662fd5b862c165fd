"""supplier items by SKU: the index ``ix_supplier_item_sku``

The key of ``supplier_item`` starts with the supplier, so "the suppliers of a SKU" (the SKUs without a source, the
sourcing of a SKU) read the whole table per SKU: 6.5 s for the 17,600 SKUs of a large catalogue before, a few
milliseconds with the index.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 16:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_supplier_item_sku", "supplier_item", ["sku"])


def downgrade() -> None:
    op.drop_index("ix_supplier_item_sku", table_name="supplier_item")
