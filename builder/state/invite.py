"""State of the invite page (`/invite/<token>`): which workspace and role the link offers, and to whom."""

from __future__ import annotations

import reflex as rx

from builder.access import open_to_all, signed_in_member
from runtime.errors import NotFound
from runtime.store import get_engine, session_scope
from runtime.store.invites import open_invite


class InviteState(rx.State):
    """The invitation behind the link, and whether the visitor is already signed in as its email."""

    token: str = ""
    found: bool = False
    problem: str = ""
    workspace_name: str = ""
    role: str = ""
    email: str = ""
    has_account: bool = False
    signed_in_as: str = ""
    error: str = ""

    @rx.event
    @open_to_all  # the token in the URL is the credential; only the workspace name, email and role are shown
    def open(self) -> None:
        """Read the invitation the URL names (the page's `?error=` is what the last attempt to join answered)."""
        self.token = str(self.router.page.params.get("token", ""))
        self.error = self.router.url.query_parameters.get("error", "")
        member = signed_in_member(self)
        self.signed_in_as = member.email if member else ""
        try:
            with session_scope(get_engine()) as session:
                invite = open_invite(session, self.token)
        except NotFound as error:
            self.found, self.problem = False, str(error)
            return
        self.found, self.problem = True, ""
        self.workspace_name, self.role, self.email = invite.workspace_name, invite.role.value, invite.email
        self.has_account = invite.has_account
