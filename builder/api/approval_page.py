"""`/approvals/<token>`: the page a signed approval link opens. GET only shows the question with
Approve / Reject and a comment box; the decision is the form's POST. The token is the permission:
whoever holds an unexpired link may decide, once (a second decision answers 409)."""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from builder.api.policy import public
from builder.identity import member_from_cookie_header
from runtime.approvals.decide import AlreadyDecided, Decider, RunEnded, decide_by_token
from runtime.config import get_settings
from runtime.errors import NotFound
from runtime.store import get_engine, session_scope
from runtime.store.approvals import Approval, approval_for_token

router = APIRouter(include_in_schema=False)

PAGE_PATH = "/approvals/{token}"
MAX_FORM_BYTES = 16_384
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}"
    "blockquote{white-space:pre-wrap;border-left:4px solid #6e56cf;margin:1rem 0;padding:.5rem 1rem;background:#f6f5ff}"
    "textarea{width:100%;min-height:5rem}button{font-size:1rem;padding:.5rem 1.25rem;margin-right:.5rem}"
    ".chosen{outline:3px solid #6e56cf}"
)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><meta name='robots' content='noindex'>"
        f"<title>{escape(title)} · Trellis</title><style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"{body}</body></html>"
    )
    return HTMLResponse(
        html, status_code=status, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )


def _find(token: str) -> Approval | None:
    with session_scope(get_engine()) as session:
        return approval_for_token(session, token)


def _outcome(approval: Approval) -> str:
    by = f" by {escape(approval.decided_by)}" if approval.decided_by else ""
    comment = f"<p>Comment: {escape(approval.comment)}</p>" if approval.comment else ""
    return f"<p data-testid='approval-outcome'>This request was {escape(approval.status.value)}{by}.</p>{comment}"


@router.get(PAGE_PATH, response_class=HTMLResponse, openapi_extra=public("the signed link token is the credential"))
async def show(token: str, decision: str | None = None) -> HTMLResponse:
    """The question and the decision form (nothing is decided by opening the link)."""
    approval = await run_in_threadpool(_find, token)
    if approval is None:
        return _page("Link not valid", "<p>This approval link is unknown or has expired.</p>", 404)
    question = f"<blockquote data-testid='approval-message'>{escape(approval.message)}</blockquote>"
    if not approval.is_open:
        return _page("Approval", question + _outcome(approval))
    chosen = {name: " class='chosen' autofocus" if decision == name else "" for name in ("approve", "reject")}
    form = (
        "<form method='post'><label for='comment'>Comment (optional)</label>"
        "<textarea id='comment' name='comment' maxlength='4000' data-testid='approval-comment'></textarea><p>"
        f"<button name='decision' value='approve'{chosen['approve']} data-testid='approve-button'>Approve</button>"
        f"<button name='decision' value='reject'{chosen['reject']} data-testid='reject-button'>Reject</button>"
        "</p></form>"
    )
    return _page("Approval requested", question + form)


@router.post(PAGE_PATH, response_class=HTMLResponse, openapi_extra=public("the signed link token is the credential"))
async def submit(token: str, request: Request) -> HTMLResponse:
    """Record the decision the form sent; 409 when one was made before, 404 for a dead link."""
    raw = (await request.body())[:MAX_FORM_BYTES].decode(errors="replace")
    form = {name: values[0] for name, values in parse_qs(raw).items()}
    member = member_from_cookie_header(request.headers.get("cookie", ""))
    by = Decider(member.user_id, member.email) if member else Decider(None, "link")
    try:
        approval = await run_in_threadpool(
            decide_by_token, get_settings(), token, form.get("decision", ""), form.get("comment"), by
        )
    except NotFound as error:
        return _page("Link not valid", f"<p>{escape(str(error))}</p>", 404)
    except AlreadyDecided as error:
        return _page("Already decided", _outcome(error.approval), 409)
    except RunEnded as error:
        return _page("Run ended", f"<p>{escape(str(error))}</p>", 409)
    except ValueError as error:
        return _page("Not decided", f"<p>{escape(str(error))}</p>", 422)
    return _page("Thank you", _outcome(approval) + "<p>The run continues.</p>")
