"""Webhook tokens kept only hashed and encrypted, hook settings from the node, idempotent deliveries.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No release wrote webhook rows before this revision (nothing created them); the clear-text
    # `hook_id` column cannot be carried over without the key ring, so any stray row is dropped
    # and is re-created, with a new URL, the next time its workflow is saved.
    op.execute("DELETE FROM webhook")
    with op.batch_alter_table("webhook") as batch:
        batch.drop_constraint("uq_webhook_hook_id", type_="unique")
        batch.drop_column("hook_id")
        batch.add_column(sa.Column("token_hash", sa.String(length=64), nullable=False))
        batch.add_column(sa.Column("token_ciphertext", sa.Text(), nullable=False))
        batch.add_column(sa.Column("credential_id", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_webhook_token_hash", ["token_hash"])
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("webhook_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhook.id"], name=op.f("fk_webhook_delivery_webhook_id_webhook"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["run.id"], name=op.f("fk_webhook_delivery_run_id_run"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
        sa.UniqueConstraint("webhook_id", "key", name=op.f("uq_webhook_delivery_webhook_id_key")),
    )
    op.create_index(op.f("ix_webhook_delivery_webhook_id"), "webhook_delivery", ["webhook_id"])
    op.create_index(op.f("ix_webhook_delivery_run_id"), "webhook_delivery", ["run_id"])
    op.create_index(op.f("ix_webhook_delivery_created_at"), "webhook_delivery", ["created_at"])


def downgrade() -> None:
    op.drop_table("webhook_delivery")
    op.execute("DELETE FROM webhook")
    with op.batch_alter_table("webhook") as batch:
        batch.drop_constraint("uq_webhook_token_hash", type_="unique")
        batch.drop_column("credential_id")
        batch.drop_column("token_ciphertext")
        batch.drop_column("token_hash")
        batch.add_column(sa.Column("hook_id", sa.String(length=64), nullable=False))
        batch.create_unique_constraint("uq_webhook_hook_id", ["hook_id"])
