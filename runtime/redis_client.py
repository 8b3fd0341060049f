"""One pooled synchronous Redis client per URL for the whole process (connecting per call cost ~1 ms)."""

from __future__ import annotations

from functools import lru_cache

from redis import Redis


@lru_cache(maxsize=4)
def shared_redis(redis_url: str) -> Redis:
    """The process's client for `redis_url`; never close it.

    redis-py's pool notices a fork and opens new connections in the child, so this is fork-safe.
    """
    return Redis.from_url(redis_url)
