"""REST API: idempotency keys for starting runs (`Idempotency-Key` on `POST /api/v1/runs`).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_idempotency_key_run_id_run"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_idempotency_key_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_key")),
        sa.UniqueConstraint("workspace_id", "key", name=op.f("uq_idempotency_key_workspace_id_key")),
    )
    op.create_index(op.f("ix_idempotency_key_run_id"), "idempotency_key", ["run_id"])
    op.create_index(op.f("ix_idempotency_key_workspace_id"), "idempotency_key", ["workspace_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_idempotency_key_workspace_id"), table_name="idempotency_key")
    op.drop_index(op.f("ix_idempotency_key_run_id"), table_name="idempotency_key")
    op.drop_table("idempotency_key")
