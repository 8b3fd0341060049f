"""First-run setup: `GET /api/auth/setup` (is it pending?) and `POST /api/auth/setup` (create the owner).

Both answer 404 once setup is done. The POST is taken from loopback, or from anywhere with the
one-time token `trellis serve` printed; a form post is answered with a redirect (back to
`/setup?error=...` when refused), JSON with `{"next": "/"}` or the error naming the field.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from builder.api.auth.web import client_address, from_this_machine, page_with, read_fields, refusal, signed_in_answer
from builder.api.errors import ApiError
from builder.api.policy import public
from runtime.auth.passwords import hash_password, password_problem
from runtime.auth.setup import SetupDone, complete_setup, setup_pending, setup_token_matches, workspace_name_problem
from runtime.auth.signin import SignedIn, email_problem, normalise_email
from runtime.config import get_settings
from runtime.store import get_engine, session_scope

router = APIRouter(prefix="/api/auth", include_in_schema=False)

SETUP_PAGE = "/setup"


def setup_done() -> ApiError:
    """The answer once setup has happened: nothing here any more."""
    return ApiError(404, "not_found", "Nothing at '/api/auth/setup': Trellis is set up; sign in at /login.")


def _pending() -> bool:
    with session_scope(get_engine()) as session:
        return setup_pending(session)


@router.get("/setup", openapi_extra=public("says only whether setup is pending"))
async def setup_status() -> JSONResponse:
    """`{"pending": true}` while the first owner has to be created; 404 afterwards."""
    if not await run_in_threadpool(_pending):
        raise setup_done()
    return JSONResponse({"pending": True})


@router.post("/setup", openapi_extra=public("only while no account exists, from this machine or with the setup token"))
async def set_up(request: Request) -> Response:
    """Create the owner from email, password (twice) and workspace name, and sign them in."""
    if not await run_in_threadpool(_pending):
        raise setup_done()
    fields = await read_fields(request)
    token = fields.get("token", "")
    if not from_this_machine(request) and not setup_token_matches(token):
        error = ApiError(403, "setup_forbidden", "Setup is allowed only from this machine, or with the setup link "
                         "`trellis serve` printed.")  # fmt: skip
        return refusal(request, error, page_with(SETUP_PAGE, error="forbidden", token=token))
    invalid = field_problem(fields)
    if invalid is not None:
        field, code, message = invalid
        error = ApiError(422, "invalid_request", message, field=field, issues=[{"field": field, "message": message}])
        return refusal(request, error, page_with(SETUP_PAGE, error=code, token=token))
    password_hash = await run_in_threadpool(hash_password, fields["password"])
    try:
        signed_in = await run_in_threadpool(_complete, fields, password_hash, client_address(request))
    except SetupDone:
        raise setup_done() from None
    return signed_in_answer(request, signed_in.token, get_settings(), "/", email=signed_in.member.email)


def field_problem(fields: dict[str, str]) -> tuple[str, str, str] | None:
    """(field, error code, message) for the first unusable field, or None when all are fine."""
    email, password = normalise_email(fields.get("email", "")), fields.get("password", "")
    checks = [
        ("email", "email", email_problem(email)),
        ("password", "password", password_problem(password)),
        ("confirm", "mismatch", None if fields.get("confirm") == password else "The two passwords differ."),
        ("workspace_name", "workspace", workspace_name_problem(fields.get("workspace_name", ""))),
    ]
    return next(((field, code, message) for field, code, message in checks if message), None)


def _complete(fields: dict[str, str], password_hash: str, address: str) -> SignedIn:
    with session_scope(get_engine()) as session:
        return complete_setup(session, fields["email"], password_hash, fields["workspace_name"], address)
