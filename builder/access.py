"""Access checks for pages and event handlers: who is signed in, and may their role do this.

Every Reflex handler that reads or changes workspace data calls `require_member` first and acts
only in `member.workspace_id`.
"""

from __future__ import annotations

from enum import StrEnum

import reflex as rx

from builder.identity import member_from_cookie_header
from runtime.store import Member


class Need(StrEnum):
    """What an action needs from the caller's role."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class NotSignedIn(Exception):
    """No live login session came with the request; the page should send the user to sign in."""


class Refused(Exception):
    """The member's role may not do this; the message says what their role allows."""


def signed_in_member(state: rx.State) -> Member | None:
    """The member behind the browser of this state's client (its session cookie), or None."""
    return member_from_cookie_header(state.router.headers.cookie)


def require_member(state: rx.State, need: Need = Need.READ) -> Member:
    """The signed-in member if their role allows `need`; NotSignedIn or Refused otherwise."""
    member = signed_in_member(state)
    if member is None:
        raise NotSignedIn("Sign in to continue.")
    if need is Need.WRITE and not member.may_write:
        raise Refused(f"Your role ({member.role.value}) may look but not change or run anything here.")
    if need is Need.ADMIN and not member.may_admin:
        raise Refused(f"Only owners and admins may do this; your role is {member.role.value}.")
    return member
