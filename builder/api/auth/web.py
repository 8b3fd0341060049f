"""What the sign-in routes share: the session cookie, the caller's address, form-or-JSON bodies,
safe `next` targets, and answering a browser form with a redirect but an API client with JSON."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from builder.api.errors import ApiError, error_response
from builder.identity import SESSION_COOKIE, session_token
from runtime.config import Settings
from runtime.store.login_sessions import ABSOLUTE_TIMEOUT

FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def session_cookie_name(settings: Settings) -> str:
    """`__Host-trellis_session` where the app is served over https, else `trellis_session`."""
    return f"__Host-{SESSION_COOKIE}" if settings.public_is_https else SESSION_COOKIE


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """Put the login-session token in an HttpOnly, SameSite=Lax cookie for the whole site (no Domain)."""
    response.set_cookie(
        session_cookie_name(settings), token, max_age=int(ABSOLUTE_TIMEOUT.total_seconds()), path="/",
        secure=settings.public_is_https, httponly=True, samesite="lax",
    )  # fmt: skip


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Tell the browser to drop the session cookie."""
    response.delete_cookie(
        session_cookie_name(settings), path="/", secure=settings.public_is_https, httponly=True, samesite="lax"
    )


def browser_session_token(request: Request) -> str | None:
    """The login-session token the request carries, if any."""
    return session_token(request.headers.get("cookie", ""))


def client_address(request: Request) -> str:
    """The address of the peer that sent the request."""
    return request.client.host if request.client else "unknown"


def from_this_machine(request: Request) -> bool:
    """Whether the request came straight from loopback, not relayed by a proxy on this machine."""
    if any(header in request.headers for header in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(client_address(request)).is_loopback
    except ValueError:
        return False


def wants_json(request: Request) -> bool:
    """Whether the caller posted JSON (an API client) rather than an HTML form (a browser page)."""
    return request.headers.get("content-type", "").split(";")[0].strip() == "application/json"


async def read_fields(request: Request) -> dict[str, str]:
    """The posted fields as strings, from a JSON object or a form; a 400 for anything else."""
    if wants_json(request):
        body: Any = await request.json()
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_request", "The body must be a JSON object.")
        return {key: value for key, value in body.items() if isinstance(value, str)}
    async with request.form() as form:
        return {key: value for key, value in form.items() if isinstance(value, str)}


def safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else `/` (no other host, scheme or `//` trick)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(char) < 0x20 for char in target):
        return "/"
    return target


def page_with(path: str, **params: str) -> str:
    """`path` with the non-empty `params` as its query string."""
    query = urlencode({key: value for key, value in params.items() if value})
    return f"{path}?{query}" if query else path


def refusal(request: Request, error: ApiError, form_page: str) -> Response:
    """The answer to a refused form post (back to `form_page` with the error code) or JSON call (the error)."""
    if wants_json(request):
        return error_response(error)
    return RedirectResponse(form_page, status_code=303)


def signed_in_answer(request: Request, token: str, settings: Settings, target: str, **body: Any) -> Response:
    """Success: the session cookie, and a redirect to `target` (a form) or `{"next": target, ...}` (JSON)."""
    response: Response = (
        JSONResponse({"next": target, **body}) if wants_json(request) else RedirectResponse(target, status_code=303)
    )
    set_session_cookie(response, token, settings)
    return response
