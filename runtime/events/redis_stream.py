"""`RedisEventStream`: one Redis Stream per run, so any process can append and any late reader replays.

Keys: `trellis:run:{run_id}:events` (the stream) and `trellis:run:{run_id}:seq` (its counter). Both
expire `ttl_s` after the last append; the stream is never trimmed, because trimming a live stream
would invalidate the cursors of readers that reconnect.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from runtime.events.model import RUN_FINISHED, Event, check_event, format_time, parse_event_id

PAGE_SIZE = 500
"""Entries fetched per XRANGE / XREAD call."""
BLOCK_MS = 15_000
"""Longest single XREAD BLOCK; a follower with no idle timeout simply blocks again."""

# INCR and XADD in one script: concurrent appenders can neither share a seq nor store seqs out of order.
_APPEND_SCRIPT = """
local seq = redis.call('INCR', KEYS[2])
local id = redis.call('XADD', KEYS[1], '*', 'seq', seq, 'type', ARGV[1], 'node_id', ARGV[2], 'data', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {seq, id}
"""


CheckedEvent = tuple[str, str, str | None, str]
"""`(run_id, type, node_id, data_json)` where `data_json` came from `check_event`."""


def events_key(run_id: str) -> str:
    """The Redis key of the run's event stream."""
    return f"trellis:run:{run_id}:events"


def seq_key(run_id: str) -> str:
    """The Redis key of the run's event counter."""
    return f"trellis:run:{run_id}:seq"


class RedisEventStream:
    """Run event streams in Redis; give a URL (the stream owns and closes its client) or a `redis.asyncio.Redis`.

    A client is bound to the event loop that first uses it: open one stream per loop.
    """

    def __init__(self, redis: str | Redis, *, ttl_s: float = 3600) -> None:
        self._owns_client = isinstance(redis, str)
        self._redis: Redis = Redis.from_url(redis, decode_responses=True) if isinstance(redis, str) else redis
        self._ttl_ms = max(1, round(ttl_s * 1000))
        self._append_script = self._redis.register_script(_APPEND_SCRIPT)

    async def append(
        self, run_id: str, type: str, node_id: str | None = None, data: dict[str, Any] | None = None
    ) -> Event:
        """Add an event to the run's stream and return it with its entry `id`, `seq` and `time`."""
        data_json = check_event(run_id, type, node_id, data)
        seq, entry_id = await self._append_script(
            keys=[events_key(run_id), seq_key(run_id)], args=[type, node_id or "", data_json, self._ttl_ms]
        )
        fields = {"seq": seq, "type": type, "node_id": node_id or "", "data": data_json}
        return _event(run_id, entry_id, fields)

    async def append_checked(self, entries: Sequence[CheckedEvent]) -> list[Event | Exception]:
        """Add events already passed through `check_event`, in order, with one round trip; returns each
        stored event, or the Redis error that kept it out."""
        async with self._redis.pipeline(transaction=False) as pipeline:
            for run_id, type, node_id, data_json in entries:
                keys, args = [events_key(run_id), seq_key(run_id)], [type, node_id or "", data_json, self._ttl_ms]
                await self._append_script(keys=keys, args=args, client=pipeline)
            replies = await pipeline.execute(raise_on_error=False)
        results: list[Event | Exception] = []
        for (run_id, type, node_id, data_json), reply in zip(entries, replies, strict=True):
            if isinstance(reply, Exception):
                results.append(reply)
                continue
            seq, entry_id = reply
            results.append(_event(run_id, entry_id, {"seq": seq, "type": type, "node_id": node_id or "",
                                                     "data": data_json}))  # fmt: skip
        return results

    async def history(self, run_id: str, after: str | None = None) -> list[Event]:
        """The run's events in order; only those after the event with id `after` when it is given."""
        events: list[Event] = []
        async for event in self._replay(run_id, after):
            events.append(event)
        return events

    async def follow(
        self, run_id: str, after: str | None = None, *, idle_timeout_s: float | None = None
    ) -> AsyncIterator[Event]:
        """The history after `after`, then live events; ends after `run_finished` or `idle_timeout_s` of silence."""
        cursor = "0-0" if after is None else _checked_id(after)
        async for event in self._replay(run_id, cursor):
            yield event
            cursor = event.id
            if event.type == RUN_FINISHED:
                return
        deadline = None if idle_timeout_s is None else time.monotonic() + idle_timeout_s
        while True:
            block_ms = _block_ms(deadline)
            if block_ms is None:
                return
            reply = await self._redis.xread({events_key(run_id): cursor}, count=PAGE_SIZE, block=block_ms)
            entries = _stream_entries(reply)
            for entry_id, fields in entries:
                event = _event(run_id, entry_id, fields)
                yield event
                cursor = event.id
                if event.type == RUN_FINISHED:
                    return
            if entries and idle_timeout_s is not None:
                deadline = time.monotonic() + idle_timeout_s

    async def close(self) -> None:
        """Close the client when this stream created it from a URL; a client passed in stays open."""
        if self._owns_client:
            await self._redis.aclose()

    async def _replay(self, run_id: str, after: str | None) -> AsyncIterator[Event]:
        """Stored events after `after` (all when None), read page by page with XRANGE."""
        low = "-" if after is None else f"({_checked_id(after)}"
        while True:
            entries = await self._redis.xrange(events_key(run_id), min=low, max="+", count=PAGE_SIZE)
            for entry_id, fields in entries:
                yield _event(run_id, entry_id, fields)
            if len(entries) < PAGE_SIZE:
                return
            low = f"({_text(entries[-1][0])}"


def _checked_id(after: str) -> str:
    """`after` as a full `ms-n` stream id; raises `InvalidEventId` when it is not one."""
    ms, n = parse_event_id(after)
    return f"{ms}-{n}"


def _block_ms(deadline: float | None) -> int | None:
    """How long the next XREAD may block, or None once the idle deadline has passed."""
    if deadline is None:
        return BLOCK_MS
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return None
    # BLOCK 0 would mean "forever", so never round down to it.
    return max(1, min(BLOCK_MS, int(remaining * 1000)))


def _stream_entries(reply: Any) -> Sequence[tuple[Any, Mapping[Any, Any]]]:
    """The entries of a one-stream XREAD reply, in RESP2 (list) or RESP3 (dict) shape."""
    if not reply:
        return []
    if isinstance(reply, Mapping):
        return next(iter(reply.values()))[0]
    return reply[0][1]


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _event(run_id: str, entry_id: str | bytes, fields: Mapping[Any, Any]) -> Event:
    """The event stored as entry `entry_id`; its time is the millisecond part of the entry id."""
    values = {_text(key): _text(value) if isinstance(value, bytes) else value for key, value in fields.items()}
    entry = _text(entry_id)
    millis = int(entry.split("-", 1)[0])
    return Event(
        id=entry,
        type=values["type"],
        run_id=run_id,
        node_id=values["node_id"] or None,
        seq=int(values["seq"]),
        time=format_time(datetime.fromtimestamp(millis / 1000, UTC)),
        data=json.loads(values["data"]),
    )
