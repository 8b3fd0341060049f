"""A real Trellis server (`trellis serve`, prod build, one port) on a fresh PostgreSQL database,
driven by Debian's Chromium through Playwright."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlmodel import Session

from runtime.store import make_engine
from tests.processes import Server, running_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


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
