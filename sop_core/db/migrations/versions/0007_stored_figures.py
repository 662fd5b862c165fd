"""stored figures: results computed from many rows, kept with the stamp of the data they were computed from

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_figure",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("args", sa.String(length=400), nullable=False),
        sa.Column("part", sa.String(length=64), nullable=False),
        sa.Column("stamp", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", "args", "part", name=op.f("pk_stored_figure")),
    )


def downgrade() -> None:
    op.drop_table("stored_figure")
