"""A `backend` fixture that runs each event-stream test once in memory and once on a real Redis.

Redis is required, not optional: when unreachable the Redis half fails with the URL it tried.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
import redis

from runtime.events import EventStream, MemoryEventStream, RedisEventStream

REDIS_URL_ENV = "TRELLIS_TEST_REDIS_URL"


@dataclass
class Backend:
    """Opens event streams of one kind; run ids it hands out are unique to the test."""

    name: str
    prefix: str
    redis_url: str | None
    memory: dict[float, MemoryEventStream] = field(default_factory=dict)

    def run_id(self, label: str) -> str:
        """A run id unique to this test, so Redis keys never collide and are easy to delete."""
        return f"{self.prefix}-{label}"

    def open(self, ttl_s: float = 60) -> EventStream:
        """A stream handle; in memory, every handle with the same TTL shares one store, like Redis clients do."""
        if self.redis_url is not None:
            return RedisEventStream(self.redis_url, ttl_s=ttl_s)
        if ttl_s not in self.memory:
            self.memory[ttl_s] = MemoryEventStream(ttl_s=ttl_s)
        return self.memory[ttl_s]

    @asynccontextmanager
    async def stream(self, ttl_s: float = 60) -> AsyncIterator[EventStream]:
        """An open stream, closed on exit; call inside the event loop that uses it."""
        stream = self.open(ttl_s)
        try:
            yield stream
        finally:
            await stream.close()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the test Redis database (`TRELLIS_TEST_REDIS_URL`); fails when Redis is unreachable."""
    url = os.environ.get(REDIS_URL_ENV, "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis is unreachable at {url} (set {REDIS_URL_ENV}): {error}", pytrace=False)
    finally:
        client.close()
    return url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A synchronous client on the test database, for looking at keys from outside the stream."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def redis_backend(redis_url: str, redis_client: redis.Redis) -> Iterator[Backend]:
    """Redis event streams on the test database; the test's keys are deleted after it."""
    backend = Backend("redis", _unique_prefix(), redis_url)
    yield backend
    keys = list(redis_client.scan_iter(match=f"trellis:run:{backend.prefix}-*"))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """The same test against `MemoryEventStream` and `RedisEventStream`."""
    if request.param == "memory":
        return Backend("memory", _unique_prefix(), None)
    return request.getfixturevalue("redis_backend")


def _unique_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"
