"""Ops endpoints: `/metrics` (Prometheus), `/healthz` (the process answers), `/readyz` (it can work)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from builder.api.errors import ApiError, error_response
from builder.api.policy import public
from runtime.config import get_settings
from runtime.ops import database_problem, redis_problem, render_metrics

router = APIRouter(tags=["ops"])


class Ready(BaseModel):
    """Every dependency answered."""

    status: Literal["ready"]


class NotReady(BaseModel):
    """A dependency did not answer: which ones, and how."""

    error: Literal["not_ready"]
    message: str
    unreachable: list[Literal["database", "redis"]]


READY_TIMEOUT_S = 1.5
"""A dependency that has not answered by then counts as unreachable (probes must answer quickly)."""


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics of every Trellis process on this host",
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}}},
    openapi_extra=public("scraped by Prometheus; no workspace data, kept off the Ingress"),
)
async def metrics() -> Response:
    """Counters and histograms summed over the web, worker and work-horse processes, plus queue gauges."""
    body = await asyncio.to_thread(render_metrics, get_settings())
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz", summary="Liveness: the process answers", openapi_extra=public("a probe; answers only ok"))
async def healthz() -> dict[str, str]:
    """Always 200 while the process serves requests; it checks nothing else."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database and Redis (when configured) answer",
    response_model=Ready,
    responses={503: {"description": "A dependency is unreachable", "model": NotReady}},
    openapi_extra=public("a probe; names only which dependency is down"),
)
async def readyz() -> JSONResponse:
    """200 `{"status": "ready"}`, or 503 `{"error": "not_ready", "message", "unreachable": ["database"|"redis"]}`."""
    settings = get_settings()
    checks: list[tuple[str, Callable[[], str | None]]] = [
        ("database", database_problem),
        ("redis", lambda: redis_problem(settings)),
    ]
    answers = await asyncio.gather(*(_within_deadline(name, check) for name, check in checks))
    unreachable = {name: problem for (name, _), problem in zip(checks, answers, strict=True) if problem}
    if unreachable:
        message = "; ".join(unreachable.values())
        return error_response(ApiError(503, "not_ready", message, unreachable=sorted(unreachable)))
    return JSONResponse({"status": "ready"})


async def _within_deadline(name: str, check: Callable[[], str | None]) -> str | None:
    try:
        return await asyncio.wait_for(asyncio.to_thread(check), READY_TIMEOUT_S)
    except TimeoutError:
        return f"{name} unreachable (no answer within {READY_TIMEOUT_S:g} s)"
