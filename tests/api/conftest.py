"""A real Trellis (`trellis serve` on PostgreSQL) for webhook tests, in both execution modes: the
default in-process mode, and queue mode with Redis and a real `trellis worker`. Workflows and
credentials are stored straight into the server's database; calls go over HTTP with httpx.

It also shares the REST API server fixtures (tests/api/v1_fixtures.py) and the e2e browser."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from cryptography.fernet import Fernet
from playwright.sync_api import Browser, Page
from sqlmodel import Session, func, select

from runtime.config import get_settings
from runtime.secrets import _default_ring, encrypt_fields
from runtime.store import (
    Run,
    Webhook,
    create_credential,
    ensure_database,
    ensure_local_workspace,
    make_engine,
    save_version,
)
from runtime.store.webhooks import token_hash
from runtime.webhooks import hook_url_for_node
from runtime.workflows import import_workflow
from tests.api.auth_fixtures import auth_server, oidc_provider, set_up  # noqa: F401 (fixtures for this folder)
from tests.api.v1_fixtures import api, keys, stuck_site, v1_server  # noqa: F401 (fixtures for this folder)
from tests.e2e.conftest import browser, new_tab  # noqa: F401
from tests.loopback import LoopbackServer
from tests.processes import Server, running_server, running_workers

REDIS_URL = os.environ.get("TRELLIS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@dataclass
class Trellis:
    """A running server, its mode, the loopback server its nodes may call, and a way to add hooks."""

    server: Server
    mode: str
    slow: LoopbackServer
    engine: sa.Engine
    log: Path
    secrets_sent: list[str] = field(default_factory=list)
    """Every token and signature a test sent: none may appear in the server's log."""

    def hook(self, nodes: list[dict[str, Any]], credential: dict[str, Any] | None = None, **params: Any) -> str:
        """Store a workflow `webhook_trigger -> nodes...` (a chain) and return its hook URL."""
        with Session(self.engine, expire_on_commit=False) as session:
            workspace_id = ensure_local_workspace(session).id
            trigger: dict[str, Any] = {"id": "hook", "type": "webhook_trigger", "params": params}
            if credential is not None:
                stored = create_credential(session, workspace_id, "hook secret", "webhook", encrypt_fields(credential))
                trigger["credentials"] = {"webhook": stored.id}
            workflow = import_workflow(session, workspace_id, chain([trigger, *nodes]))
            url = hook_url_for_node(session, settings_for(self.server), workspace_id, workflow.id, "hook")
            session.commit()
        assert url is not None
        self.secrets_sent.append(url.rsplit("/", 1)[1])
        return url

    def webhook(self, url: str) -> Webhook:
        """The hook row behind a hook URL."""
        with Session(self.engine) as session:
            return session.exec(select(Webhook).where(Webhook.token_hash == token_hash(url.rsplit("/", 1)[1]))).one()

    def remove_hook_node(self, url: str) -> None:
        """Save a new version of the hook's workflow without its webhook node."""
        webhook = self.webhook(url)
        document = chain([{"id": "start", "type": "manual_trigger"}])
        with Session(self.engine) as session:
            save_version(session, webhook.workspace_id, webhook.workflow_id, document)
            session.commit()

    def run_count(self, url: str) -> int:
        """How many runs the workflow behind the hook URL has."""
        with Session(self.engine) as session:
            query = select(func.count()).select_from(Run).where(Run.workflow_id == self.webhook(url).workflow_id)
            return int(session.exec(query).one())

    def run_row(self, run_id: str) -> dict[str, Any]:
        with self.engine.connect() as connection:
            row = connection.execute(sa.text("SELECT status, input, output FROM run WHERE id = :id"), {"id": run_id})
            return dict(row.mappings().one())


def chain(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """A workflow document running `nodes` one after the other."""
    for index, node in enumerate(nodes):
        node.setdefault("type_version", 1)
        node.setdefault("position", {"x": 260 * index, "y": 0})
    edges = [
        {"id": f"e{i}", "source": a["id"], "target": b["id"]} for i, (a, b) in enumerate(itertools.pairwise(nodes), 1)
    ]
    return {"format": "trellis.workflow", "format_version": 1, "name": "hook test", "nodes": nodes, "edges": edges,
            "settings": {"timeout_s": 60}}  # fmt: skip


def settings_for(server: Server) -> Any:
    return get_settings().model_copy(update={"public_url": server.url})


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:  # noqa: F811 (the e2e browser fixture)
    """A fresh tab, signed out (the API pages need no login)."""
    with new_tab(browser) as tab:
        yield tab


@pytest.fixture(scope="session")
def secret_key() -> Iterator[str]:
    """One Fernet key shared by this process (which encrypts hook tokens and credentials) and the servers."""
    key = Fernet.generate_key().decode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRELLIS_SECRET_KEYS", key)
        get_settings.cache_clear()
        _default_ring.cache_clear()
        yield key
    get_settings.cache_clear()
    _default_ring.cache_clear()


def server_env(database_url: str, secret_key: str, slow: LoopbackServer, redis_url: str | None) -> dict[str, str]:
    env = {
        "TRELLIS_DATABASE_URL": database_url, "TRELLIS_SECRET_KEYS": secret_key,
        "TRELLIS_SSRF_ALLOWED_CIDRS": "127.0.0.1/32", "TRELLIS_EGRESS_ALLOWED_PORTS": f"80,443,{slow.port}",
        # The tests send a few hundred calls a minute from one address; the per-address limit is unit-tested.
        "TRELLIS_WEBHOOK_CLIENT_RATE_LIMIT_PER_MINUTE": "100000",
    }  # fmt: skip
    if redis_url:
        env["TRELLIS_REDIS_URL"] = redis_url
    return env


@pytest.fixture(scope="module", params=["default", "queue"])
def trellis(
    request: pytest.FixtureRequest, make_pg_database, secret_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Trellis]:  # type: ignore[no-untyped-def]
    """A running Trellis on a fresh database: `default` (in-process runs) or `queue` (Redis + one worker)."""
    mode = request.param
    database_url = make_pg_database()
    ensure_database(database_url)
    redis_url = REDIS_URL if mode == "queue" else None
    if redis_url:
        redis.Redis.from_url(redis_url).flushdb()
    slow = LoopbackServer(delay_s=3)
    data_dir = tmp_path_factory.mktemp(f"trellis-{mode}")
    env = server_env(database_url, secret_key, slow, redis_url)
    engine = make_engine(database_url)
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(running_server(database_url, data_dir, env))
        if redis_url:
            stack.enter_context(running_workers({**env, "TRELLIS_DATA_DIR": str(data_dir)}, "hooks-test"))
        yield Trellis(server, mode, slow, engine, data_dir / "serve.log")
    slow.close()
    engine.dispose()
