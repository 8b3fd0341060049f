"""Approval tests run stored workflows through the in-process executor on a migrated database."""

from tests.runtime.executor.conftest import configured, slow_server

__all__ = ["configured", "slow_server"]
