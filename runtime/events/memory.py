"""`MemoryEventStream`: run event streams inside one process, for the zero-setup (no Redis) mode.

Appends may come from any thread and any event loop (the in-process executor runs workflows on a
background loop while the web server's loop serves readers), so shared state sits behind a
`threading.Lock` and readers are woken with `call_soon_threadsafe` on their own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runtime.events.model import RUN_FINISHED, Event, check_event, format_time, parse_event_id


@dataclass(frozen=True)
class _Record:
    seq: int
    type: str
    node_id: str | None
    time: str
    data: str
    """JSON text: every reader gets its own copy, as it would from Redis."""


@dataclass(eq=False)
class _Waiter:
    loop: asyncio.AbstractEventLoop
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        # A closed loop means the reader is gone; nothing is left to wake.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.wake.set)


@dataclass(eq=False)
class _Run:
    records: list[_Record] = field(default_factory=list)
    expires_at: float = 0.0
    waiters: set[_Waiter] = field(default_factory=set)


class MemoryEventStream:
    """Event streams held in this process; a run is forgotten `ttl_s` seconds after its last event."""

    def __init__(self, *, ttl_s: float = 3600) -> None:
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._next_sweep = 0.0

    async def append(
        self, run_id: str, type: str, node_id: str | None = None, data: dict[str, Any] | None = None
    ) -> Event:
        """Add an event to the run's stream and return it with its `id` (`"{seq}-0"`), `seq` and `time`."""
        data_json = check_event(run_id, type, node_id, data)
        now = time.monotonic()
        with self._lock:
            self._sweep(now)
            run = self._live_run(run_id, now, create=True)
            record = _Record(len(run.records) + 1, type, node_id, format_time(datetime.now(UTC)), data_json)
            run.records.append(record)
            run.expires_at = now + self._ttl_s
            waiters = list(run.waiters)
        for waiter in waiters:
            waiter.notify()
        return _event(run_id, record)

    async def history(self, run_id: str, after: str | None = None) -> list[Event]:
        """The run's events in order; only those after the event with id `after` when it is given."""
        return self._events_after(run_id, _after_seq(after))

    async def follow(
        self, run_id: str, after: str | None = None, *, idle_timeout_s: float | None = None
    ) -> AsyncIterator[Event]:
        """The history after `after`, then live events; ends after `run_finished` or `idle_timeout_s` of silence."""
        last_seq = _after_seq(after)
        waiter = _Waiter(asyncio.get_running_loop())
        self._add_waiter(run_id, waiter)
        try:
            while True:
                # Cleared before reading, so an append landing after the read still wakes us.
                waiter.wake.clear()
                batch = self._events_after(run_id, last_seq)
                for event in batch:
                    yield event
                    last_seq = event.seq
                    if event.type == RUN_FINISHED:
                        return
                if not batch:
                    try:
                        await asyncio.wait_for(waiter.wake.wait(), idle_timeout_s)
                    except TimeoutError:
                        return
        finally:
            self._remove_waiter(run_id, waiter)

    async def close(self) -> None:
        """Nothing to release: the streams live as long as the process (they may be shared by other handles)."""

    def _events_after(self, run_id: str, last_seq: int) -> list[Event]:
        with self._lock:
            run = self._live_run(run_id, time.monotonic(), create=False)
            records = run.records[last_seq:] if run else []
        return [_event(run_id, record) for record in records]

    def _live_run(self, run_id: str, now: float, *, create: bool) -> _Run | None:
        """The run's state, starting afresh if it expired; None when there is none and `create` is false.

        A run somebody follows does not expire: its readers' cursors (`"{seq}-0"`) must stay valid.
        """
        run = self._runs.get(run_id)
        if run is not None and run.records and run.expires_at <= now and not run.waiters:
            run.records = []
        if run is None and create:
            run = self._runs[run_id] = _Run()
        return run

    def _sweep(self, now: float) -> None:
        """Drop expired runs nobody follows; runs at most once per `ttl_s` (or minute) to keep appends O(1)."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + min(self._ttl_s, 60)
        expired = [run_id for run_id, run in self._runs.items() if run.expires_at <= now and not run.waiters]
        for run_id in expired:
            del self._runs[run_id]

    def _add_waiter(self, run_id: str, waiter: _Waiter) -> None:
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                run = self._runs[run_id] = _Run(expires_at=time.monotonic() + self._ttl_s)
            run.waiters.add(waiter)

    def _remove_waiter(self, run_id: str, waiter: _Waiter) -> None:
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None:
                run.waiters.discard(waiter)


def _after_seq(after: str | None) -> int:
    """The seq of the event with id `after` (`"{seq}-0"`), or 0 to start at the beginning."""
    return 0 if after is None else parse_event_id(after)[0]


def _event(run_id: str, record: _Record) -> Event:
    return Event(
        id=f"{record.seq}-0",
        type=record.type,
        run_id=run_id,
        node_id=record.node_id,
        seq=record.seq,
        time=record.time,
        data=json.loads(record.data),
    )
