"""A run's events as Server-Sent Events, shared by `GET /api/v1/runs/{id}/events` and `stream` webhooks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse

from runtime.config import Settings
from runtime.events import Event, open_event_stream

KEEPALIVE_S = 15.0
"""Seconds of silence after which a comment line keeps proxies from closing the connection."""


def sse_frame(event: Event) -> str:
    """One SSE frame: `id` is the event id (what `Last-Event-ID` resumes after), `event` its type."""
    payload = event.model_dump(mode="json")
    return f"id: {event.id}\nevent: {event.type}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n"


async def run_event_frames(settings: Settings, run_id: str, after: str | None) -> AsyncIterator[str]:
    """The run's events after `after` as SSE frames, live until `run_finished`, with keep-alive comments."""
    stream = open_event_stream(settings)
    try:
        while True:
            last = after
            async for event in stream.follow(run_id, after, idle_timeout_s=KEEPALIVE_S):
                yield sse_frame(event)
                last = event.id
                if event.type == "run_finished":
                    return
            after = last
            yield ": keep-alive\n\n"
    finally:
        await stream.close()


def run_events_response(settings: Settings, run_id: str, after: str | None = None) -> StreamingResponse:
    """A streaming `text/event-stream` answer replaying the run's events after `after`, then following it.

    `after` is checked by the stream (`InvalidEventId` for a malformed one): callers validate it first.
    """
    return event_stream_response(run_event_frames(settings, run_id, after))


def event_stream_response(frames: AsyncIterator[str]) -> StreamingResponse:
    """A `text/event-stream` answer sending `frames`, with nothing in between allowed to cache or buffer it."""
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(frames, media_type="text/event-stream", headers=headers)
