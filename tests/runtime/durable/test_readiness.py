"""Readiness as a worker's metrics port answers it: 503 naming the database while it does not answer."""

from __future__ import annotations

import pytest

from runtime.config import get_settings
from runtime.ops import readiness
from tests.processes import free_port
from tests.runtime.executor.conftest import reset_caches


def test_readiness_names_the_unreachable_database(configured: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert readiness(get_settings()) == (200, {"status": "ready"})

    monkeypatch.setenv("TRELLIS_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/gone")
    reset_caches()
    code, body = readiness(get_settings())

    assert code == 503
    assert body["error"] == "not_ready" and body["unreachable"] == ["database"]
    assert "database unreachable" in str(body["message"])
