"""The names of LangGraph's checkpoint tables: migration 0006 creates them (`trellis migrate` owns the
schema), but they belong to LangGraph's savers (`runtime.executor.checkpointer`), not to SQLModel
models, so autogenerate leaves them alone."""

from __future__ import annotations

POSTGRES_TABLES = ("checkpoint_migrations", "checkpoints", "checkpoint_blobs", "checkpoint_writes")
SQLITE_TABLES = ("checkpoints", "writes")
CHECKPOINT_TABLES = frozenset(POSTGRES_TABLES + SQLITE_TABLES)
