"""A run's events in small batches, so the editor applies a burst of events in one state update."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from runtime.events import Event, EventStream

GATHER_S = 0.02
"""How long to wait for more events after the first of a batch: adds at most this to a badge's latency."""
MAX_BATCH = 500


async def event_batches(
    stream: EventStream, run_id: str, after: str | None, idle_timeout_s: float
) -> AsyncIterator[list[Event]]:
    """The run's events after `after`, in batches of those that arrive within `GATHER_S` of each other;
    ends after `run_finished` or `idle_timeout_s` of silence."""
    queue: asyncio.Queue[Event | None] = asyncio.Queue()

    async def read() -> None:
        try:
            async for event in stream.follow(run_id, after, idle_timeout_s=idle_timeout_s):
                await queue.put(event)
        finally:
            await queue.put(None)

    reader = asyncio.create_task(read())
    try:
        ended = False
        while not ended:
            first = await queue.get()
            if first is None:
                return
            batch = [first]
            await asyncio.sleep(GATHER_S)
            while not queue.empty() and len(batch) < MAX_BATCH:
                item = queue.get_nowait()
                if item is None:
                    ended = True
                    break
                batch.append(item)
            yield batch
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
