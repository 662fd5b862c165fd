"""edit conflicts: one override per cycle, level, item and month; one proposed scenario per cycle; row versions
of decisions and users

* ``forecast_override``: the unique key ``uq_forecast_override_cycle_level_item_period`` replaces the index
  ``ix_forecast_override_cycle_level_item`` (the key starts with the same columns). Duplicates stored before
  keep their latest row (by ``created_at``, then ``id``): the one the consensus already used.
* ``scenario``: the partial unique index ``uq_scenario_proposed_per_cycle`` (``WHERE status = 'proposed'``). A
  cycle with more than one proposed scenario keeps the latest promoted (by ``updated_at``, then ``id``) as
  proposed; the others go back to draft.
* ``decision``: ``updated_by``, ``updated_at`` and ``version`` (optimistic locking of its status and outcome).
* ``app_user``: ``version`` (optimistic locking of a user's role).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PROPOSED_ONLY = sa.text("status = 'proposed'")


def upgrade() -> None:
    op.execute(
        "DELETE FROM forecast_override WHERE EXISTS (SELECT 1 FROM forecast_override AS later "
        "WHERE later.cycle_id = forecast_override.cycle_id AND later.level = forecast_override.level "
        "AND later.item = forecast_override.item AND later.period = forecast_override.period "
        "AND (later.created_at > forecast_override.created_at "
        "OR (later.created_at = forecast_override.created_at AND later.id > forecast_override.id)))"
    )
    op.execute(
        "UPDATE scenario SET status = 'draft' WHERE status = 'proposed' AND EXISTS (SELECT 1 FROM scenario AS later "
        "WHERE later.cycle_id = scenario.cycle_id AND later.status = 'proposed' "
        "AND (later.updated_at > scenario.updated_at "
        "OR (later.updated_at = scenario.updated_at AND later.id > scenario.id)))"
    )
    op.drop_index("ix_forecast_override_cycle_level_item", table_name="forecast_override")
    with op.batch_alter_table("forecast_override", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_forecast_override_cycle_level_item_period",
                                          ["cycle_id", "level", "item", "period"])
    op.create_index("uq_scenario_proposed_per_cycle", "scenario", ["cycle_id"], unique=True,
                    sqlite_where=PROPOSED_ONLY, postgresql_where=PROPOSED_ONLY)
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_by", sa.String(length=64), server_default="", nullable=False))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("version")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("updated_by")
    op.drop_index("uq_scenario_proposed_per_cycle", table_name="scenario")
    with op.batch_alter_table("forecast_override", schema=None) as batch_op:
        batch_op.drop_constraint("uq_forecast_override_cycle_level_item_period", type_="unique")
    op.create_index("ix_forecast_override_cycle_level_item", "forecast_override", ["cycle_id", "level", "item"],
                    unique=False)
