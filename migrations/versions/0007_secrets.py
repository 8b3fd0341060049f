"""Secrets at rest: credentials keep their plain fields apart from the ciphertext, a masked hint and who
changed them last; the secret canary row that detects a wrong key ring.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("credential") as batch:
        batch.add_column(sa.Column("plain_fields", JSON, nullable=False, server_default=sa.text("'{}'")))
        batch.add_column(sa.Column("hint", sa.String(length=8), nullable=False, server_default=""))
        batch.add_column(sa.Column("updated_by", sa.String(length=32), nullable=True))
        batch.create_foreign_key(
            op.f("fk_credential_updated_by_user"), "user", ["updated_by"], ["id"], ondelete="SET NULL"
        )
        batch.create_index(op.f("ix_credential_updated_by"), ["updated_by"])
    op.create_table(
        "secret_canary",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_secret_canary")),
    )


def downgrade() -> None:
    op.drop_table("secret_canary")
    with op.batch_alter_table("credential") as batch:
        batch.drop_index(op.f("ix_credential_updated_by"))
        batch.drop_constraint(op.f("fk_credential_updated_by_user"), type_="foreignkey")
        batch.drop_column("updated_by")
        batch.drop_column("hint")
        batch.drop_column("plain_fields")
