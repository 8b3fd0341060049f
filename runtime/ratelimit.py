"""Counting limits with the `limits` library: in Redis when a URL is given (shared by every process),
in memory otherwise. Webhook calls and failed sign-ins are counted here."""

from __future__ import annotations

import math
import time
from functools import lru_cache

from limits import RateLimitItem
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter


@lru_cache(maxsize=4)
def shared_limiter(storage_url: str | None) -> SlidingWindowCounterRateLimiter:
    """The process-wide sliding-window limiter over this storage (a Redis URL, or None for memory)."""
    return SlidingWindowCounterRateLimiter(storage_from_string(storage_url or "memory://"))


def seconds_until_allowed(limiter: SlidingWindowCounterRateLimiter, item: RateLimitItem, *identifiers: str) -> int:
    """Whole seconds (at least 1) until the window of `item` for `identifiers` lets a call through again."""
    reset_at = limiter.get_window_stats(item, *identifiers).reset_time
    return max(1, math.ceil(reset_at - time.time()))
