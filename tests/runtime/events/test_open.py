"""Choosing the event stream from settings, and a Redis stream on a client the caller owns."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from runtime.config import Settings
from runtime.events import MemoryEventStream, RedisEventStream, open_event_stream
from tests.runtime.events.conftest import Backend


def test_without_redis_every_caller_shares_one_memory_stream() -> None:
    settings = Settings(redis_url=None)

    async def scenario() -> list[str]:
        writer, reader = open_event_stream(settings), open_event_stream(settings)
        await writer.append("shared-run", "run_started")
        await writer.close()  # Closing one handle must not drop the shared streams.
        return [event.type for event in await reader.history("shared-run")]

    assert isinstance(open_event_stream(settings), MemoryEventStream)
    assert open_event_stream(settings) is open_event_stream(settings)
    assert asyncio.run(scenario()) == ["run_started"]


def test_with_redis_url_events_go_to_redis_with_the_configured_ttl(redis_backend: Backend) -> None:
    settings = Settings(redis_url=redis_backend.redis_url, event_stream_ttl_s=90)
    run_id = redis_backend.run_id("settings")

    async def scenario() -> tuple[bool, list[str], int]:
        stream = open_event_stream(settings)
        await stream.append(run_id, "run_started")
        await stream.close()
        client = Redis.from_url(settings.redis_url)
        ttl = await client.ttl(f"trellis:run:{run_id}:events")
        await client.aclose()
        reader = RedisEventStream(redis_backend.redis_url)
        types = [event.type for event in await reader.history(run_id)]
        await reader.close()
        return isinstance(stream, RedisEventStream), types, ttl

    is_redis, types, ttl = asyncio.run(scenario())
    assert is_redis and types == ["run_started"]
    assert 80 <= ttl <= 90


def test_a_callers_bytes_client_works_and_stays_open(redis_backend: Backend) -> None:
    run_id = redis_backend.run_id("bytes")

    async def scenario() -> tuple[list[tuple[str, str | None, dict[str, str]]], bool]:
        client = Redis.from_url(redis_backend.redis_url)  # decode_responses=False: replies are bytes.
        stream = RedisEventStream(client)
        await stream.append(run_id, "tool_call", "agent", {"tool": "search", "query": "café"})
        await stream.append(run_id, "run_finished")
        events = [(event.type, event.node_id, event.data) async for event in stream.follow(run_id)]
        await stream.close()
        still_open = await client.ping()
        await client.aclose()
        return events, still_open

    events, still_open = asyncio.run(scenario())
    assert events == [("tool_call", "agent", {"tool": "search", "query": "café"}), ("run_finished", None, {})]
    assert still_open
