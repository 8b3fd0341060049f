"""`POST /api/invites/{token}`: join a workspace through an invitation link, and land signed in.

The invite page posts here as a plain HTML form, so the answer can set the HttpOnly session cookie:
a signed-out visitor sends a name and a password (a new account for the invited email); someone
already signed in as the invited email sends nothing. Every answer is a 303 redirect: to `/` when
joined, back to the invite page with `?error=` otherwise.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from builder.api.auth.web import set_session_cookie
from builder.api.policy import public
from builder.identity import member_from_cookie_header
from runtime.auth.passwords import hash_password, password_problem
from runtime.config import get_settings
from runtime.errors import NotFound
from runtime.store import User, get_engine, open_login_session, session_scope
from runtime.store.invites import accept_invite, register_through_invite

router = APIRouter(tags=["invites"])


class InviteRefused(Exception):
    """Why the invitation could not be used; shown on the invite page."""


def _page(token: str, error: str) -> RedirectResponse:
    return RedirectResponse(f"/invite/{quote(token)}?error={quote(error)}", status_code=303)


def _join(token: str, cookie_header: str, name: str, password: str) -> str:
    """The new login session's token after joining; InviteRefused or NotFound when it cannot be done."""
    signed_in = member_from_cookie_header(cookie_header)
    with session_scope(get_engine()) as session:
        if signed_in is not None and not password:
            user = session.get(User, signed_in.user_id)
            assert user is not None
            membership = accept_invite(session, token, user)
        else:
            problem = password_problem(password)
            if problem:
                raise InviteRefused(f"password: {problem}")
            membership = register_through_invite(session, token, name, hash_password(password))
        return open_login_session(session, membership.user_id, membership.workspace_id)


@router.post(
    "/api/invites/{token}", status_code=303, summary="Accept an invitation",
    openapi_extra=public("the invite token is the credential"),
)  # fmt: skip
async def accept(
    token: str,
    request: Request,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> RedirectResponse:
    """Join the invitation's workspace; 303 to `/` signed in, or back to the invite page with the reason."""
    try:
        session_token = await run_in_threadpool(_join, token, request.headers.get("cookie", ""), name, password)
    except (InviteRefused, NotFound) as refusal:
        return _page(token, str(refusal))
    answer = RedirectResponse("/", status_code=303)
    set_session_cookie(answer, session_token, get_settings())
    return answer
