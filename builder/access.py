"""Access checks for pages and event handlers: who is signed in, and may their role do this.

Every Reflex event handler of a builder state is declared with `@guarded(Need.X)` (or
`@open_to_all` when it touches no workspace data); a test fails for any handler without one.
Inside a guarded handler, `acting_member()` is the member the check let through, and every query
is scoped to `acting_member().workspace_id`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import quote

import reflex as rx

from builder.identity import member_from_cookie_header
from runtime.errors import NotFound
from runtime.store import Member

LOGIN_ROUTE = "/login"
POLICY_ATTRIBUTE = "access_need"
"""The attribute `guarded` and `open_to_all` set on a handler function: its declared policy."""


class Need(StrEnum):
    """What an action needs from the caller's role."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"
    NONE = "none"
    """No workspace data is read or changed (e.g. a dialog opening); anyone may call it."""


class NotSignedIn(Exception):
    """No live login session came with the request; the page should send the user to sign in."""


class Refused(Exception):
    """The member's role may not do this; the message says what their role allows."""


_acting: ContextVar[Member | None] = ContextVar("acting_member", default=None)


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


def acting_member() -> Member:
    """The member the enclosing guarded handler acts for; a RuntimeError outside one (a handler without a guard)."""
    member = _acting.get()
    if member is None:
        raise RuntimeError("acting_member() called outside a @guarded handler")
    return member


def acting_workspace_id() -> str:
    """The workspace the enclosing guarded handler acts in (the signed-in member's)."""
    return acting_member().workspace_id


def login_redirect(state: rx.State) -> rx.event.EventSpec:
    """Send the browser to the login page, coming back to the page it is on afterwards."""
    path = state.router.url.path or "/"
    return rx.redirect(f"{LOGIN_ROUTE}?next={quote(path, safe='/')}")


def _admit(state: rx.State, need: Need) -> tuple[Member | None, Any]:
    """(member, None) when the call may go ahead; (None, the redirect or refusal toast) when not."""
    try:
        return require_member(state, need), None
    except NotSignedIn:
        return None, login_redirect(state)
    except Refused as refusal:
        return None, rx.toast.error(str(refusal))


F = TypeVar("F", bound=Callable[..., Any])


def guarded(need: Need) -> Callable[[F], F]:
    """Run the handler only for a signed-in member whose role allows `need`.

    Signed out: the browser goes to `/login?next=<path>`. Refused: an error toast, nothing changes.
    A `NotFound` raised inside (another workspace's id, say) becomes an error toast too.
    Sync and async handlers (background tasks included) are supported.
    """

    def decorate(fn: F) -> F:
        wrapper = _wrap_async(fn, need) if inspect.iscoroutinefunction(fn) else _wrap_sync(fn, need)
        setattr(wrapper, POLICY_ATTRIBUTE, need)
        return wrapper  # type: ignore[return-value]

    return decorate


def open_to_all(fn: F) -> F:
    """Declare that the handler reads and changes no workspace data, so it needs no sign-in."""
    setattr(fn, POLICY_ATTRIBUTE, Need.NONE)
    return fn


def _wrap_sync(fn: Callable[..., Any], need: Need) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(self: rx.State, *args: Any, **kwargs: Any) -> Any:
        member, refusal = _admit(self, need)
        if member is None:
            return refusal
        token = _acting.set(member)
        try:
            return fn(self, *args, **kwargs)
        except NotFound as error:
            return rx.toast.error(str(error))
        finally:
            _acting.reset(token)

    return wrapper


def _wrap_async(fn: Callable[..., Any], need: Need) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(self: rx.State, *args: Any, **kwargs: Any) -> Any:
        member, refusal = _admit(self, need)
        if member is None:
            return refusal
        token = _acting.set(member)
        try:
            return await fn(self, *args, **kwargs)
        except NotFound as error:
            return rx.toast.error(str(error))
        finally:
            _acting.reset(token)

    return wrapper
