"""Sign-in over HTTP against a real `trellis serve`: first-run setup, password login, the session
cookie, rotation, logout, the failure limit, and the origin checks on writes and the websocket."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from sqlmodel import Session, select
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from runtime.store import AuditEvent, LoginSession, User, member_for_token
from tests.api.auth_fixtures import OWNER_EMAIL, OWNER_PASSWORD, AuthServer, owner_fields, setup_token

REMOTE = {"X-Forwarded-For": "203.0.113.9"}
"""Relayed by a proxy: setup treats such a request as not from this machine."""


def log_in(base: str, email: str, password: str, **headers: str) -> httpx.Response:
    return httpx.post(f"{base}/api/auth/login", json={"email": email, "password": password}, headers=headers)


def token_of(answer: httpx.Response) -> str:
    return answer.cookies["trellis_session"]


def signed_in(engine, token: str) -> str | None:  # type: ignore[no-untyped-def]
    """The email the token signs in right now, or None."""
    with Session(engine) as session:
        member = member_for_token(session, token)
        session.commit()
    return member.email if member else None


def test_setup_needs_loopback_or_the_printed_token_and_then_is_gone(auth_server: AuthServer) -> None:
    base = f"{auth_server.url}/api/auth/setup"
    if httpx.get(base).status_code == 404:
        pytest.fail("setup already done: this test must run first on the fresh server")
    assert httpx.post(base, json=owner_fields(), headers=REMOTE).status_code == 403
    wrong = httpx.post(base, json=owner_fields(token="not-the-token"), headers=REMOTE)
    assert wrong.status_code == 403 and wrong.json()["error"] == "setup_forbidden"
    token = setup_token(auth_server.server)
    short = httpx.post(base, json=owner_fields(password="short", confirm="short", token=token), headers=REMOTE)
    assert short.status_code == 422 and short.json()["field"] == "password"
    differ = httpx.post(base, json=owner_fields(confirm="something else entirely"))
    assert differ.status_code == 422 and differ.json()["field"] == "confirm"

    done = httpx.post(base, json=owner_fields(token=token), headers=REMOTE)

    assert done.status_code == 200 and done.json()["next"] == "/"
    assert signed_in(auth_server.engine, token_of(done)) == OWNER_EMAIL  # the new owner is signed in at once
    assert httpx.get(base).status_code == 404
    again = httpx.post(base, json=owner_fields(email="second@example.com"))
    assert again.status_code == 404


def test_unknown_email_and_wrong_password_get_the_same_answer(set_up: AuthServer) -> None:
    wrong_password = log_in(set_up.url, OWNER_EMAIL, "not my password")
    unknown_user = log_in(set_up.url, f"{uuid.uuid4().hex}@example.com", "not my password")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert (
        wrong_password.json() == unknown_user.json() == {"error": "login_failed", "message": "Wrong email or password."}
    )
    assert "set-cookie" not in wrong_password.headers and "set-cookie" not in unknown_user.headers


def test_the_session_cookie_is_httponly_lax_site_wide_and_renewed_at_each_login(set_up: AuthServer) -> None:
    first = log_in(set_up.url, OWNER_EMAIL, OWNER_PASSWORD)
    assert first.status_code == 200
    cookie = first.headers["set-cookie"]
    assert re.match(r"trellis_session=[A-Za-z0-9_-]{43};", cookie)  # 256 random bits
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes and "domain" not in attributes
    assert "Path=/;" in cookie + ";" and "SameSite=lax" in cookie and "Secure" not in cookie  # http://localhost

    second = log_in(set_up.url, OWNER_EMAIL, OWNER_PASSWORD, Cookie=f"trellis_session={token_of(first)}",
                    Origin=set_up.url)  # fmt: skip

    assert token_of(second) != token_of(first)
    assert signed_in(set_up.engine, token_of(first)) is None  # the browser's old session was closed
    assert signed_in(set_up.engine, token_of(second)) == OWNER_EMAIL
    with Session(set_up.engine) as session:
        stored = session.exec(select(LoginSession.token_hash)).all()
    assert token_of(second) not in stored  # only its hash is kept


def test_logout_deletes_the_session_and_the_cookie(set_up: AuthServer) -> None:
    token = token_of(log_in(set_up.url, OWNER_EMAIL, OWNER_PASSWORD))
    answer = httpx.post(f"{set_up.url}/api/auth/logout", headers={"Cookie": f"trellis_session={token}",
                                                                   "Origin": set_up.url})  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert re.match(r'trellis_session="?"?; .*Max-Age=0', answer.headers["set-cookie"])
    assert signed_in(set_up.engine, token) is None
    with Session(set_up.engine) as session:
        owner = session.exec(select(User).where(User.email == OWNER_EMAIL)).one()
        last = session.exec(select(AuditEvent).where(AuditEvent.actor_user_id == owner.id)
                            .order_by(AuditEvent.created_at.desc())).first()  # type: ignore[attr-defined]  # fmt: skip
    assert last is not None and last.action == "logout"


def test_a_signed_in_write_from_another_origin_is_refused(set_up: AuthServer) -> None:
    token = token_of(log_in(set_up.url, OWNER_EMAIL, OWNER_PASSWORD))
    cookie = {"Cookie": f"trellis_session={token}"}
    logout = f"{set_up.url}/api/auth/logout"
    for foreign in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"}, {}):
        refused = httpx.post(logout, headers={**cookie, **foreign})
        assert refused.status_code == 403 and refused.json()["error"] == "origin_refused", foreign
    assert signed_in(set_up.engine, token) == OWNER_EMAIL  # nothing happened
    # A foreign page may not post the login form either (login CSRF), cookie or not.
    csrf_login = log_in(set_up.url, OWNER_EMAIL, OWNER_PASSWORD, Origin="https://evil.example")
    assert csrf_login.status_code == 403 and "set-cookie" not in csrf_login.headers
    # Elsewhere, without the cookie, the check does not apply (API keys, webhooks): the route answers itself.
    no_key = httpx.post(f"{set_up.url}/api/v1/workflows", json={}, headers={"Origin": "https://evil.example"})
    assert no_key.status_code == 401
    same_site = httpx.post(logout, headers={**cookie, "Referer": f"{set_up.url}/workflows/x"})
    assert same_site.status_code == 303 and signed_in(set_up.engine, token) is None


def test_the_websocket_accepts_only_our_origin(set_up: AuthServer) -> None:
    url = set_up.url.replace("http://", "ws://") + "/_event/?EIO=4&transport=websocket"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin="https://evil.example", open_timeout=10).close()
    assert refused.value.response.status_code == 403
    with connect(url, origin=set_up.url, open_timeout=10) as socket:
        assert socket.recv(timeout=10).startswith("0{")  # the Engine.IO open packet


def test_five_failures_lock_the_account_for_that_address_with_retry_after(set_up: AuthServer) -> None:
    email = f"{uuid.uuid4().hex}@example.com"
    answers = [log_in(set_up.url, email, f"guess number {n}") for n in range(5)]
    assert [a.status_code for a in answers] == [401] * 5

    locked = log_in(set_up.url, email, "guess number 6")

    assert locked.status_code == 429 and locked.json()["error"] == "rate_limited"
    assert locked.headers["retry-after"].isdigit() and 1 <= int(locked.headers["retry-after"]) <= 900
    form = httpx.post(f"{set_up.url}/api/auth/login", data={"email": email, "password": "guess number 7"})
    assert form.status_code == 303 and form.headers["location"].startswith("/login?error=rate_limited")
    # The owner, failing from the same address, is counted apart and still gets in.
    assert log_in(set_up.url, OWNER_EMAIL, OWNER_PASSWORD).status_code == 200


def test_the_login_form_goes_back_to_the_page_wanted_but_never_off_site(set_up: AuthServer) -> None:
    def form_login(next_path: str, password: str = OWNER_PASSWORD) -> httpx.Response:
        fields = {"email": OWNER_EMAIL, "password": password, "next": next_path}
        return httpx.post(f"{set_up.url}/api/auth/login", data=fields)

    assert form_login("/workflows/wf_1?tab=runs").headers["location"] == "/workflows/wf_1?tab=runs"
    for outside in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        assert form_login(outside).headers["location"] == "/", outside
    failed = form_login("/workflows/wf_1", password="wrong password")
    assert (
        failed.status_code == 303 and failed.headers["location"] == "/login?error=login_failed&next=%2Fworkflows%2Fwf_1"
    )
