"""A configured Trellis for executor tests: a migrated database, settings read from the environment."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runtime.config import get_settings
from runtime.store import ensure_database, ensure_local_workspace, get_engine, session_scope
from runtime.workflows import import_workflow


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


class SlowServer:
    """A loopback HTTP server whose every answer takes `delay_s`; counts the requests it got."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.requests = 0
        self.release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests += 1
                owner.release.wait(owner.delay_s)
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slow"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_server(configured: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowServer]:
    """A slow loopback server the egress guard is configured to let nodes reach."""
    server = SlowServer(delay_s=30)
    monkeypatch.setenv("TRELLIS_EGRESS_ALLOWED_PORTS", f"80,443,{server.url.split(':')[2].split('/')[0]}")
    get_settings.cache_clear()
    yield server
    server.close()
