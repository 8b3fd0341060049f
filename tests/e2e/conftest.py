"""A real Trellis server (`trellis serve`, prod build, one port) on a fresh PostgreSQL database,
driven by Debian's Chromium through Playwright; tabs are signed in as the local workspace's owner."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlmodel import Session

from runtime.store import Role, ensure_local_workspace, make_engine, session_scope
from tests.accounts import SignedIn, signed_in_member
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


@contextmanager
def new_tab(browser: Browser, server_url: str | None = None, who: SignedIn | None = None) -> Iterator[Page]:
    """A fresh browser tab (own cookies and storage) that accepts downloads; signed in as `who` when given."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 800})
    if who is not None and server_url is not None:
        context.add_cookies([who.cookie(server_url)])  # type: ignore[list-item]
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


@pytest.fixture(scope="session")
def owner(server: Server) -> SignedIn:
    """The owner of the server's local workspace (the one the browser tests store workflows in), signed in."""
    engine = make_engine(server.database_url)
    with session_scope(engine) as session:
        workspace_id = ensure_local_workspace(session).id
    signed_in = signed_in_member(engine, "owner@e2e.example", Role.OWNER, workspace_id)
    engine.dispose()
    return signed_in


def sign_in(page: Page, server: Server, email: str, role: Role = Role.EDITOR) -> str:
    """Sign `email` in for this tab with `role` in the server's local workspace (created if new); the email."""
    engine = make_engine(server.database_url)
    with session_scope(engine) as session:
        workspace_id = ensure_local_workspace(session).id
    signed = signed_in_member(engine, email, role, workspace_id)
    engine.dispose()
    page.context.add_cookies([signed.cookie(server.url)])  # type: ignore[list-item]
    return email


@pytest.fixture
def page(browser: Browser, server: Server, owner: SignedIn) -> Iterator[Page]:
    """A fresh tab signed in as the local workspace's owner."""
    with new_tab(browser, server.url, owner) as tab:
        yield tab


@pytest.fixture
def db(server: Server) -> Iterator[Session]:
    """A session on the server's database, for arranging and checking what the browser did."""
    engine = make_engine(server.database_url)
    with Session(engine) as session:
        yield session
    engine.dispose()
