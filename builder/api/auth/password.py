"""`POST /api/auth/login` (email and password, as a form or JSON) and `POST /api/auth/logout`.

A form post is answered with a redirect (back to `/login?error=...` when refused); JSON with
`{"next": ...}` or the error: 401 for a wrong email or password (one message for both), 429 with
`Retry-After` after 5 failures for the account from the caller's address in 15 minutes.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from builder.api.auth.web import (
    browser_session_token,
    clear_session_cookie,
    client_address,
    page_with,
    read_fields,
    refusal,
    safe_next,
    signed_in_answer,
    wants_json,
)
from builder.api.errors import ApiError
from builder.api.policy import public
from runtime.auth.login_limits import TooManyFailures, check_not_locked_out, count_failure
from runtime.auth.signin import log_out, normalise_email, password_login
from runtime.config import get_settings
from runtime.store import get_engine

router = APIRouter(prefix="/api/auth", include_in_schema=False)

LOGIN_PAGE = "/login"
WRONG_CREDENTIALS = "Wrong email or password."


@router.post("/login", openapi_extra=public("the email and password are the credential"))
async def log_in(request: Request) -> Response:
    """Sign in with email and password; a new session replaces any the browser had."""
    settings = get_settings()
    fields = await read_fields(request)
    email, password = normalise_email(fields.get("email", "")), fields.get("password", "")
    target = safe_next(fields.get("next"))
    back_next = "" if target == "/" else target
    missing = [name for name, value in (("email", email), ("password", password)) if not value]
    if missing:
        error = ApiError(422, "invalid_request", f"Fill in: {', '.join(missing)}.", fields=missing)
        return refusal(request, error, page_with(LOGIN_PAGE, error="missing", next=back_next))
    address = client_address(request)
    try:
        check_not_locked_out(settings.redis_url, email, address)
    except TooManyFailures as locked:
        error = ApiError(429, "rate_limited", str(locked), headers={"Retry-After": str(locked.retry_after)},
                         retry_after=locked.retry_after)  # fmt: skip
        return refusal(request, error, page_with(LOGIN_PAGE, error="rate_limited", next=back_next))
    previous = browser_session_token(request)
    signed_in = await run_in_threadpool(password_login, get_engine(), email, password, address, previous)
    if signed_in is None:
        count_failure(settings.redis_url, email, address)
        error = ApiError(401, "login_failed", WRONG_CREDENTIALS)
        return refusal(request, error, page_with(LOGIN_PAGE, error="login_failed", next=back_next))
    return signed_in_answer(request, signed_in.token, settings, target, email=signed_in.member.email)


@router.post("/logout", openapi_extra=public("ends only the session the caller's own cookie names"))
async def log_out_of_session(request: Request) -> Response:
    """End the browser's session (its row is deleted) and drop the cookie; then to the login page."""
    settings = get_settings()
    token = browser_session_token(request)
    if token is not None:
        await run_in_threadpool(log_out, get_engine(), token, client_address(request))
    response: Response = (
        JSONResponse({"next": LOGIN_PAGE}) if wants_json(request) else RedirectResponse(LOGIN_PAGE, status_code=303)
    )
    clear_session_cookie(response, settings)
    return response
