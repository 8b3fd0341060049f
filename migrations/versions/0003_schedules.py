"""Schedules of schedule_trigger nodes, and the ticks that started runs (one run per tick).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "schedule",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("workflow_id", sa.String(length=32), nullable=False),
        sa.Column("node_id", sa.String(length=200), nullable=False),
        sa.Column("cron", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("missed", sa.String(length=16), nullable=False),
        sa.Column("next_fire_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"], ["workflow.id"], name=op.f("fk_schedule_workflow_id_workflow"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_schedule_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule")),
        sa.UniqueConstraint("workflow_id", "node_id", name=op.f("uq_schedule_workflow_id_node_id")),
    )
    op.create_index(op.f("ix_schedule_next_fire_at"), "schedule", ["next_fire_at"])
    op.create_index(op.f("ix_schedule_workflow_id"), "schedule", ["workflow_id"])
    op.create_index(op.f("ix_schedule_workspace_id"), "schedule", ["workspace_id"])
    op.create_table(
        "schedule_tick",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("schedule_id", sa.String(length=32), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_schedule_tick_run_id_run"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["schedule.id"], name=op.f("fk_schedule_tick_schedule_id_schedule"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_tick")),
        sa.UniqueConstraint("schedule_id", "scheduled_for", name=op.f("uq_schedule_tick_schedule_id_scheduled_for")),
    )
    op.create_index(op.f("ix_schedule_tick_run_id"), "schedule_tick", ["run_id"])
    op.create_index(op.f("ix_schedule_tick_schedule_id"), "schedule_tick", ["schedule_id"])


def downgrade() -> None:
    op.drop_table("schedule_tick")
    op.drop_table("schedule")
