"""One error shape for every API answer: `{"error": <code>, "message": <text>, ...details}`.

Raise `ApiError` from a route; the handlers below also turn the runtime's own errors and
FastAPI's request validation into that shape, so no route formats an error by hand.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from runtime.errors import NotFound, WorkflowInvalid


class ApiError(Exception):
    """An answer other than success: HTTP status, a stable machine code and a message for people."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.details = details


def error_response(error: ApiError) -> JSONResponse:
    """The JSON response for `error`."""
    body = {"error": error.code, "message": error.message, **error.details}
    return JSONResponse(body, status_code=error.status, headers=error.headers)


async def _api_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return error_response(error)


async def _not_found(_request: Request, error: Exception) -> JSONResponse:
    return error_response(ApiError(404, "not_found", str(error)))


async def _workflow_invalid(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, WorkflowInvalid)
    issues = [issue.to_dict() for issue in error.issues]
    return error_response(ApiError(422, "workflow_invalid", str(error), issues=issues))


async def _request_invalid(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    issues = [
        {"field": ".".join(str(part) for part in item.get("loc", ())), "message": item.get("msg", "")}
        for item in error.errors()
    ]
    fields = ", ".join(issue["field"] for issue in issues)
    return error_response(ApiError(422, "invalid_request", f"The request is invalid at: {fields}", issues=issues))


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    # What FastAPI raises itself, e.g. 400 for a body that is not JSON: same shape, code from the status.
    assert isinstance(error, StarletteHTTPException)
    code = HTTPStatus(error.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    headers = dict(error.headers or {})
    return error_response(ApiError(error.status_code, code, str(error.detail), headers=headers))


def install_error_handlers(api: FastAPI) -> None:
    """Make every error the API raises answer in the one JSON shape."""
    api.add_exception_handler(ApiError, _api_error)
    api.add_exception_handler(NotFound, _not_found)
    api.add_exception_handler(WorkflowInvalid, _workflow_invalid)
    api.add_exception_handler(RequestValidationError, _request_invalid)
    api.add_exception_handler(StarletteHTTPException, _http_error)
