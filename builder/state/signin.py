"""State of the sign-in pages: `/login` (errors, where to go next, the OIDC button) and `/setup`."""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec

from builder import routes
from builder.access import open_to_all, signed_in_member
from builder.api.auth.web import safe_next
from runtime.auth.passwords import MIN_PASSWORD_LENGTH
from runtime.auth.setup import setup_pending
from runtime.config import get_settings
from runtime.store import get_engine, session_scope

LOGIN_ERRORS = {
    "login_failed": "Wrong email or password.",
    "missing": "Enter your email and password.",
    "rate_limited": "Too many failed sign-ins for this account. Try again in 15 minutes.",
}
SETUP_ERRORS = {
    "forbidden": "Setup is allowed only from this machine, or with the setup link `trellis serve` printed.",
    "email": "Enter a valid email address.",
    "password": f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.",
    "mismatch": "The two passwords differ.",
    "workspace": "Give the workspace a name (at most 200 characters).",
}


def _setup_pending() -> bool:
    with session_scope(get_engine()) as session:
        return setup_pending(session)


class LoginState(rx.State):
    """What the login page shows: the error of the last attempt, the page to return to, the OIDC button."""

    error: str = ""
    next_path: str = "/"
    oidc_name: str = ""

    @rx.event
    @open_to_all
    def load(self) -> EventSpec | None:
        """Read the query string; to /setup while no account exists, to `next` when already signed in."""
        if _setup_pending():
            return rx.redirect(routes.SETUP)
        params = self.router.url.query_parameters
        self.error = LOGIN_ERRORS.get(params.get("error", ""), "")
        self.next_path = safe_next(params.get("next"))
        settings = get_settings()
        self.oidc_name = settings.oidc_display_name if settings.oidc_enabled else ""
        if signed_in_member(self) is not None:
            return rx.redirect(self.next_path)
        return None


class SetupState(rx.State):
    """What the setup page shows: the error of the last attempt and the setup token from the link."""

    error: str = ""
    token: str = ""

    @rx.event
    @open_to_all
    def load(self) -> EventSpec | None:
        """Read the query string; to /login once setup is done."""
        if not _setup_pending():
            return rx.redirect(routes.LOGIN)
        params = self.router.url.query_parameters
        self.error = SETUP_ERRORS.get(params.get("error", ""), "")
        self.token = params.get("token", "")
        return None
