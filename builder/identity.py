"""Who is behind a browser request: the login-session cookie, resolved to a workspace member."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

from runtime.store import Member, get_engine, member_for_token, session_scope

SESSION_COOKIE = "trellis_session"
"""The HttpOnly cookie holding the login-session token (the `__Host-` prefix is added where Secure applies)."""
SESSION_COOKIE_NAMES = (f"__Host-{SESSION_COOKIE}", SESSION_COOKIE)


def session_token(cookie_header: str) -> str | None:
    """The login-session token in a `Cookie` header, or None."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header or "")
    except CookieError:
        return None
    for name in SESSION_COOKIE_NAMES:
        if name in jar and jar[name].value:
            return jar[name].value
    return None


def member_from_cookie_header(cookie_header: str) -> Member | None:
    """The signed-in member a `Cookie` header carries, or None when it carries no live session."""
    token = session_token(cookie_header)
    if token is None:
        return None
    with session_scope(get_engine()) as session:
        return member_for_token(session, token)
