"""Approvals (one row per approval node a run reached), replays linked to their original run, and
the output handles each finished node run fired.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "approval",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("node_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=320), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_approval_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_approval_run_id_run"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval")),
        sa.UniqueConstraint("run_id", "node_id", name=op.f("uq_approval_run_id_node_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_approval_token_hash")),
    )
    op.create_index(op.f("ix_approval_workspace_id"), "approval", ["workspace_id"])
    op.create_index(op.f("ix_approval_run_id"), "approval", ["run_id"])
    op.create_index(op.f("ix_approval_status"), "approval", ["status"])
    op.create_index(op.f("ix_approval_due_at"), "approval", ["due_at"])
    with op.batch_alter_table("run") as batch:
        batch.add_column(sa.Column("replay_of", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("replay", JSON, nullable=True))
        batch.create_foreign_key(op.f("fk_run_replay_of_run"), "run", ["replay_of"], ["id"], ondelete="SET NULL")
        batch.create_index(op.f("ix_run_replay_of"), ["replay_of"])
    with op.batch_alter_table("node_run") as batch:
        batch.add_column(sa.Column("handles", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("node_run") as batch:
        batch.drop_column("handles")
    with op.batch_alter_table("run") as batch:
        batch.drop_index(op.f("ix_run_replay_of"))
        batch.drop_constraint(op.f("fk_run_replay_of_run"), type_="foreignkey")
        batch.drop_column("replay")
        batch.drop_column("replay_of")
    op.drop_table("approval")
