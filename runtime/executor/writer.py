"""Group commit for run bookkeeping: the writes of every run in flight on one event loop, few transactions.

A run used to commit once per node event; at hundreds of runs per second the commits (each a WAL
flush) and the blocked event loop were most of the cost. `RunWriter` queues writes and one thread
executes everything queued so far in a single transaction, so the loop never blocks on the database
and a busy worker commits many runs' writes at once. Writes run in the order they were queued:
a run's node runs are stored in the same or an earlier transaction than its final status.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from runtime.store import get_engine

log = logging.getLogger(__name__)

Write = Callable[[sa.Connection], Any]
"""One statement (or a few) run on the transaction's connection; returns what the caller awaits."""


@dataclass
class _Queued:
    write: Write
    future: asyncio.Future[Any] = field(repr=False)


class RunWriter:
    """Executes queued writes on one background thread, as many per transaction as are waiting.

    Create it inside the event loop that uses it. The engine is looked up per batch (`get_engine()`),
    so a writer outlives engine resets in tests.
    """

    def __init__(self) -> None:
        self._queued: list[_Queued] = []
        self._wake = asyncio.Event()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trellis-db")
        self._task: asyncio.Task[None] | None = None

    def write(self, write: Write) -> asyncio.Future[Any]:
        """Queue `write`; the future resolves to its result once its transaction has committed."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._commit_forever(), name="trellis-run-writer")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queued.append(_Queued(write, future))
        self._wake.set()
        return future

    def write_later(self, write: Write) -> None:
        """Queue `write` without waiting for it; a failure is logged (later writes still run)."""
        self.write(write).add_done_callback(_log_failure)

    async def aclose(self) -> None:
        """Commit everything queued so far (writes run in order), then stop the thread."""
        await self.write(_nothing)
        if self._task is not None:
            self._task.cancel()
        self._thread.shutdown(wait=True)

    async def _commit_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._queued = self._queued, []
            if not batch:
                continue
            try:
                outcomes = await loop.run_in_executor(self._thread, _commit, [queued.write for queued in batch])
            except Exception as error:  # the engine itself failed: every write of the batch did
                outcomes = [(False, error)] * len(batch)
            for queued, (ok, value) in zip(batch, outcomes, strict=True):
                if queued.future.done():
                    continue
                if ok:
                    queued.future.set_result(value)
                else:
                    queued.future.set_exception(value)


def _commit(writes: list[Write]) -> list[tuple[bool, Any]]:
    """Run `writes` in one transaction; if it fails, each alone, so one bad write fails only itself."""
    engine = get_engine()
    try:
        with engine.begin() as connection:
            return [(True, write(connection)) for write in writes]
    except Exception as error:
        if len(writes) == 1:
            return [(False, error)]
    return [_commit_alone(engine, write) for write in writes]


def _commit_alone(engine: sa.Engine, write: Write) -> tuple[bool, Any]:
    try:
        with engine.begin() as connection:
            return True, write(connection)
    except Exception as error:
        return False, error


def _nothing(connection: sa.Connection) -> None:
    return None


def _log_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("A run bookkeeping write failed", exc_info=future.exception())
