"""One webhook call from request to answer: find the hook, limit, read and check the body, start the
run once, and answer as the node's `respond` param says. HTTP-free: the web layer turns the
`HookAnswer` (or the `HookError` raised) into a response."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.config import Settings
from runtime.errors import NotFound
from runtime.executor.dispatch import run_status_url, start_run, trigger_payload
from runtime.executor.wait import RunEnd, stored_run_end, wait_for_run_end
from runtime.store import RunTrigger, get_engine
from runtime.webhooks import idempotency
from runtime.webhooks.auth import check_auth, visible_headers
from runtime.webhooks.blocking import in_thread
from runtime.webhooks.body import body_limit, check_declared_length, parse_body, read_capped
from runtime.webhooks.errors import HookError, hook_not_found
from runtime.webhooks.lookup import Hook, find_hook
from runtime.webhooks.ratelimit import rate_limiter

REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class HookRequest:
    """What the web layer hands over: the URL token, lower-cased headers, query, client address, body."""

    token: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    client: str
    body: AsyncIterator[bytes]


@dataclass(frozen=True)
class HookAnswer:
    """The answer: `status` and JSON `body`, or (when `stream_run_id` is set) the run's events as SSE."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    stream_run_id: str | None = None


async def deliver(settings: Settings, request: HookRequest, clock: Callable[[], float] = time.time) -> HookAnswer:
    """Accept one webhook call and answer it; raises `HookError` for every refusal (4xx, 500, 503)."""
    hook = await in_thread(_find_and_count, settings, request.token, request.client)
    limit = body_limit(hook.params.max_body_bytes)
    check_declared_length(request.headers.get("content-length"), limit)
    raw = await read_capped(request.body, limit)
    # The signature covers the raw bytes: check it before anything interprets them.
    check_auth(hook.params.auth, hook.credential, request.headers, raw, clock())
    body = parse_body(request.headers.get("content-type"), raw)
    trigger = trigger_payload(body, visible_headers(request.headers, hook.credential), dict(request.query))
    key = idempotency.delivery_key(request.headers)
    if key is None:
        run_id, replayed = await in_thread(_start, settings, hook, trigger), False
    else:
        run_id, replayed = await _start_once(settings, hook, key, idempotency.body_digest(raw), trigger)
    return await _answer(settings, hook, run_id, replayed)


def _find_and_count(settings: Settings, token: str, client: str) -> Hook:
    hook = find_hook(get_engine(), token)
    per_minute, burst = hook.params.rate_limit_per_minute, hook.params.rate_limit_burst
    limiter = rate_limiter(settings.redis_url)
    limiter.check(hook.id, per_minute, burst, client, settings.webhook_client_rate_limit_per_minute)
    return hook


def _start(settings: Settings, hook: Hook, trigger: dict[str, Any]) -> str:
    """Store and start the run; answered only once its row is committed."""
    try:
        run_id, _ = start_run(settings, hook.workspace_id, hook.workflow_id, trigger, RunTrigger.WEBHOOK)
    except NotFound:
        raise hook_not_found() from None
    return run_id


async def _start_once(
    settings: Settings, hook: Hook, key: str, body_hash: str, trigger: dict[str, Any]
) -> tuple[str, bool]:
    """The run for this key: started now by the first delivery, or the first delivery's (replayed=True)."""
    engine = get_engine()
    delivery_id = await in_thread(idempotency.claim_delivery, engine, settings.redis_url, hook.id, key, body_hash)
    if delivery_id is None:
        return await idempotency.first_run_id(engine, hook.id, key, body_hash), True
    try:
        run_id = await in_thread(_start, settings, hook, trigger)
    except BaseException:
        await in_thread(idempotency.release_delivery, engine, settings.redis_url, hook.id, key, delivery_id)
        raise
    await in_thread(idempotency.record_run, engine, delivery_id, run_id)
    return run_id, False


async def _answer(settings: Settings, hook: Hook, run_id: str, replayed: bool) -> HookAnswer:
    headers = {REPLAYED_HEADER: "true"} if replayed else {}
    respond = hook.params.respond
    if respond == "stream":
        return HookAnswer(200, headers=headers, stream_run_id=run_id)
    accepted = HookAnswer(202, {"run_id": run_id, "status_url": run_status_url(settings, run_id)}, headers)
    if respond == "immediately":
        return accepted
    end = await in_thread(stored_run_end, run_id) if replayed else None
    end = end or await wait_for_run_end(settings, run_id, hook.params.wait_s)
    if end is None:
        return accepted
    if end.status != "succeeded":
        raise _run_failed(run_id, end)
    return HookAnswer(200, end.output, headers)


def _run_failed(run_id: str, end: RunEnd) -> HookError:
    error = end.error or {}
    node_id = error.get("node_id")
    where = f" at node {node_id!r}" if node_id else ""
    message = f"The run {end.status}{where}: {error.get('message', 'no error message')}"
    return HookError(500, "run_failed", message, run_id=run_id, node_id=node_id, run_status=end.status)
