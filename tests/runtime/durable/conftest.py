"""Durable-run tests reuse the executor tests' configured Trellis (database, no Redis) and queue mode."""

from __future__ import annotations

from tests.runtime.executor.conftest import configured, queue_mode  # noqa: F401  (fixtures)
