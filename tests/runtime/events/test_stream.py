"""Run event streams, each test once in memory and once on real Redis: order, replay, resume, expiry."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis

from runtime.events import (
    Event,
    EventStream,
    InvalidEvent,
    InvalidEventId,
    MemoryEventStream,
    events_key,
    seq_key,
)
from runtime.events.model import parse_event_id
from tests.runtime.events.conftest import Backend

TIME_FORMAT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a test scenario on a fresh event loop, with a cap so a hung follower fails instead of hanging."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout=10))


async def collect(stream: EventStream, run_id: str, after: str | None = None, **options: Any) -> list[Event]:
    return [event async for event in stream.follow(run_id, after, **options)]


def test_seq_is_gap_free_and_ordered_under_50_concurrent_appenders(backend: Backend) -> None:
    """50 appenders (10 tasks on each of 5 threads with their own loops) never share or skip a seq."""
    run_id = backend.run_id("busy")

    async def appenders(thread: int) -> list[Event]:
        async def appender(number: int) -> list[Event]:
            return [await stream.append(run_id, "node_token", "llm", {"who": number, "n": n}) for n in range(4)]

        async with backend.stream() as stream:
            batches = await asyncio.gather(*(appender(thread * 10 + task) for task in range(10)))
        return [event for batch in batches for event in batch]

    with ThreadPoolExecutor(max_workers=5) as pool:
        appended = [event for events in pool.map(lambda t: asyncio.run(appenders(t)), range(5)) for event in events]

    async def read() -> list[Event]:
        async with backend.stream() as stream:
            return await stream.history(run_id)

    history = run(read())
    assert [event.seq for event in history] == list(range(1, 201))
    ids = [parse_event_id(event.id) for event in history]
    assert ids == sorted(ids) and len(set(ids)) == 200
    assert sorted(appended, key=lambda event: event.seq) == history
    for number in range(50):
        assert [event.data["n"] for event in history if event.data["who"] == number] == [0, 1, 2, 3]


def test_late_reader_gets_history_then_live_events_and_stops_after_run_finished(backend: Backend) -> None:
    run_id = backend.run_id("late")

    async def scenario() -> tuple[list[Event], list[Event]]:
        async with backend.stream() as stream:
            await stream.append(run_id, "run_started", data={"input": {"url": "https://example.com"}})
            await stream.append(run_id, "node_started", "fetch")
            await stream.append(run_id, "node_token", "fetch", {"text": "Hel"})
            caught_up = asyncio.Event()
            seen: list[Event] = []

            async def reader() -> None:
                async for event in stream.follow(run_id):
                    seen.append(event)
                    if len(seen) == 3:
                        caught_up.set()

            task = asyncio.create_task(reader())
            await asyncio.wait_for(caught_up.wait(), 2)
            await stream.append(run_id, "node_finished", "fetch", {"output": {"status": 200}})
            await stream.append(run_id, "run_finished", data={"status": "succeeded"})
            await asyncio.wait_for(task, 2)  # No idle timeout: only run_finished can end it.
            await stream.append(run_id, "node_started", "late")
            return seen, await stream.history(run_id)

    seen, history = run(scenario())
    assert [(event.type, event.node_id) for event in seen] == [
        ("run_started", None),
        ("node_started", "fetch"),
        ("node_token", "fetch"),
        ("node_finished", "fetch"),
        ("run_finished", None),
    ]
    assert seen == history[:5] and len(history) == 6
    assert seen[0].data == {"input": {"url": "https://example.com"}}
    assert seen[3].data == {"output": {"status": 200}}
    assert all(TIME_FORMAT.fullmatch(event.time) and event.run_id == run_id for event in seen)


def test_resuming_after_an_id_gives_exactly_the_later_events(backend: Backend) -> None:
    run_id = backend.run_id("resume")

    async def scenario() -> tuple[list[Event], list[Event], list[Event], list[Event]]:
        async with backend.stream() as stream:
            appended = [await stream.append(run_id, "node_token", "llm", {"text": str(n)}) for n in range(6)]
            later = await stream.history(run_id, after=appended[2].id)
            after_last = await stream.history(run_id, after=appended[-1].id)
            follower = asyncio.create_task(collect(stream, run_id, after=appended[2].id))
            appended.append(await stream.append(run_id, "run_finished"))
            return appended, later, after_last, await follower

    appended, later, after_last, followed = run(scenario())
    assert later == appended[3:6]
    assert after_last == []
    assert followed == appended[3:]


def test_follow_ends_after_the_idle_timeout_with_nothing_new(backend: Backend) -> None:
    run_id = backend.run_id("idle")

    async def scenario() -> tuple[list[Event], float]:
        async with backend.stream() as stream:
            await stream.append(run_id, "run_started")
            started = time.monotonic()
            follower = asyncio.create_task(collect(stream, run_id, idle_timeout_s=0.3))
            await asyncio.sleep(0.2)
            await stream.append(run_id, "node_started", "wait")  # Resets the idle clock.
            events = await follower
            return events, time.monotonic() - started

    events, elapsed = run(scenario())
    assert [event.type for event in events] == ["run_started", "node_started"]
    assert 0.45 <= elapsed < 2


def test_a_run_is_forgotten_ttl_after_its_last_event(backend: Backend) -> None:
    run_id = backend.run_id("ttl")

    async def scenario() -> tuple[list[int], list[int], Event]:
        async with backend.stream(ttl_s=0.4) as stream:
            await stream.append(run_id, "run_started")
            await asyncio.sleep(0.25)
            await stream.append(run_id, "node_started", "a")
            await asyncio.sleep(0.25)
            kept = [event.seq for event in await stream.history(run_id)]
            await asyncio.sleep(0.3)
            gone = [event.seq for event in await stream.history(run_id)]
            return kept, gone, await stream.append(run_id, "run_started")

    kept, gone, fresh = run(scenario())
    assert kept == [1, 2], "the second append should have renewed the first event's lease"
    assert gone == []
    assert fresh.seq == 1


def test_redis_keys_expire_after_the_configured_ttl(redis_backend: Backend, redis_client: redis.Redis) -> None:
    run_id = redis_backend.run_id("keys")

    async def scenario() -> None:
        async with redis_backend.stream(ttl_s=120) as stream:
            await stream.append(run_id, "run_started")

    run(scenario())
    for key in (events_key(run_id), seq_key(run_id)):
        assert 110 <= redis_client.ttl(key) <= 120, key
    assert redis_client.xlen(events_key(run_id)) == 1


def test_unknown_types_bad_data_and_bad_cursors_are_refused(backend: Backend) -> None:
    run_id = backend.run_id("refused")

    async def scenario() -> tuple[list[str], Event]:
        errors: list[str] = []
        async with backend.stream() as stream:
            for type_, data in [("node_exploded", None), ("node_finished", {"when": object()}), ("node_token", [1])]:
                with pytest.raises(InvalidEvent) as caught:
                    await stream.append(run_id, type_, "fetch", data)
                errors.append(str(caught.value))
            with pytest.raises(InvalidEventId, match="'abc' is not an event id"):
                await stream.history(run_id, after="abc")
            with pytest.raises(InvalidEventId):
                await collect(stream, run_id, after="12-x")
            return errors, await stream.append(run_id, "run_started")

    errors, first = run(scenario())
    assert "'node_exploded'" in errors[0] and "node 'fetch'" in errors[0] and "run_finished" in errors[0]
    assert "cannot be written as JSON" in errors[1]
    assert "must be an object" in errors[2]
    assert first.seq == 1, "refused events must not be stored or use up a seq"


def test_an_append_on_another_threads_loop_wakes_a_waiting_follower(backend: Backend) -> None:
    run_id = backend.run_id("threads")

    async def append_from_other_loop() -> None:
        async with backend.stream() as stream:
            await stream.append(run_id, "run_started")
            await stream.append(run_id, "run_finished")

    async def scenario() -> tuple[list[Event], float]:
        async with backend.stream() as stream:
            follower = asyncio.create_task(collect(stream, run_id, idle_timeout_s=5))
            await asyncio.sleep(0.1)  # Let the follower find nothing and start waiting.
            started = time.monotonic()
            appender = threading.Thread(target=asyncio.run, args=(append_from_other_loop(),))
            appender.start()
            events = await follower
            appender.join()
            return events, time.monotonic() - started

    events, elapsed = run(scenario())
    assert [event.type for event in events] == ["run_started", "run_finished"]
    assert elapsed < 1, "the follower slept until its idle timeout instead of being woken"


def test_events_of_two_runs_never_mix(backend: Backend) -> None:
    first, second = backend.run_id("one"), backend.run_id("two")

    async def scenario() -> dict[str, tuple[list[Event], list[Event]]]:
        async with backend.stream() as stream:
            followers = {run_id: asyncio.create_task(collect(stream, run_id)) for run_id in (first, second)}

            async def produce(run_id: str, count: int) -> None:
                for n in range(count):
                    await stream.append(run_id, "node_token", "llm", {"run": run_id, "n": n})
                await stream.append(run_id, "run_finished")

            await asyncio.gather(produce(first, 20), produce(second, 30))
            return {run_id: (await task, await stream.history(run_id)) for run_id, task in followers.items()}

    results = run(scenario())
    for run_id, count in ((first, 20), (second, 30)):
        followed, history = results[run_id]
        assert followed == history
        assert [event.seq for event in history] == list(range(1, count + 2))
        assert {event.run_id for event in history} == {run_id}
        assert [event.data["n"] for event in history[:-1]] == list(range(count))


def test_memory_keeps_a_followed_run_past_its_ttl() -> None:
    """A page left open on a long approval wait must not lose its place when the run goes quiet."""
    stream = MemoryEventStream(ttl_s=0.2)

    async def scenario() -> list[Event]:
        follower = asyncio.create_task(collect(stream, "approval-wait", idle_timeout_s=2))
        await stream.append("approval-wait", "node_started", "approve")
        await asyncio.sleep(0.3)
        await stream.append("approval-wait", "run_finished")
        return await follower

    assert [(event.type, event.seq) for event in run(scenario())] == [("node_started", 1), ("run_finished", 2)]
