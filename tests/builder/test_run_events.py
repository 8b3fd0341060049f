"""Run events read in batches for the editor, resumable after the last event seen."""

from __future__ import annotations

import asyncio

from builder.run_events import event_batches
from runtime.events import MemoryEventStream


async def collect(stream: MemoryEventStream, run_id: str, after: str | None) -> list[list[str]]:
    return [[e.type for e in batch] async for batch in event_batches(stream, run_id, after, idle_timeout_s=0.3)]


def test_a_burst_arrives_as_one_batch_and_the_run_end_closes_it() -> None:
    async def scenario() -> list[list[str]]:
        stream = MemoryEventStream()
        for node in ("a", "b", "c"):
            await stream.append("run_1", "node_finished", node, {})
        await stream.append("run_1", "run_finished", None, {"status": "succeeded"})
        return await collect(stream, "run_1", None)

    assert asyncio.run(scenario()) == [["node_finished", "node_finished", "node_finished", "run_finished"]]


def test_following_again_after_the_last_event_seen_replays_nothing_twice() -> None:
    async def scenario() -> tuple[list[list[str]], list[list[str]]]:
        stream = MemoryEventStream()
        await stream.append("run_1", "node_started", "a", {})
        first = [batch async for batch in event_batches(stream, "run_1", None, idle_timeout_s=0.3)]
        await stream.append("run_1", "node_finished", "a", {})
        later = await collect(stream, "run_1", first[-1][-1].id)
        return [[e.type for e in batch] for batch in first], later

    first, later = asyncio.run(scenario())
    assert first == [["node_started"]]
    assert later == [["node_finished"]]
