"""accounts: a user can be disabled; failed sign-ins are stored to throttle the next attempts

``app_user.disabled`` (false for every existing user) and the table ``sign_in_failure``: one row per failed
sign-in and per key (the user name typed, the client's address), read by every app process.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "sign_in_failure",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failure")),
    )
    op.create_index("ix_sign_in_failure_kind_key_at", "sign_in_failure", ["kind", "key", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sign_in_failure_kind_key_at", table_name="sign_in_failure")
    op.drop_table("sign_in_failure")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("disabled")
