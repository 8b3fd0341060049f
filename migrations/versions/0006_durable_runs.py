"""Durable runs: the run lease (owner, epoch, expiry, attempts) and LangGraph's checkpoint tables.

The checkpoint tables are what langgraph-checkpoint-postgres 3.2.0's `setup()` creates (its ten
migrations, recorded in `checkpoint_migrations` so a later `setup()` adds only newer ones; indexes
built without CONCURRENTLY, which a transaction does not allow) and what langgraph-checkpoint-sqlite
3.1.2 creates. Written out here so this revision keeps working whatever those packages become.

Revision ID: 0006_durable_runs
Revises: 0005
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_durable_runs"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRES_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS checkpoint_migrations (v INTEGER PRIMARY KEY)",
    """CREATE TABLE IF NOT EXISTS checkpoints (
        thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '', checkpoint_id TEXT NOT NULL,
        parent_checkpoint_id TEXT, type TEXT, checkpoint JSONB NOT NULL, metadata JSONB NOT NULL DEFAULT '{}',
        PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id))""",
    """CREATE TABLE IF NOT EXISTS checkpoint_blobs (
        thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '', channel TEXT NOT NULL,
        version TEXT NOT NULL, type TEXT NOT NULL, blob BYTEA,
        PRIMARY KEY (thread_id, checkpoint_ns, channel, version))""",
    """CREATE TABLE IF NOT EXISTS checkpoint_writes (
        thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '', checkpoint_id TEXT NOT NULL,
        task_id TEXT NOT NULL, idx INTEGER NOT NULL, channel TEXT NOT NULL, type TEXT, blob BYTEA NOT NULL,
        PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx))""",
    "ALTER TABLE checkpoint_blobs ALTER COLUMN blob DROP NOT NULL",
    "SELECT 1",
    "CREATE INDEX IF NOT EXISTS checkpoints_thread_id_idx ON checkpoints(thread_id)",
    "CREATE INDEX IF NOT EXISTS checkpoint_blobs_thread_id_idx ON checkpoint_blobs(thread_id)",
    "CREATE INDEX IF NOT EXISTS checkpoint_writes_thread_id_idx ON checkpoint_writes(thread_id)",
    "ALTER TABLE checkpoint_writes ADD COLUMN IF NOT EXISTS task_path TEXT NOT NULL DEFAULT ''",
)
SQLITE_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS checkpoints (
        thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '', checkpoint_id TEXT NOT NULL,
        parent_checkpoint_id TEXT, type TEXT, checkpoint BLOB, metadata BLOB,
        PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id))""",
    """CREATE TABLE IF NOT EXISTS writes (
        thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '', checkpoint_id TEXT NOT NULL,
        task_id TEXT NOT NULL, task_path TEXT NOT NULL DEFAULT '', idx INTEGER NOT NULL, channel TEXT NOT NULL,
        type TEXT, value BLOB, PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx))""",
)


def upgrade() -> None:
    with op.batch_alter_table("run") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("lease_epoch", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.create_index(batch.f("ix_run_lease_owner"), ["lease_owner"])
    with op.batch_alter_table("run") as batch:  # the defaults only filled the existing rows
        batch.alter_column("lease_epoch", server_default=None)
        batch.alter_column("attempts", server_default=None)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_SCHEMA:
            bind.exec_driver_sql(statement)
        return
    bind.exec_driver_sql(POSTGRES_MIGRATIONS[0])
    done = bind.exec_driver_sql("SELECT max(v) FROM checkpoint_migrations").scalar()
    for version in range(-1 if done is None else done, len(POSTGRES_MIGRATIONS) - 1):
        bind.exec_driver_sql(POSTGRES_MIGRATIONS[version + 1])
        bind.exec_driver_sql(f"INSERT INTO checkpoint_migrations (v) VALUES ({version + 1})")


def downgrade() -> None:
    bind = op.get_bind()
    tables = ("writes", "checkpoints") if bind.dialect.name == "sqlite" else (
        "checkpoint_writes", "checkpoint_blobs", "checkpoints", "checkpoint_migrations")  # fmt: skip
    for table in tables:
        bind.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    with op.batch_alter_table("run") as batch:
        batch.drop_index(batch.f("ix_run_lease_owner"))
        batch.drop_column("attempts")
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_epoch")
        batch.drop_column("lease_owner")
