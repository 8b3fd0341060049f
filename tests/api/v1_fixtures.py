"""The REST API under test: a real `trellis serve` on PostgreSQL in queue mode (Redis + one `trellis worker`),
with API keys made the way a user makes them (`trellis apikey create`).

Fixtures are re-exported by tests/api/conftest.py so that every module shares one server.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlmodel import Session

from runtime.store import Role, Workspace, make_engine
from runtime.store.api_keys import create_api_key
from tests.conftest import PgDatabases
from tests.loopback import LoopbackServer
from tests.processes import TRELLIS, running_server, running_workers

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass(frozen=True)
class V1Server:
    """A running app, its database and Redis, and the environment its CLI commands need."""

    url: str
    database_url: str
    redis_url: str
    env: dict[str, str]

    def trellis(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `trellis ARGS` against this server's database."""
        return subprocess.run(
            [TRELLIS, *args], env={**os.environ, **self.env}, capture_output=True, text=True, timeout=120
        )  # fmt: skip


@dataclass(frozen=True)
class Keys:
    """Plaintext API keys: editor and viewer of the local workspace, editor of another workspace."""

    editor: str
    viewer: str
    other: str
    other_workspace_id: str


@pytest.fixture(scope="session")
def stuck_site() -> Iterator[LoopbackServer]:
    """A site that takes a minute to answer: a node fetching it keeps its run running until cancelled."""
    site = LoopbackServer(delay_s=60)
    yield site
    site.close()


@pytest.fixture(scope="session")
def v1_server(
    tmp_path_factory: pytest.TempPathFactory, make_pg_database: PgDatabases, stuck_site: LoopbackServer
) -> Iterator[V1Server]:
    """`trellis serve` plus one `trellis worker` on a fresh PostgreSQL database and an emptied Redis database.

    The Redis database is this fixture's own (`TRELLIS_TEST_V1_REDIS_URL`, db 13): the server lives for the
    whole session, and its worker would take (and drop, finding no such run) the jobs of any other server
    queueing runs on the same Redis database, such as the per-module `trellis` fixture's.
    """
    redis_url = os.environ.get("TRELLIS_TEST_V1_REDIS_URL", "redis://127.0.0.1:6379/13")
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    database_url = make_pg_database()
    data_dir = tmp_path_factory.mktemp("trellis-api")
    env = {
        "TRELLIS_DATABASE_URL": database_url, "TRELLIS_DATA_DIR": str(data_dir), "TRELLIS_REDIS_URL": redis_url,
        "TRELLIS_SSRF_ALLOWED_CIDRS": "127.0.0.1/32", "TRELLIS_EGRESS_ALLOWED_PORTS": f"80,443,{stuck_site.port}",
    }  # fmt: skip
    with running_server(database_url, data_dir, env) as server, running_workers(env, "api-test-worker"):
        yield V1Server(server.url, database_url, redis_url, env)
    client.flushdb()
    client.close()


def cli_key(server: V1Server, name: str, role: Role) -> str:
    """A key made with `trellis apikey create`, which prints it (and only it) on stdout."""
    result = server.trellis("apikey", "create", "--name", name, "--role", role.value)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def workspace_key(server: V1Server, name: str) -> tuple[str, str]:
    """A new workspace named `name` and an editor key for it (made through the store): (workspace id, key)."""
    engine = make_engine(server.database_url)
    with Session(engine) as session:
        workspace = Workspace(name=name)
        session.add(workspace)
        session.flush()
        key = create_api_key(session, workspace.id, f"{name} key").plaintext
        session.commit()
        workspace_id = workspace.id
    engine.dispose()
    return workspace_id, key


@pytest.fixture(scope="session")
def keys(v1_server: V1Server) -> Keys:
    """Keys for the local workspace (from the CLI) and for a second workspace (from the store)."""
    editor, viewer = cli_key(v1_server, "tests", Role.EDITOR), cli_key(v1_server, "read-only", Role.VIEWER)
    other_id, other_key = workspace_key(v1_server, "Someone else")
    return Keys(editor, viewer, other_key, other_id)


def client_for(server: V1Server, key: str | None) -> httpx.Client:
    """An HTTP client for `/api/v1` sending `key` as a bearer token (none when None)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, timeout=30)


@pytest.fixture
def api(v1_server: V1Server, keys: Keys) -> Iterator[httpx.Client]:
    """A client carrying the local workspace's editor key."""
    with client_for(v1_server, keys.editor) as client:
        yield client


def example(name: str) -> dict[str, Any]:
    """A document from examples/, parsed."""
    return json.loads((EXAMPLES / name).read_text())
