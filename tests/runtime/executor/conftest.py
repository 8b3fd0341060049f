"""A configured Trellis for executor tests: a migrated database, settings read from the environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from runtime.config import get_settings
from runtime.store import ensure_database, ensure_local_workspace, get_engine, session_scope
from runtime.workflows import import_workflow
from tests.loopback import LoopbackServer

REDIS_URL = os.environ.get("TRELLIS_TEST_QUEUE_REDIS_URL", "redis://127.0.0.1:6379/14")


def reset_caches() -> None:
    """Forget cached settings and engine so the next use reads the environment again."""
    get_settings.cache_clear()
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


@pytest.fixture
def configured(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Settings pointing at the migrated test database (no Redis); yields the local workspace id."""
    monkeypatch.setenv("TRELLIS_DATABASE_URL", db_url)
    monkeypatch.setenv("TRELLIS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TRELLIS_REDIS_URL", raising=False)
    monkeypatch.setenv("TRELLIS_SSRF_ALLOWED_CIDRS", "127.0.0.1/32")
    reset_caches()
    ensure_database(db_url)
    with session_scope(get_engine()) as session:
        workspace_id = ensure_local_workspace(session).id
    yield workspace_id
    reset_caches()


def store_workflow(workspace_id: str, document: dict[str, Any]) -> str:
    """Import a document into the workspace; returns the workflow id."""
    with session_scope(get_engine()) as session:
        return import_workflow(session, workspace_id, document).id


@pytest.fixture
def slow_server(configured: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    """A slow loopback server the egress guard is configured to let nodes reach."""
    server = LoopbackServer(delay_s=30)
    monkeypatch.setenv("TRELLIS_EGRESS_ALLOWED_PORTS", f"80,443,{server.port}")
    get_settings.cache_clear()
    yield server
    server.close()


@dataclass(frozen=True)
class QueueMode:
    env: dict[str, str]
    quick: LoopbackServer
    """Answers after 0.3 s."""
    stuck: LoopbackServer
    """Answers after 60 s (a node to cancel)."""


@pytest.fixture
def queue_mode(make_pg_database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[QueueMode]:  # type: ignore[no-untyped-def]
    """A PostgreSQL database, an empty Redis database and two loopback servers the nodes may reach."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError as error:
        pytest.fail(f"Redis is unreachable at {REDIS_URL}: {error}", pytrace=False)
    quick, stuck = LoopbackServer(delay_s=0.3), LoopbackServer(delay_s=60)
    env = {
        "TRELLIS_DATABASE_URL": make_pg_database(), "TRELLIS_REDIS_URL": REDIS_URL,
        "TRELLIS_DATA_DIR": str(tmp_path / "data"), "TRELLIS_SSRF_ALLOWED_CIDRS": "127.0.0.1/32",
        "TRELLIS_EGRESS_ALLOWED_PORTS": f"80,443,{quick.port},{stuck.port}",
    }  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_caches()
    ensure_database()
    yield QueueMode(env, quick, stuck)
    quick.close()
    stuck.close()
    client.flushdb()
    client.close()
    reset_caches()
