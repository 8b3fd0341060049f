"""OIDC sign-in end to end: a real `trellis serve` and a real provider (oidc-provider-mock) on loopback.

The code flow runs as a browser would (redirects followed by hand): success creates the user and a
session; a wrong state, a wrong nonce, a replayed code, another issuer, `alg: none`, HS256 keyed with
the public key, an expired id_token and an email outside the allowed domains are each refused
without signing anyone in.
"""

from __future__ import annotations

import copy
import time
import types
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import authlib.oidc.core.grants._legacy as id_token_claims
import httpx
import pytest
from sqlmodel import Session, select

from runtime.store import AuditEvent, Membership, Role, User, UserIdentity, member_for_token
from tests.api.auth_fixtures import AuthServer

Tamper = Callable[[str], str]


def with_param(url: str, **params: str) -> str:
    """`url` with the given query parameters replaced."""
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode({**query, **params})))


def callback_url(browser: httpx.Client, trellis: str, subject: str, tamper: Tamper = lambda url: url) -> str:
    """Start a sign-in at Trellis, let `subject` approve it at the provider, return where it sends the browser."""
    start = browser.get(f"{trellis}/api/auth/oidc/login", params={"next": "/workflows/wf_1"})
    assert start.status_code == 302, start.text
    authorize = tamper(start.headers["location"])
    approved = browser.post(authorize, data={"sub": subject})
    assert approved.status_code == 302, approved.text
    return approved.headers["location"]


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(follow_redirects=False, timeout=30) as client:
        yield client


def session_email(server: AuthServer, answer: httpx.Response) -> str | None:
    token = answer.cookies.get("trellis_session")
    if token is None:
        return None
    with Session(server.engine) as session:
        member = member_for_token(session, token)
        session.commit()
    return member.email if member else None


def users(server: AuthServer) -> list[str]:
    with Session(server.engine) as session:
        return sorted(session.exec(select(User.email)).all())


def test_a_new_user_from_an_allowed_domain_is_created_and_signed_in(set_up: AuthServer, browser) -> None:  # type: ignore[no-untyped-def]
    start = browser.get(f"{set_up.url}/api/auth/oidc/login")
    sent = parse_qs(urlsplit(start.headers["location"]).query)
    assert sent["code_challenge_method"] == ["S256"] and sent["code_challenge"][0] and sent["nonce"][0]
    assert sent["state"][0] and sent["redirect_uri"] == [f"{set_up.url}/api/auth/oidc/callback"]

    answer = browser.get(callback_url(browser, set_up.url, "ada"))

    assert answer.status_code == 303 and answer.headers["location"] == "/workflows/wf_1"
    assert session_email(set_up, answer) == "ada@example.com"
    with Session(set_up.engine) as session:
        ada = session.exec(select(User).where(User.email == "ada@example.com")).one()
        assert session.exec(select(Membership.role).where(Membership.user_id == ada.id)).all() == [Role.VIEWER]
        identity = session.exec(select(UserIdentity).where(UserIdentity.user_id == ada.id)).one()
        assert (identity.issuer, identity.subject) == (set_up.provider.issuer, "ada")
        login = session.exec(select(AuditEvent).where(AuditEvent.actor_user_id == ada.id)).one()
        assert login.action == "login" and login.details["method"] == "oidc"
    again = browser.get(callback_url(browser, set_up.url, "ada"))  # a second sign-in: the same user
    assert session_email(set_up, again) == "ada@example.com" and users(set_up).count("ada@example.com") == 1


def test_a_wrong_state_is_refused_with_400(set_up: AuthServer, browser) -> None:  # type: ignore[no-untyped-def]
    answer = browser.get(with_param(callback_url(browser, set_up.url, "ada"), state="forged-state"))
    assert answer.status_code == 400 and answer.json()["error"] == "oidc_refused"
    assert "trellis_session" not in answer.cookies


def test_a_wrong_nonce_is_refused(set_up: AuthServer, browser) -> None:  # type: ignore[no-untyped-def]
    url = callback_url(browser, set_up.url, "ada", tamper=lambda url: with_param(url, nonce="attacker-nonce"))
    answer = browser.get(url)
    assert answer.status_code == 400 and "nonce" in answer.json()["message"]
    assert "trellis_session" not in answer.cookies


def test_a_replayed_code_is_refused(set_up: AuthServer, browser) -> None:  # type: ignore[no-untyped-def]
    url = callback_url(browser, set_up.url, "ada")
    # The signed transaction cookie (state, nonce, PKCE verifier) as it was before the first use.
    transaction = copy.copy(next(cookie for cookie in browser.cookies.jar if cookie.name == "trellis_oidc"))
    assert browser.get(url).status_code == 303
    browser.cookies.clear()
    browser.cookies.jar.set_cookie(transaction)

    replay = browser.get(url)

    assert replay.status_code == 400 and "invalid_grant" in replay.json()["message"]
    assert "trellis_session" not in replay.cookies


def test_an_id_token_from_another_issuer_is_refused(set_up: AuthServer, browser) -> None:  # type: ignore[no-untyped-def]
    url = callback_url(browser, set_up.url, "ada")
    set_up.provider.forge_issuer[0] = True
    try:
        answer = browser.get(url)
    finally:
        set_up.provider.forge_issuer[0] = False
    assert answer.status_code == 400 and "iss" in answer.json()["message"]
    assert "trellis_session" not in answer.cookies


@pytest.mark.parametrize("algorithm", ["none", "HS256"])
def test_an_id_token_with_alg_none_or_hs256_keyed_with_the_public_key_is_refused(set_up: AuthServer, browser,  # type: ignore[no-untyped-def]
                                                                                algorithm: str) -> None:  # fmt: skip
    url = callback_url(browser, set_up.url, "ada")
    set_up.provider.forge_algorithm[0] = algorithm
    try:
        answer = browser.get(url)
    finally:
        set_up.provider.forge_algorithm[0] = None
    assert answer.status_code == 400 and f"Algorithm of '{algorithm}' is not allowed" in answer.json()["message"]
    assert "trellis_session" not in answer.cookies


def test_an_expired_id_token_is_refused(set_up: AuthServer, browser, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    url = callback_url(browser, set_up.url, "ada")
    # The provider signs with a clock two hours behind: the id_token expired an hour ago (leeway is 60 s).
    monkeypatch.setattr(id_token_claims, "time", types.SimpleNamespace(time=lambda: time.time() - 7200))
    answer = browser.get(url)
    assert answer.status_code == 400 and "expired" in answer.json()["message"].lower()
    assert "trellis_session" not in answer.cookies


def test_an_email_outside_the_allowed_domains_is_refused_and_audited(set_up: AuthServer, browser) -> None:  # type: ignore[no-untyped-def]
    answer = browser.get(callback_url(browser, set_up.url, "eve"))
    assert answer.status_code == 403 and "elsewhere.example" in answer.json()["message"]
    assert "trellis_session" not in answer.cookies and "eve@elsewhere.example" not in users(set_up)
    with Session(set_up.engine) as session:
        failed = session.exec(select(AuditEvent).where(AuditEvent.action == "login.failed")).all()
    assert any(
        event.details.get("email") == "eve@elsewhere.example" and event.actor_user_id is None for event in failed
    )
