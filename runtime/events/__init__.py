"""Run event streams: every run's events in order, replayable by late readers and followed live.

`open_event_stream(settings)` picks the implementation: Redis Streams when `TRELLIS_REDIS_URL` is
set, else one in-process stream shared by the whole process.
"""

from __future__ import annotations

import threading

from runtime.config import Settings
from runtime.events.batch import EventBatcher
from runtime.events.memory import MemoryEventStream
from runtime.events.model import (
    EVENT_TYPES,
    RUN_FINISHED,
    Event,
    EventStream,
    EventType,
    InvalidEvent,
    InvalidEventId,
)
from runtime.events.redis_stream import RedisEventStream, events_key, seq_key

__all__ = [
    "EVENT_TYPES",
    "RUN_FINISHED",
    "Event",
    "EventBatcher",
    "EventStream",
    "EventType",
    "InvalidEvent",
    "InvalidEventId",
    "MemoryEventStream",
    "RedisEventStream",
    "events_key",
    "open_event_stream",
    "seq_key",
]

_memory_lock = threading.Lock()
_memory_stream: MemoryEventStream | None = None


def open_event_stream(settings: Settings) -> EventStream:
    """A `RedisEventStream` on `settings.redis_url` (call it inside the loop that uses it, close it after),
    or, without Redis, the process-wide `MemoryEventStream` (the same object on every call).
    """
    if settings.redis_url:
        return RedisEventStream(settings.redis_url, ttl_s=settings.event_stream_ttl_s)
    global _memory_stream
    with _memory_lock:
        if _memory_stream is None:
            _memory_stream = MemoryEventStream(ttl_s=settings.event_stream_ttl_s)
        return _memory_stream
