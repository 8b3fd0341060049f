"""`EventBatcher` on a real Redis: queued events land in order, one pipeline carries many runs' events."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from runtime.events import EventBatcher, InvalidEvent, RedisEventStream


def test_events_queued_without_waiting_are_stored_in_order_per_run(redis_url: str) -> None:
    runs = [f"batch-{uuid.uuid4().hex}" for _ in range(5)]

    async def scenario() -> tuple[list[list[tuple[int, str, int]]], int]:
        stream = RedisEventStream(redis_url, ttl_s=60)
        batcher = EventBatcher(stream)
        try:
            # Given five runs each queueing 20 tokens and a finish, interleaved, none awaited but the last
            for n in range(20):
                for run_id in runs:
                    batcher.append(run_id, "node_token", "llm", {"n": n})
            await asyncio.gather(*(batcher.append(run_id, "run_finished", None, {}) for run_id in runs))
            histories = [await stream.history(run_id) for run_id in runs]
            return [[(e.seq, e.type, e.data.get("n", -1)) for e in history] for history in histories], len(runs)
        finally:
            await batcher.aclose()
            await stream.close()

    histories, count = asyncio.run(scenario())
    # Then every run has its 21 events, gap-free seqs, tokens in the order queued, finish last
    expected = [(n + 1, "node_token", n) for n in range(20)] + [(21, "run_finished", -1)]
    assert histories == [expected] * count


def test_an_invalid_event_is_refused_when_queued(redis_url: str) -> None:
    async def scenario() -> None:
        stream = RedisEventStream(redis_url, ttl_s=60)
        batcher = EventBatcher(stream)
        try:
            with pytest.raises(InvalidEvent, match="not_an_event"):
                batcher.append("batch-invalid", "not_an_event", None, {})
        finally:
            await batcher.aclose()
            await stream.close()

    asyncio.run(scenario())
