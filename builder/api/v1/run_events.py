"""`GET /api/v1/runs/{id}/events`: a run's events as Server-Sent Events, resumable with `Last-Event-ID`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from builder.api.errors import ApiError
from builder.api.sse import event_stream_response, run_events_response, sse_frame
from builder.api.v1.auth import Reader
from builder.api.v1.db import workspace_session
from builder.api.v1.models import Id, RunDetail, error_responses
from builder.api.v1.runs import FINISHED, get_run, run_detail
from runtime.config import Settings, get_settings
from runtime.events import RUN_FINISHED, Event, EventType, InvalidEventId, open_event_stream
from runtime.events.model import format_time, parse_event_id

router = APIRouter(prefix="/runs", tags=["runs"])

STORED_EVENT_MS = 0
"""Events rebuilt from stored node runs have ids `0-<seq>`, below every live stream id."""
NODE_EVENT: dict[str, EventType] = {
    "succeeded": "node_finished",
    "failed": "node_failed",
    "cancelled": "node_failed",
    "skipped": "node_skipped",
}
SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`text/event-stream`: one frame per event (`id`, `event` = its type, `data` = the event "
        "as JSON), until `run_finished`. Reconnect with `Last-Event-ID` to resume after the last frame seen.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


def checked_last_event_id(value: str | None) -> str | None:
    """`value` if it is an event id (or absent); 400 `invalid_last_event_id` naming it otherwise."""
    if value is None:
        return None
    try:
        parse_event_id(value)
    except InvalidEventId as error:
        raise ApiError(400, "invalid_last_event_id", str(error), field="Last-Event-ID", value=value) from error
    return value.strip()


def stored_events(run: RunDetail) -> list[Event]:
    """The run's events rebuilt from its stored record, for a finished run whose live stream has expired.

    Tokens and tool calls are not stored, so they are not in it; every event's data says `"stored": true`.
    """
    shapes: list[tuple[EventType, str | None, dict[str, Any]]] = [
        ("run_started", None, {"workflow_id": run.workflow_id, "trigger": run.trigger.value})
    ]
    for node in run.node_runs:
        if node.status.value in NODE_EVENT:
            data = {"attempt": node.attempt, "output": node.output, "error": (node.error or {}).get("message")}
            shapes.append((NODE_EVENT[node.status.value], node.node_id, data))
    shapes.append((RUN_FINISHED, None, {"status": run.status.value, "output": run.output, "error": run.error}))
    moment = format_time(run.finished_at or run.created_at)
    return [
        Event(id=f"{STORED_EVENT_MS}-{seq}", type=kind, run_id=run.id, node_id=node_id, seq=seq, time=moment,
              data={**data, "stored": True})
        for seq, (kind, node_id, data) in enumerate(shapes, start=1)
    ]  # fmt: skip


def after_filter(events: list[Event], after: str | None) -> list[Event]:
    """The events a client that saw `after` still needs; a live-stream id sees only the final event."""
    if after is None:
        return events
    position = parse_event_id(after)
    if position[0] > STORED_EVENT_MS:
        return events[-1:]
    return [event for event in events if parse_event_id(event.id) > position]


async def finished_run_frames(settings: Settings, run: RunDetail, after: str | None) -> AsyncIterator[str]:
    """A finished run's frames: from its stream while kept, else from its stored record; `run_finished` last."""
    stream = open_event_stream(settings)
    try:
        kept = await stream.history(run.id)
        events = await stream.history(run.id, after) if kept else after_filter(stored_events(run), after)
    finally:
        await stream.close()
    for event in events:
        yield sse_frame(event)
    if kept and all(event.type != RUN_FINISHED for event in kept):
        # The executor died before writing its last event: close the stream with what the store knows.
        yield sse_frame(stored_events(run)[-1])


def _load_run(workspace_id: str, run_id: str) -> RunDetail:
    with workspace_session() as session:
        return run_detail(session, get_run(session, workspace_id, run_id))


@router.get(
    "/{run_id}/events", response_class=StreamingResponse, responses={**SSE_RESPONSE, **error_responses(404)},
    summary="Follow a run's events (SSE)",
)  # fmt: skip
async def events(
    run_id: Id,
    caller: Reader,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=64)] = None,
) -> StreamingResponse:
    """The run's events from the start (or after `Last-Event-ID`), then live ones until `run_finished`."""
    after = checked_last_event_id(last_event_id)
    run = await run_in_threadpool(_load_run, caller.workspace_id, run_id)
    settings = get_settings()
    if run.status not in FINISHED:
        return run_events_response(settings, run_id, after)
    return event_stream_response(finished_run_frames(settings, run, after))
