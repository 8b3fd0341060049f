"""Checks every `/api/v1` request passes before its route runs, after the API key is checked (401 first)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from builder.api.errors import ApiError
from builder.api.v1.auth import Reader

NUL = "\x00"


def query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route (with its dependencies) declares."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= query_names(sub)
    return names


async def reject_unknown_query(request: Request, _caller: Reader) -> None:
    """422 naming each query parameter the route does not declare: a misspelt filter is not silently ignored."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = query_names(route.dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        accepted = ", ".join(sorted(known)) or "none"
        message = f"Unknown query parameter(s): {', '.join(unknown)}; this route accepts: {accepted}."
        issues = [{"field": name, "message": "unknown query parameter"} for name in unknown]
        raise ApiError(422, "invalid_request", message, issues=issues)


def nul_location(value: Any, path: str) -> str | None:
    """Where in a parsed JSON value a string (or key) holds a NUL character, e.g. `document.nodes.0.title`."""
    if isinstance(value, str):
        return path if NUL in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        if NUL in str(key):
            return where
        found = nul_location(item, where)
        if found is not None:
            return found
    return None


async def reject_nul_characters(request: Request, _caller: Reader) -> None:
    """422 for a NUL character in the query or in a JSON body: the database cannot store one in text."""
    for name, value in request.query_params.multi_items():
        if NUL in value:
            raise ApiError(422, "invalid_value", f"Query parameter {name!r} contains a NUL character.", field=name)
    body = await request.body()  # Starlette keeps it: the route reads the same bytes again
    if b"\\u0000" not in body.lower() and b"\x00" not in body:
        return
    try:
        where = nul_location(json.loads(body), "")
    except ValueError:
        return  # not JSON: the route's own parsing reports that
    if where is not None:
        message = f"The body contains a NUL character at {where or 'its top level'}."
        raise ApiError(422, "invalid_value", message, field=where)
