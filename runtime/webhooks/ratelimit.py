"""Rate limits per hook (its node's per-minute rate and burst) and per client address, with the
`limits` library: in Redis when `TRELLIS_REDIS_URL` is set (shared by every process), else in memory.

A burst of `b` at `r` per minute is a second window: at most `b` calls in any `ceil(60 * b / r)` s
(never below `r` per minute's share of that window), so a quiet hook can take `b` at once, not `r`.
"""

from __future__ import annotations

import math
from functools import lru_cache

from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond

from runtime.ratelimit import seconds_until_allowed, shared_limiter
from runtime.webhooks.errors import HookError

NAMESPACE = "trellis-hook"


def burst_item(per_minute: int, burst: int) -> RateLimitItem:
    """At most `burst` calls (or the minute rate's share, if larger) in a window of `60 * burst / per_minute` s."""
    window_s = max(1, math.ceil(60 * burst / per_minute))
    amount = max(burst, math.ceil(per_minute * window_s / 60))
    return RateLimitItemPerSecond(amount, window_s, namespace=NAMESPACE)


class HookRateLimiter:
    """Counts calls per hook and per client address; `check` raises 429 with `Retry-After` when over."""

    def __init__(self, storage_url: str | None) -> None:
        self._limiter = shared_limiter(storage_url)

    def check(self, hook_id: str, per_minute: int, burst: int, client: str, client_per_minute: int) -> None:
        """Count one call; raise `HookError(429)` with a whole-second `retry_after` once a limit is exceeded."""
        checks = [
            (burst_item(per_minute, burst), "hook", hook_id),
            (RateLimitItemPerMinute(per_minute, namespace=NAMESPACE), "hook", hook_id),
            (RateLimitItemPerMinute(client_per_minute, namespace=NAMESPACE), "client", client),
        ]
        for item, kind, identifier in checks:
            if not self._limiter.hit(item, kind, identifier):
                retry_after = seconds_until_allowed(self._limiter, item, kind, identifier)
                who = "this webhook" if kind == "hook" else "your address"
                raise HookError(
                    429, "rate_limited", f"Too many calls to {who} (limit {item}); retry in {retry_after} s.",
                    retry_after=retry_after,
                )  # fmt: skip


@lru_cache(maxsize=4)
def rate_limiter(storage_url: str | None) -> HookRateLimiter:
    """The process-wide limiter for this storage (Redis URL, or None for memory)."""
    return HookRateLimiter(storage_url)
