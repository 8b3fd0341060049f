"""JSON answers for requests no `/api/v1` route takes: 405 for a known path, 404 otherwise.

Without this, such requests fall through to the web app behind the API and get an HTML page.
"""

from __future__ import annotations

import re
from functools import cache, partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from builder.api.errors import ApiError
from builder.api.policy import public

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


class AnyPathRoute(APIRoute):
    """A route whose `{path:path}` also matches control characters (Starlette's `.*` stops at a newline)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.path_regex = re.compile(self.path_regex.pattern, re.DOTALL)


def route_methods(routes: list[BaseRoute]) -> list[tuple[re.Pattern[str], list[str]]]:
    """Each documented path among `routes` as a pattern, with the methods it accepts."""
    paths = get_openapi(title="", version="", routes=routes)["paths"]
    return [
        (re.compile(re.sub(r"\{[^}]+\}", "[^/]+", template)), sorted(method.upper() for method in operations))
        for template, operations in paths.items()
    ]


def install_fallback(router: APIRouter) -> None:
    """Add the catch-all route to `router`; call it after every other route is added."""
    known = cache(partial(route_methods, list(router.routes)))

    async def unmatched(request: Request) -> None:
        path = request.url.path
        allowed = next((methods for pattern, methods in known() if pattern.fullmatch(path)), [])
        if allowed and request.method not in allowed:
            message = f"{request.method} is not allowed on {path}; use {', '.join(allowed)}."
            raise ApiError(405, "method_not_allowed", message, headers={"Allow": ", ".join(allowed)})
        raise ApiError(404, "not_found", f"Nothing at {path!r}.")

    router.add_api_route(
        "/{path:path}",
        unmatched,
        methods=METHODS,
        include_in_schema=False,
        route_class_override=AnyPathRoute,
        openapi_extra=public("answers only 404 or 405, after the router's API key check"),
    )
