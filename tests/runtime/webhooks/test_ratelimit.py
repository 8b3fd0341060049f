"""Rate limits: per hook (rate and burst) and per client address, in memory and in Redis."""

from __future__ import annotations

import uuid

import pytest

from runtime.webhooks.errors import HookError
from runtime.webhooks.ratelimit import HookRateLimiter, burst_item


def calls_allowed(limiter: HookRateLimiter, hook_id: str, client: str, *, per_minute: int, burst: int,
                  client_per_minute: int, attempts: int) -> tuple[int, list[HookError]]:  # fmt: skip
    allowed, refusals = 0, []
    for _ in range(attempts):
        try:
            limiter.check(hook_id, per_minute, burst, client, client_per_minute)
            allowed += 1
        except HookError as error:
            refusals.append(error)
    return allowed, refusals


def test_the_burst_window_scales_with_the_rate() -> None:
    assert (burst_item(60, 20).amount, burst_item(60, 20).get_expiry()) == (20, 20)
    # A fast hook's burst window never drops below one second nor below its per-second share.
    assert (burst_item(60_000, 20).amount, burst_item(60_000, 20).get_expiry()) == (1000, 1)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_a_quiet_hook_takes_its_burst_then_answers_429_with_retry_after(backend: str, request) -> None:  # type: ignore[no-untyped-def]
    storage = request.getfixturevalue("redis_url") if backend == "redis" else None
    limiter = HookRateLimiter(storage)
    hook_id = f"hook_{uuid.uuid4().hex}"

    allowed, refusals = calls_allowed(limiter, hook_id, "10.0.0.1", per_minute=60, burst=20,
                                      client_per_minute=10_000, attempts=100)  # fmt: skip

    assert allowed == 20 and len(refusals) == 80
    assert all(r.status == 429 and r.code == "rate_limited" and r.retry_after >= 1 for r in refusals)
    # Another hook is counted apart.
    other, _ = calls_allowed(limiter, f"hook_{uuid.uuid4().hex}", "10.0.0.1", per_minute=60, burst=20,
                             client_per_minute=10_000, attempts=5)  # fmt: skip
    assert other == 5


def test_one_client_address_is_limited_over_all_hooks() -> None:
    limiter = HookRateLimiter(None)
    client = f"10.1.{uuid.uuid4().int % 250}.1"
    allowed = 0
    for i in range(30):
        try:
            limiter.check(f"hook_{i}", 600, 600, client, 25)
            allowed += 1
        except HookError as error:
            assert "your address" in error.message
    assert allowed == 25
