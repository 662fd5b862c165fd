"""budget margin: the budgeted gross margin per family and month

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: budgets imported before this revision hold no margin, and a budget file may leave it out
    with op.batch_alter_table("budget", schema=None) as batch_op:
        batch_op.add_column(sa.Column("margin", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("budget", schema=None) as batch_op:
        batch_op.drop_column("margin")
