"""The run leases one executor holds: one heartbeat UPDATE per process extends them all, and a run whose
lease is gone (another executor claimed it after it expired) is stopped at once, writing nothing more.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import timedelta

import psycopg
import sqlalchemy as sa

from runtime.config import Settings, get_settings
from runtime.store import Run, RunStatus, get_engine, limit_transaction, process_tag, utcnow

log = logging.getLogger(__name__)

RUNS: sa.Table = Run.__table__  # type: ignore[attr-defined]
DATABASE_ERRORS = (sa.exc.DBAPIError, psycopg.Error, sqlite3.Error)
"""What the database driver raises when it is unreachable or refuses (SQLAlchemy's, psycopg's, sqlite3's)."""
DATABASE_UNAVAILABLE = (
    sa.exc.OperationalError, sa.exc.InterfaceError, psycopg.OperationalError, psycopg.InterfaceError,
    psycopg.errors.IdleInTransactionSessionTimeout, sqlite3.OperationalError,
)  # fmt: skip
"""The database could not be reached or used right now (connection lost, server down, locked, or this
process was frozen so long that the server ended its transaction): worth trying again later, unlike an
error in what was written."""
BACKOFF_FIRST_S = 0.5
BACKOFF_CAP_S = 10.0


def lease_owner(name: str | None = None) -> str:
    """A lease owner name unique to one executor: `name` (default host.pid), this process's tag and a
    random tag (`<name>~<process tag>.<executor tag>`), so a restarted process with the same name and pid
    (a container's pid 1) never extends its predecessor's leases, and a reaper can tell which process's
    database sessions hold a run (`runtime.executor.lost_sessions`)."""
    return f"{name or f'{socket.gethostname()}.{os.getpid()}'}~{process_tag()}.{secrets.token_hex(2)}"


def owner_tag(owner: str) -> str:
    """The process tag inside a lease owner name made by `lease_owner`."""
    return owner.rpartition("~")[2].partition(".")[0]


def next_backoff(previous_s: float | None) -> float:
    """Seconds to wait after a failure: 0.5 s, doubling, at most 10 s."""
    return BACKOFF_FIRST_S if previous_s is None else min(previous_s * 2, BACKOFF_CAP_S)


@dataclass
class HeldRun:
    """A run this executor claimed: the epoch it holds and the task executing it."""

    epoch: int
    task: asyncio.Task[object] | None
    confirmed_until: float
    """`time.monotonic()` until which no other executor can hold the run: a lease after the last claim or
    heartbeat that extended it began."""
    lost: bool = False
    """Its lease is gone: another executor may run it now; this one must not write for it."""


@dataclass
class Leases:
    """The leases of one executor (`owner`), extended every `heartbeat_s` by `keep_alive`.

    With `fixed_settings` None, settings are read at each use (the in-process executor outlives changes).
    """

    owner: str
    fixed_settings: Settings | None = None
    held: dict[str, HeldRun] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.fixed_settings or get_settings()

    def hold(self, run_id: str, epoch: int, claimed_at: float) -> HeldRun:
        """Note that the current task executes `run_id` under `epoch`, claimed at `claimed_at` (monotonic)."""
        held = HeldRun(epoch, asyncio.current_task(), claimed_at + self.settings.lease_s)
        self.held[run_id] = held
        return held

    def drop(self, run_id: str) -> None:
        """The run ended or was handed back: stop extending its lease."""
        self.held.pop(run_id, None)

    async def keep_alive(self) -> None:
        """Extend every held lease each `heartbeat_s` until cancelled; on database errors retry with backoff."""
        backoff: float | None = None
        while True:
            await asyncio.sleep(self.settings.heartbeat_s if backoff is None else backoff)
            try:
                await self.beat()
            except DATABASE_ERRORS as error:
                backoff = next_backoff(backoff)
                log.warning("Lease heartbeat failed (database: %s); retrying in %.1f s", type(error).__name__, backoff)
            else:
                backoff = None

    async def beat(self) -> None:
        """One heartbeat: extend the held leases, stop the runs whose lease is gone."""
        if not self.held:
            return
        # Judge only runs held before the UPDATE began: their claims committed before it, so it sees them.
        judged = dict(self.held)
        alive = await self._renew(judged)
        for run_id, held in judged.items():
            if alive.get(run_id) != held.epoch and self.held.get(run_id) is held and not held.lost:
                log.warning("Lost the lease of run %s (another executor took it); stopping it here", run_id)
                self.lose(run_id)

    async def ensure(self, run_id: str) -> bool:
        """Whether this executor still holds the run, as one of its nodes is about to start: at once while the
        last claim or heartbeat is recent enough, else only if extending the lease now succeeds (the process
        stalled, or the database was slow, and another executor may have taken the run meanwhile)."""
        held = self.held.get(run_id)
        if held is None or held.lost:
            return False
        if time.monotonic() < held.confirmed_until - self.settings.heartbeat_s:
            return True
        if (await self._renew({run_id: held}, RUNS.c.id == run_id)).get(run_id) != held.epoch:
            held.lost = True
            return False
        return True

    async def _renew(self, judged: dict[str, HeldRun], *only: sa.ColumnElement[bool]) -> dict[str, int]:
        """Extend this owner's leases (those matching `only`); each of `judged` extended under its epoch is
        surely this executor's for a lease from now. Returns `{run_id: epoch}` of those extended."""
        began = time.monotonic()
        alive = await asyncio.to_thread(self._extend, *only)
        for run_id, held in judged.items():
            if alive.get(run_id) == held.epoch:
                held.confirmed_until = began + self.settings.lease_s
        return alive

    def lose(self, run_id: str) -> None:
        """Stop `run_id` here without writing anything more for it."""
        held = self.held.get(run_id)
        if held is None:
            return
        held.lost = True
        if held.task is not None:
            held.task.cancel()

    def _extend(self, *only: sa.ColumnElement[bool]) -> dict[str, int]:
        """One UPDATE extending every lease this owner holds (or those of them matching `only`); returns
        `{run_id: epoch}` of those extended."""
        expires = utcnow() + timedelta(seconds=self.settings.lease_s)
        update = (
            sa.update(RUNS)
            .where(RUNS.c.lease_owner == self.owner, RUNS.c.status == RunStatus.RUNNING, *only)
            .values(lease_expires_at=expires)
            .returning(RUNS.c.id, RUNS.c.lease_epoch)
        )
        with get_engine().begin() as connection:
            limit_transaction(connection, self.settings.lease_s)  # a frozen process must not keep these rows locked
            return {row[0]: row[1] for row in connection.execute(update)}
