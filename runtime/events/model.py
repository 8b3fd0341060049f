"""What a run's event stream holds (`Event`), the contract every stream keeps (`EventStream`), and its checks."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict

from runtime.errors import WorkflowError

EventType = Literal[
    "run_started",
    "run_resumed",
    "node_started",
    "node_token",
    "node_finished",
    "node_failed",
    "node_skipped",
    "tool_call",
    "tool_result",
    "run_finished",
]
EVENT_TYPES: frozenset[str] = frozenset(get_args(EventType))
"""Every event type a stream accepts; anything else is refused by `append`."""

RUN_FINISHED = "run_finished"
"""The last event of a run: `follow` ends right after yielding it."""

_ID_PATTERN = re.compile(r"(\d+)(?:-(\d+))?")


class InvalidEvent(WorkflowError, ValueError):
    """An event was refused before it reached the stream: unknown type or data that is not JSON."""


class InvalidEventId(WorkflowError, ValueError):
    """A resume cursor (`after`, SSE `Last-Event-ID`) is not an event id."""


class Event(BaseModel):
    """One event of one run, as stored in and read back from its stream."""

    model_config = ConfigDict(frozen=True)

    id: str
    """The stream entry id: the SSE `id:`, and the `after` / `Last-Event-ID` to resume after this event."""
    type: EventType
    run_id: str
    node_id: str | None
    """The node the event is about; None for run-level events."""
    seq: int
    """1, 2, 3 ... within the run, in stream order, without gaps."""
    time: str
    """When the stream accepted the event: UTC ISO-8601 with milliseconds, e.g. `2025-01-31T09:15:02.120Z`."""
    data: dict[str, Any]


class EventStream(Protocol):
    """Per-run, append-only event streams that late readers can replay and then follow live."""

    async def append(
        self, run_id: str, type: str, node_id: str | None = None, data: dict[str, Any] | None = None
    ) -> Event:
        """Add an event to the run's stream and return it with its `id`, `seq` and `time` assigned."""
        ...

    async def history(self, run_id: str, after: str | None = None) -> list[Event]:
        """The run's events in order; only those after the event with id `after` when it is given."""
        ...

    def follow(
        self, run_id: str, after: str | None = None, *, idle_timeout_s: float | None = None
    ) -> AsyncIterator[Event]:
        """The history after `after`, then live events; ends after `run_finished` or `idle_timeout_s` of silence."""
        ...

    async def close(self) -> None:
        """Release what this handle holds (connections it opened); the streams themselves stay."""
        ...


def check_event(run_id: str, type: str, node_id: str | None, data: dict[str, Any] | None) -> str:
    """The event's data as JSON text; raises `InvalidEvent` naming the run, node and what is wrong."""
    where = f"run {run_id!r}" + (f", node {node_id!r}" if node_id else "")
    if type not in EVENT_TYPES:
        known = ", ".join(sorted(EVENT_TYPES))
        raise InvalidEvent(f"Event type {type!r} ({where}) is not one of: {known}.")
    if data is not None and not isinstance(data, dict):
        raise InvalidEvent(f"Data of the {type!r} event ({where}) must be an object, got {data!r}.")
    try:
        return json.dumps(data or {}, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise InvalidEvent(f"Data of the {type!r} event ({where}) cannot be written as JSON: {error}.") from error


def parse_event_id(after: str) -> tuple[int, int]:
    """The two numbers of an event id such as `1712345678901-0` (or `17`); raises `InvalidEventId`."""
    match = _ID_PATTERN.fullmatch(after.strip()) if isinstance(after, str) else None
    if match is None:
        raise InvalidEventId(f"{after!r} is not an event id; expected the id of an event, such as '1712345678901-0'.")
    return int(match.group(1)), int(match.group(2) or 0)


def format_time(moment: datetime) -> str:
    """`moment` as UTC ISO-8601 with milliseconds and a `Z` suffix."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
