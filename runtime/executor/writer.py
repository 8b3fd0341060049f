"""Group commit for run bookkeeping: the writes of every run in flight on one event loop, few transactions.

A run used to commit once per node event; at hundreds of runs per second those commits (each a WAL
flush) and the blocked event loop were most of the cost. `RunWriter` queues writes, and one thread
applies everything queued so far in a single transaction, so the loop never waits on the database
and a busy worker commits many runs' writes at once. Batches commit in queue order: a run's node
runs are stored in the same or an earlier transaction than its final status.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from runtime.store import get_engine

log = logging.getLogger(__name__)

W = TypeVar("W")
Apply = Callable[[sa.Connection, list[W]], list[Any]]
"""Applies a batch of writes on the transaction's connection; returns one result per write."""


class RunWriter(Generic[W]):
    """Applies queued writes with `apply` on one background thread, as many per transaction as are waiting.

    Create it inside the event loop that uses it. The engine is looked up per batch (`get_engine()`),
    so a writer outlives engine resets in tests.
    """

    def __init__(self, apply: Apply[W]) -> None:
        self._apply = apply
        self._queued: list[tuple[W, asyncio.Future[Any]]] = []
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trellis-db")
        self._task: asyncio.Task[None] | None = None

    def write(self, write: W) -> asyncio.Future[Any]:
        """Queue `write`; the future resolves to its result once its transaction has committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queued.append((write, future))
        if self._task is None or self._task.done():  # no task lingers while idle
            self._task = loop.create_task(self._commit_queued(), name="trellis-run-writer")
        return future

    def write_later(self, write: W) -> None:
        """Queue `write` without waiting for it; a failure is logged (later writes still run)."""
        self.write(write).add_done_callback(_log_failure)

    async def aclose(self) -> None:
        """Commit everything queued, then stop the thread."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})
        self._thread.shutdown(wait=True)

    async def _commit_queued(self) -> None:
        """Commit batches until the queue is empty: each batch is whatever queued while the last committed."""
        loop = asyncio.get_running_loop()
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                outcomes = await loop.run_in_executor(self._thread, self._commit, [write for write, _ in batch])
            except Exception as error:  # the database itself failed: so did every write of the batch
                outcomes = [(False, error)] * len(batch)
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _commit(self, writes: list[W]) -> list[tuple[bool, Any]]:
        """Apply `writes` in one transaction; if that fails, each alone, so a bad write fails only itself."""
        engine = get_engine()
        try:
            with engine.begin() as connection:
                return [(True, result) for result in self._apply(connection, writes)]
        except Exception as error:
            if len(writes) == 1:
                return [(False, error)]
        return [self._commit_alone(engine, write) for write in writes]

    def _commit_alone(self, engine: sa.Engine, write: W) -> tuple[bool, Any]:
        try:
            with engine.begin() as connection:
                return True, self._apply(connection, [write])[0]
        except Exception as error:
            return False, error


def _log_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("A run bookkeeping write failed", exc_info=future.exception())
