"""`POST /api/hooks/{hook_id}`: start a workflow from a webhook call (HTTP glue around
`runtime.webhooks.deliver`, which holds the logic). Every other method answers 405."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from builder.api.errors import ApiError
from builder.api.policy import public
from builder.api.sse import run_events_response
from runtime.config import get_settings
from runtime.metrics import WEBHOOK_RESPONSES
from runtime.webhooks import HookError, HookRequest, deliver

router = APIRouter(tags=["webhooks"])

HOOK_PATH = "/api/hooks/{hook_id}"
REQUEST_BODY = {
    "required": False,
    "content": {
        "application/json": {"schema": {}},
        "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
        "text/plain": {"schema": {"type": "string"}},
    },
}
ANSWERS: dict[int | str, dict[str, object]] = {
    200: {"description": "`when_finished`: the output node's value; `stream`: the run's events (text/event-stream)."},
    202: {"description": "`immediately`, or `when_finished` past its wait: `{run_id, status_url}`."},
    401: {"description": "Missing or wrong token, bad or stale signature."},
    404: {"description": "No enabled webhook at this address."},
    409: {"description": "A delivery with the same idempotency key is still being accepted."},
    413: {"description": "The body is larger than the webhook's limit."},
    415: {"description": "The Content-Type is not JSON, a URL-encoded form or text."},
    422: {"description": "The idempotency key was used with a different body."},
    429: {"description": "Over the webhook's rate limit; see Retry-After."},
    500: {"description": "`when_finished`: the run failed; the body names the node and the error."},
    503: {"description": "The database or queue is unreachable; see Retry-After."},
}


def _api_error(error: HookError) -> ApiError:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return ApiError(error.status, error.code, error.message, headers=headers, **error.details)


HOOK_ACCESS = public("the unguessable hook token in the path is the credential")


@router.post(HOOK_PATH, responses=ANSWERS, openapi_extra={"requestBody": REQUEST_BODY, **HOOK_ACCESS})
async def receive_hook(hook_id: str, request: Request) -> Response:
    """Start the workflow whose webhook node owns this address; the node's `respond` decides the answer."""
    try:
        response = await _answer(hook_id, request)
    except ApiError as error:
        WEBHOOK_RESPONSES.labels(code=str(error.status)).inc()
        raise
    WEBHOOK_RESPONSES.labels(code=str(response.status_code)).inc()
    return response


async def _answer(hook_id: str, request: Request) -> Response:
    settings = get_settings()
    hook_request = HookRequest(
        token=hook_id, headers=request.headers, query=request.query_params,
        client=request.client.host if request.client else "", body=request.stream(),
    )  # fmt: skip
    try:
        answer = await deliver(settings, hook_request)
    except HookError as error:
        raise _api_error(error) from None
    if answer.stream_run_id is not None:
        response: Response = run_events_response(settings, answer.stream_run_id)
        response.headers.update(answer.headers)
        return response
    return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)


@router.api_route(
    HOOK_PATH, methods=["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"], include_in_schema=False,
    openapi_extra=HOOK_ACCESS,
)  # fmt: skip
async def refuse_method(hook_id: str, request: Request) -> Response:
    """Webhooks take POST only."""
    WEBHOOK_RESPONSES.labels(code="405").inc()
    raise ApiError(405, "method_not_allowed", f"{request.method} is not allowed; send POST.", headers={"Allow": "POST"})
