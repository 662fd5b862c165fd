"""cycle workflow: plan versions, their input lines, decisions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_version",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=True),
        sa.Column("forecast_run_id", sa.Integer(), nullable=True),
        sa.Column("history_cutoff", sa.Date(), nullable=True),
        sa.Column("data_hash", sa.String(length=64), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("inputs_hash", sa.String(length=64), nullable=False),
        sa.Column("results_hash", sa.String(length=64), nullable=False),
        sa.Column("package_versions", sa.JSON(), nullable=False),
        sa.Column("totals", sa.JSON(), nullable=False),
        sa.Column("frozen_by", sa.String(length=64), nullable=False),
        sa.Column("frozen_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["cycle_id"], ["plan_cycle.id"], name=op.f("fk_plan_version_cycle_id_plan_cycle")),
        sa.ForeignKeyConstraint(["scenario_id"], ["scenario.id"], name=op.f("fk_plan_version_scenario_id_scenario")),
        sa.ForeignKeyConstraint(
            ["forecast_run_id"], ["forecast_run.id"], name=op.f("fk_plan_version_forecast_run_id_forecast_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_version")),
        sa.UniqueConstraint("cycle_id", "version", name=op.f("uq_plan_version_cycle_id_version")),
    )
    op.create_index(op.f("ix_plan_version_cycle_id"), "plan_version", ["cycle_id"], unique=False)
    op.create_table(
        "plan_version_line",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("stat_qty", sa.Float(), nullable=False),
        sa.Column("base_qty", sa.Float(), nullable=False),
        sa.Column("demand_qty", sa.Float(), nullable=False),
        sa.Column("served_qty", sa.Float(), nullable=False),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["plan_cycle.id"], name=op.f("fk_plan_version_line_cycle_id_plan_cycle")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_version_line")),
    )
    op.create_index(op.f("ix_plan_version_line_cycle_id"), "plan_version_line", ["cycle_id"], unique=False)
    op.create_table(
        "decision",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("scenario_id", sa.Integer(), nullable=True),
        sa.Column("family", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["plan_cycle.id"], name=op.f("fk_decision_cycle_id_plan_cycle")),
        sa.ForeignKeyConstraint(["scenario_id"], ["scenario.id"], name=op.f("fk_decision_scenario_id_scenario")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
    )
    op.create_index(op.f("ix_decision_cycle_id"), "decision", ["cycle_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_decision_cycle_id"), table_name="decision")
    op.drop_table("decision")
    op.drop_index(op.f("ix_plan_version_line_cycle_id"), table_name="plan_version_line")
    op.drop_table("plan_version_line")
    op.drop_index(op.f("ix_plan_version_cycle_id"), table_name="plan_version")
    op.drop_table("plan_version")
