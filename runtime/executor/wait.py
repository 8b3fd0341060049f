"""Waiting for a run's end through its event stream, so it works whether the run executes in this
process or on a `trellis worker` (the stream is in memory or in Redis accordingly)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from runtime.config import Settings
from runtime.events import RUN_FINISHED, open_event_stream
from runtime.store import Run, RunStatus, get_engine, session_scope

FINISHED_STATUSES = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})


@dataclass(frozen=True)
class RunEnd:
    """How a run ended: its final status (`succeeded`, `failed`, `cancelled`), output and error."""

    status: str
    output: Any
    error: dict[str, Any] | None


async def wait_for_run_end(settings: Settings, run_id: str, timeout_s: float) -> RunEnd | None:
    """The run's end as its `run_finished` event tells it, or None if it has not ended within `timeout_s`."""
    stream = open_event_stream(settings)
    try:
        async with asyncio.timeout(timeout_s):
            async for event in stream.follow(run_id, idle_timeout_s=timeout_s):
                if event.type == RUN_FINISHED:
                    data = event.data
                    return RunEnd(str(data.get("status")), data.get("output"), data.get("error"))
    except TimeoutError:
        return None
    finally:
        await stream.close()
    return None


def stored_run_end(run_id: str) -> RunEnd | None:
    """The run's end as the database holds it; None while it is queued, running or waiting."""
    with session_scope(get_engine()) as session:
        run = session.get(Run, run_id)
        if run is None or run.status not in FINISHED_STATUSES:
            return None
        return RunEnd(run.status.value, run.output, run.error)
