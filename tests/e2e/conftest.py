"""A real Trellis server (`trellis serve`, prod build, one port) on a fresh PostgreSQL database,
driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlmodel import Session

from runtime.store import make_engine

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
READY_TIMEOUT_S = 600


@dataclass(frozen=True)
class Server:
    """A running Trellis server and the database it uses."""

    url: str
    database_url: str


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_ready_line(process: subprocess.Popen[str], log: Path) -> None:
    """Block until `trellis serve` says it is ready; fail with its output if it dies or stalls."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    assert process.stdout is not None
    for line in process.stdout:
        sys.stderr.write(f"[serve] {line}")
        if "is ready at" in line:
            return
        if time.monotonic() > deadline:
            break
    server_log = log.read_text(errors="replace")[-4000:] if log.exists() else ""
    pytest.fail(f"trellis serve did not become ready (exit {process.poll()}):\n{server_log}")


@contextmanager
def running_server(database_url: str, data_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """`trellis serve` on a free port against `database_url` (migrated at start), stopped when the block ends."""
    port = free_port()
    env = {**os.environ, "TRELLIS_DATABASE_URL": database_url, "TRELLIS_DATA_DIR": str(data_dir),
           "TRELLIS_PORT": str(port), **(extra_env or {})}  # fmt: skip
    trellis = Path(sys.executable).with_name("trellis")
    process = subprocess.Popen(
        [str(trellis), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_ready_line(process, data_dir / "serve.log")
        yield Server(url=f"http://localhost:{port}", database_url=database_url)
    finally:
        # SIGTERM, not SIGINT: a shell running the suite in the background makes children ignore SIGINT.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, make_pg_database) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    """`trellis serve` on a free port against a fresh, migrated PostgreSQL database."""
    with running_server(make_pg_database(), tmp_path_factory.mktemp("trellis-data")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; per module, because Playwright's sync API keeps an event loop
    running in the main thread while it is open, which breaks the async tests that follow."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser tab (own cookies and storage) that accepts downloads."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


@pytest.fixture
def db(server: Server) -> Iterator[Session]:
    """A session on the server's database, for arranging and checking what the browser did."""
    engine = make_engine(server.database_url)
    with Session(engine) as session:
        yield session
    engine.dispose()
