"""The checkpointer stored runs use: LangGraph's PostgreSQL or SQLite saver, fenced by the run's lease.

Fencing: a checkpoint or pending write is stored only while the run's `lease_epoch` is still the
one the writer holds (`configurable["lease_epoch"]`, set by `run_compiled`). On PostgreSQL the check
is a `SELECT ... FOR SHARE` of the run row in the same transaction as the write, so a new claim (an
UPDATE of that row) either waits for the write to commit or makes it fail with `LeaseLost`. On
SQLite (the single-process default mode) the check runs just before the write on the saver's own
connection: SQLite allows one writer at a time and only one process executes its runs.

Commit hook: `on_stored(run_id, channels)` is called once a checkpoint or a task's pending writes of a
run have committed, naming the state channels they hold; the executor releases a node's end record
only then (`runtime.executor.held_ends`).

Frozen holders: every PostgreSQL connection of the pool ends a transaction left idle longer than
`session_limits` allows, so a paused or hung executor cannot keep the run row locked past its lease.

The saver's tables are created by `trellis migrate` (`runtime.store.checkpoint_tables`), not at run time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import aiosqlite
import sqlalchemy as sa
from langgraph.checkpoint.base import BaseCheckpointSaver, ChannelVersions, Checkpoint, CheckpointMetadata
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from runtime.engine.checkpoints import LEASE_EPOCH_KEY
from runtime.errors import WorkflowError
from runtime.store import session_label, session_limits

POOL_MAX_SIZE = 8
_FENCE_SQL = "SELECT 1 FROM run WHERE id = %s AND lease_epoch = %s FOR SHARE"
_FENCE_SQLITE = "SELECT 1 FROM run WHERE id = ? AND lease_epoch = ?"
_fence: ContextVar[tuple[str, int] | None] = ContextVar("trellis_checkpoint_fence", default=None)
Stored = Callable[[str, Iterable[str]], None]
"""`on_stored(run_id, channels)`: a write of the run holding these state channels has committed."""


class LeaseLost(WorkflowError):
    """A write of a run was refused: another executor holds the run now (its lease epoch moved on)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"Run {run_id!r} is held by another executor now; this one stops writing for it.")


def _fence_of(config: dict[str, Any]) -> tuple[str, int] | None:
    configurable = config.get("configurable", {})
    epoch = configurable.get(LEASE_EPOCH_KEY)
    return None if epoch is None else (str(configurable["thread_id"]), int(epoch))


class _Reporting:
    """Tells `on_stored` which channels of a fenced run a committed write held."""

    on_stored: Stored | None = None

    def _report(self, config: Any, channels: Iterable[str]) -> None:
        fence = _fence_of(config)
        if fence is not None and self.on_stored is not None:
            self.on_stored(fence[0], channels)


class FencedPostgresSaver(_Reporting, AsyncPostgresSaver):
    """`AsyncPostgresSaver` on a pool, without its process-wide lock, writing only under the held epoch."""

    async def aput(
        self, config: Any, checkpoint: Checkpoint, metadata: CheckpointMetadata, new_versions: ChannelVersions
    ) -> Any:
        token = _fence.set(_fence_of(config))
        try:
            stored = await super().aput(config, checkpoint, metadata, new_versions)
        finally:
            _fence.reset(token)
        self._report(config, new_versions)
        return stored

    async def aput_writes(
        self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        token = _fence.set(_fence_of(config))
        try:
            await super().aput_writes(config, writes, task_id, task_path)
        finally:
            _fence.reset(token)
        self._report(config, [name for name, _ in writes])

    @asynccontextmanager
    async def _cursor(self, *, pipeline: bool = False) -> AsyncIterator[Any]:
        # The pool hands each caller its own connection, so runs checkpoint side by side (the base
        # class serialises every call of the process on one lock). Writes run in one transaction
        # with the fence check.
        pool = self.conn
        assert isinstance(pool, AsyncConnectionPool)
        fence = _fence.get()
        async with pool.connection() as conn:
            if fence is None:
                async with conn.cursor(binary=True, row_factory=dict_row) as cur:
                    yield cur
                return
            async with conn.transaction(), conn.cursor(binary=True, row_factory=dict_row) as cur:
                await cur.execute(_FENCE_SQL, fence)
                if await cur.fetchone() is None:
                    raise LeaseLost(fence[0])
                yield cur


class FencedSqliteSaver(_Reporting, AsyncSqliteSaver):
    """`AsyncSqliteSaver` that checks the held epoch before each write (see the module docstring)."""

    async def aput(
        self, config: Any, checkpoint: Checkpoint, metadata: CheckpointMetadata, new_versions: ChannelVersions
    ) -> Any:
        await self._check(config)
        stored = await super().aput(config, checkpoint, metadata, new_versions)
        self._report(config, new_versions)
        return stored

    async def aput_writes(
        self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        await self._check(config)
        await super().aput_writes(config, writes, task_id, task_path)
        self._report(config, [name for name, _ in writes])

    async def _check(self, config: Any) -> None:
        fence = _fence_of(config)
        if fence is None:
            return
        await self.setup()
        async with self.lock, self.conn.execute(_FENCE_SQLITE, fence) as cursor:
            if await cursor.fetchone() is None:
                raise LeaseLost(fence[0])


@asynccontextmanager
async def open_checkpointer(
    database_url: str, *, on_stored: Stored | None = None, lease_s: float | None = None
) -> AsyncIterator[BaseCheckpointSaver]:
    """A fenced checkpointer on the database at `database_url` (a SQLAlchemy URL), closed on exit.

    `on_stored` is told about every committed write of a fenced run. With `lease_s`, PostgreSQL ends a
    transaction of the pool left idle, or a statement running, for longer than half a lease.
    """
    url = sa.make_url(database_url)
    saver: FencedSqliteSaver | FencedPostgresSaver
    if url.get_backend_name() == "sqlite":
        async with aiosqlite.connect(url.database or ":memory:", timeout=30) as connection:
            saver = FencedSqliteSaver(connection)
            saver.on_stored = on_stored
            yield saver
        return
    options = {"options": _limits_option(lease_s)} if lease_s else {}
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        _libpq_url(url), min_size=1, max_size=POOL_MAX_SIZE, open=False,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row,
                "application_name": session_label(), **options},
    )  # fmt: skip
    await pool.open()
    try:
        saver = FencedPostgresSaver(pool)
        saver.on_stored = on_stored
        yield saver
    finally:
        await pool.close()


def _limits_option(lease_s: float) -> str:
    """libpq `options` starting every connection with the lease's `session_limits` and a statement
    timeout as long as the idle one: a checkpoint statement is a few row writes, so one running that
    long is stuck behind a lock, and its run is better resumed elsewhere than left holding the lease."""
    limits = session_limits(lease_s)
    limits["statement_timeout"] = limits["idle_in_transaction_session_timeout"]
    return " ".join(f"-c {name}={value}" for name, value in limits.items())


def _libpq_url(url: sa.URL) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq reads it (no `+driver`)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


_LATEST = "(SELECT max(m.checkpoint_id) FROM checkpoints m WHERE m.thread_id = {t}.thread_id AND m.checkpoint_ns = '')"
_PRUNE = {
    "postgresql": (
        f"DELETE FROM checkpoints c WHERE c.thread_id IN :ids AND c.checkpoint_id < {_LATEST.format(t='c')}",
        f"DELETE FROM checkpoint_writes w WHERE w.thread_id IN :ids AND w.checkpoint_id < {_LATEST.format(t='w')}",
        "DELETE FROM checkpoint_blobs b WHERE b.thread_id IN :ids AND NOT EXISTS (SELECT 1 FROM checkpoints c"
        " WHERE c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns"
        " AND c.checkpoint -> 'channel_versions' ->> b.channel = b.version)",
    ),
    "sqlite": (
        f"DELETE FROM checkpoints WHERE thread_id IN :ids AND checkpoint_id < {_LATEST.format(t='checkpoints')}",
        f"DELETE FROM writes WHERE thread_id IN :ids AND checkpoint_id < {_LATEST.format(t='writes')}",
    ),
}


def prune_checkpoints(connection: sa.Connection, run_ids: list[str]) -> None:
    """Drop every checkpoint of these runs but the last (with its pending writes and the blobs it uses).

    The last one stays so an ended run can still be resumed (a failed run, retried) or inspected;
    older ones only mattered while the run could crash mid-way, and are most of its checkpoint rows.
    """
    for statement in _PRUNE[connection.dialect.name]:
        connection.execute(sa.text(statement).bindparams(sa.bindparam("ids", expanding=True)), {"ids": run_ids})
