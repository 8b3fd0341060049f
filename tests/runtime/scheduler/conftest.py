"""Scheduler tests use the executor tests' configured Trellis (migrated database, no Redis)."""

from tests.runtime.executor.conftest import configured

__all__ = ["configured"]
