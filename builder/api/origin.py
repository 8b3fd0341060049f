"""Cross-site request forgery guard: a write that carries the session cookie must come from our own origin.

Every POST, PUT, PATCH and DELETE with the login-session cookie must name an allowed origin in
`Origin` (or, when a browser sends none, in `Referer`); anything else is refused with 403 before a
route runs. Calls without the cookie (API keys, webhooks) are not affected, except the sign-in
routes (login, setup, invitations): a foreign page may not post those forms either (login CSRF would sign the victim
into the attacker's account). SameSite=Lax already keeps the cookie off most cross-site posts; this
also covers same-site subdomains and old browsers.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from builder.api.errors import ApiError, error_response
from builder.identity import session_token

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SIGN_IN_PATHS = ("/api/auth/", "/api/invites/")
"""Routes that sign a browser in: a foreign page may not post to them even without a cookie."""


def request_origin(headers: Headers) -> str | None:
    """The origin the browser says the request comes from: `Origin`, else that of `Referer`, else None."""
    origin = headers.get("origin")
    if origin:
        return origin.rstrip("/")
    referer = urlsplit(headers.get("referer", ""))
    return f"{referer.scheme}://{referer.netloc}" if referer.scheme and referer.netloc else None


class OriginCheck:
    """ASGI middleware refusing cookie-authenticated writes from other origins (403, `origin_refused`)."""

    def __init__(self, app: ASGIApp, allowed_origins: list[str]) -> None:
        self.app = app
        self.allowed = frozenset(origin.rstrip("/") for origin in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            headers = Headers(scope=scope)
            origin = request_origin(headers)
            signed_in = session_token(headers.get("cookie", "")) is not None
            foreign_sign_in = origin is not None and str(scope["path"]).startswith(SIGN_IN_PATHS)
            if (signed_in or foreign_sign_in) and origin not in self.allowed:
                await error_response(self.refusal(scope["method"], origin))(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, method: str, origin: str | None) -> ApiError:
        """The 403 naming the origin that was refused and those allowed."""
        allowed = ", ".join(sorted(self.allowed))
        return ApiError(
            403, "origin_refused", f"Refused a {method} from origin {origin or '(none)'}; allowed: {allowed}."
        )
