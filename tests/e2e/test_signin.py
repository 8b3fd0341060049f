"""Signing in, used as a person would in Chromium against a real `trellis serve` on a fresh database:
first-run setup, a wrong then a right password, signing out, and signing in through an OIDC provider."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import Session

from runtime.store import ensure_local_workspace, make_engine, member_for_token
from runtime.workflows import create_blank_workflow
from tests.oidc_provider import OidcProvider, running_oidc_provider
from tests.processes import Server, running_server

pytestmark = pytest.mark.e2e

OWNER_EMAIL = "owner@example.com"
OWNER_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with running_oidc_provider({"ada": {"email": "ada@example.com", "email_verified": True}}) as running:
        yield running


@pytest.fixture(scope="module")
def fresh_server(
    tmp_path_factory: pytest.TempPathFactory, make_pg_database, provider: OidcProvider
) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    """A server on a database nobody has set up yet, holding one workflow made before setup (as the CLI would)."""
    database_url = make_pg_database()
    data_dir = tmp_path_factory.mktemp("trellis-signin")
    with running_server(database_url, data_dir, provider.trellis_env()) as server:
        engine = make_engine(database_url)
        with Session(engine) as session:
            create_blank_workflow(session, ensure_local_workspace(session).id, "Made before setup")
            session.commit()
        engine.dispose()
        yield server


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    yield context
    context.close()


def at(server: Server, path: str) -> re.Pattern[str]:
    """The page `path` of the server, with or without the trailing slash the static export adds."""
    return re.compile(rf"{re.escape(server.url + path.rstrip('/'))}/?$")


def session_cookie(context: BrowserContext) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == "trellis_session"), None)


def signed_in_email(server: Server, token: str) -> str | None:
    engine = make_engine(server.database_url)
    with Session(engine) as session:
        member = member_for_token(session, token)
        session.commit()
    engine.dispose()
    return member.email if member else None


def fill_login(page: Page, email: str, password: str) -> None:
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()


def test_first_run_setup_creates_the_owner_and_keeps_the_workflows(
    fresh_server: Server, context: BrowserContext
) -> None:
    page = context.new_page()
    page.goto(f"{fresh_server.url}/login")
    expect(page).to_have_url(at(fresh_server, "/setup"))  # nobody can sign in yet: setup first

    page.get_by_test_id("setup-email").fill(OWNER_EMAIL)
    page.get_by_test_id("setup-password").fill(OWNER_PASSWORD)
    page.get_by_test_id("setup-confirm").fill("a different password")
    page.get_by_test_id("setup-workspace").fill("Acme")
    page.get_by_test_id("setup-submit").click()
    expect(page.get_by_test_id("setup-error")).to_have_text("The two passwords differ.")

    page.get_by_test_id("setup-email").fill(OWNER_EMAIL)
    page.get_by_test_id("setup-password").fill(OWNER_PASSWORD)
    page.get_by_test_id("setup-confirm").fill(OWNER_PASSWORD)
    page.get_by_test_id("setup-workspace").fill("Acme")
    page.get_by_test_id("setup-submit").click()

    expect(page).to_have_url(at(fresh_server, "/"))
    expect(page.get_by_text("Made before setup")).to_be_visible()
    page.get_by_test_id("account-menu").click()
    expect(page.get_by_test_id("account-email")).to_have_text(OWNER_EMAIL)

    # Setup is gone: a signed-out visitor of /setup lands on the login form.
    stranger = context.browser.new_context()  # type: ignore[union-attr]
    other = stranger.new_page()
    other.goto(f"{fresh_server.url}/setup")
    expect(other).to_have_url(at(fresh_server, "/login"))
    expect(other.get_by_test_id("login-submit")).to_be_visible()
    stranger.close()


def test_wrong_password_then_right_one_then_sign_out(fresh_server: Server, context: BrowserContext) -> None:
    page = context.new_page()
    page.goto(f"{fresh_server.url}/login")
    fill_login(page, OWNER_EMAIL, "not the password at all")
    expect(page.get_by_test_id("login-error")).to_have_text("Wrong email or password.")
    assert session_cookie(context) is None

    fill_login(page, OWNER_EMAIL, OWNER_PASSWORD)
    expect(page).to_have_url(at(fresh_server, "/"))
    token = session_cookie(context)
    assert token is not None and signed_in_email(fresh_server, token) == OWNER_EMAIL

    page.get_by_test_id("account-menu").click()
    page.get_by_test_id("sign-out").click()

    expect(page).to_have_url(at(fresh_server, "/login"))
    assert session_cookie(context) is None
    assert signed_in_email(fresh_server, token) is None
    # The old cookie, put back, signs nobody in: the login page stays instead of moving on.
    context.add_cookies([{"name": "trellis_session", "value": token, "url": fresh_server.url}])
    page.goto(f"{fresh_server.url}/login")
    expect(page.get_by_test_id("login-submit")).to_be_visible()
    expect(page).to_have_url(at(fresh_server, "/login"))


def test_sign_in_with_the_identity_provider(fresh_server: Server, context: BrowserContext) -> None:
    page = context.new_page()
    page.goto(f"{fresh_server.url}/login")
    page.get_by_test_id("oidc-login").click()
    expect(page.get_by_text("Authorize Client")).to_be_visible()  # the provider's own page
    page.get_by_role("button", name="ada", exact=True).click()

    expect(page).to_have_url(at(fresh_server, "/"))
    page.get_by_test_id("account-menu").click()
    expect(page.get_by_test_id("account-email")).to_have_text("ada@example.com")
