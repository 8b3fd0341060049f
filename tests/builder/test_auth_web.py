"""The session cookie over https and the origins allowed, from settings alone."""

from __future__ import annotations

from fastapi.responses import Response

from builder.api.auth.web import safe_next, session_cookie_name, set_session_cookie
from builder.identity import session_token
from runtime.config import Settings


def test_over_https_the_cookie_is_host_prefixed_and_secure_without_a_domain() -> None:
    settings = Settings(public_url="https://trellis.example.com")
    response = Response()
    set_session_cookie(response, "tok3n", settings)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-trellis_session=tok3n;")
    assert all(part in cookie for part in ("HttpOnly", "Path=/", "SameSite=lax", "Secure", "Max-Age=604800"))
    assert "Domain" not in cookie
    assert session_token("__Host-trellis_session=tok3n; other=1") == "tok3n"  # what builder.identity reads


def test_on_http_localhost_the_cookie_is_plain_and_local_origins_are_allowed() -> None:
    settings = Settings(port=3000)
    assert session_cookie_name(settings) == "trellis_session"
    assert settings.allowed_origins == ["http://localhost:3000", "http://127.0.0.1:3000"]


def test_behind_a_public_https_url_only_that_origin_is_allowed() -> None:
    assert Settings(public_url="https://trellis.example.com/").allowed_origins == ["https://trellis.example.com"]


def test_next_stays_on_this_site() -> None:
    assert safe_next("/workflows/wf_1?tab=runs") == "/workflows/wf_1?tab=runs"
    for outside in (None, "", "https://evil.example", "//evil.example", "/\\evil.example", "/\x00x", "javascript:x"):
        assert safe_next(outside) == "/", outside
