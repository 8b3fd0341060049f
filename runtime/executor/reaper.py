"""Recovering runs nobody executes: the reaper (expired leases) and the reconciler (lost queue entries).

The reaper looks every `TRELLIS_REAPER_INTERVAL_S` for `running` runs whose lease expired (their
executor died, hung or lost the database), locking them `FOR UPDATE SKIP LOCKED` so several reapers
share the work. Each goes back to `queued` under a new lease epoch (its old executor is fenced out
from then on) and is handed to the queue, or to the in-process executor in the default mode; the
next claim resumes it from its last checkpoint. A run already claimed `TRELLIS_MAX_RUN_ATTEMPTS`
times ends `failed` with reason `worker_lost` instead. Runs it cannot lock because their lost executor's
database sessions still hold them are freed by `runtime.executor.lost_sessions` for the next pass.

The reconciler, every `TRELLIS_RECONCILE_INTERVAL_S`, hands off again every run `queued` for more
than `HAND_OFF_GRACE` that is not waiting in the queue: Redis lost its data (FLUSHALL, a restart
without persistence), a process died between taking a job id (RQ's intermediate list) and claiming
its run, or the default-mode process restarted. A duplicate queue entry is harmless: claims are
compare-and-set, so the second finds nothing to take.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from redis.exceptions import RedisError
from sqlmodel import col, or_, select

from runtime.config import Settings, get_settings
from runtime.events import RUN_FINISHED, open_event_stream
from runtime.executor.dispatch import QUEUE_NAME, dispatch, in_process_executor, version_timeout_s
from runtime.executor.lease import DATABASE_ERRORS, next_backoff
from runtime.executor.lost_sessions import end_lost_sessions
from runtime.metrics import count_recovery, count_run
from runtime.redis_client import shared_redis
from runtime.store import (
    NodeRun,
    NodeRunStatus,
    Run,
    RunStatus,
    get_engine,
    limit_transaction,
    session_scope,
    utcnow,
)

log = logging.getLogger(__name__)

BATCH_SIZE = 100
HAND_OFF_GRACE = timedelta(seconds=10)
"""A run queued this long (since it was stored or last let go) should have been claimed already."""
WORKER_LOST = "The run's executor stopped (crashed or lost the database) on every one of its {n} attempts."
NODE_LOST = "The executor running this node stopped before it finished."


def reap_expired(settings: Settings, now: datetime) -> list[str]:
    """Queue again (or fail, out of attempts) every running run whose lease expired; returns their ids."""
    with session_scope(get_engine()) as session:
        limit_transaction(session.connection(), settings.lease_s)  # a frozen reaper must not keep these runs locked
        expired = or_(col(Run.lease_expires_at).is_(None), col(Run.lease_expires_at) < now)
        query = (
            select(Run)
            .where(Run.status == RunStatus.RUNNING, expired)
            .order_by(col(Run.lease_expires_at))
            .limit(BATCH_SIZE)
            .with_for_update(skip_locked=True)
        )  # fmt: skip
        runs = list(session.exec(query).all())
        lost = [run for run in runs if run.attempts >= settings.max_run_attempts]
        for run in runs:
            run.lease_epoch, run.lease_owner, run.lease_expires_at = run.lease_epoch + 1, None, now
            run.status = RunStatus.FAILED if run in lost else RunStatus.QUEUED
            session.add(run)
        for run in lost:
            run.finished_at = now
            run.error = {"node_id": None, "message": WORKER_LOST.format(n=run.attempts), "reason": "worker_lost"}
        if lost:
            session.execute(
                sa.update(NodeRun)
                .where(col(NodeRun.run_id).in_([run.id for run in lost]), col(NodeRun.status) == NodeRunStatus.RUNNING)
                .values(status=NodeRunStatus.FAILED, finished_at=now, error={"message": NODE_LOST, "retryable": True})
            )  # fmt: skip
    for run in runs:
        if run in lost:
            log.error("Run %s failed: its executor was lost on all %d attempts", run.id, run.attempts)
            count_run(RunStatus.FAILED.value, str(run.trigger))
        else:
            log.warning("Run %s lost its executor (lease expired); queued again to resume", run.id)
            count_recovery("lease_expired")
            _hand_off(settings, run)
    if lost:
        asyncio.run(_announce_lost(settings, lost))
    return [run.id for run in runs]


def reconcile_queue(settings: Settings, now: datetime) -> list[str]:
    """Hand off again every run queued past the grace period that is not waiting to be taken; returns their ids."""
    before = now - HAND_OFF_GRACE
    query = (
        select(Run)
        .where(Run.status == RunStatus.QUEUED, col(Run.created_at) < before,
               or_(col(Run.lease_expires_at).is_(None), col(Run.lease_expires_at) < before))
        .limit(10 * BATCH_SIZE)
    )  # fmt: skip
    with session_scope(get_engine()) as session:
        queued = list(session.exec(query).all())
    if not queued:
        return []
    waiting = _waiting(settings)
    missing = [run for run in queued if run.id not in waiting]
    for run in missing:
        log.warning("Run %s is queued but not in the queue; handing it off again", run.id)
        count_recovery("redis_reconcile")
        _hand_off(settings, run)
    return [run.id for run in missing]


def _waiting(settings: Settings) -> set[str]:
    """Ids of the runs waiting to be taken: in the Redis queue, or in flight in this process (default mode)."""
    if not settings.redis_url:
        return in_process_executor().active()
    connection = shared_redis(settings.redis_url)
    queue_key = f"rq:queue:{QUEUE_NAME}"
    return {item.decode() if isinstance(item, bytes) else item for item in connection.lrange(queue_key, 0, -1)}


def _hand_off(settings: Settings, run: Run) -> None:
    if settings.redis_url:  # a job id stranded in RQ's intermediate list would never be taken
        shared_redis(settings.redis_url).lrem(f"rq:queue:{QUEUE_NAME}:intermediate", 0, run.id)
    dispatch(settings, run, version_timeout_s(run.workflow_version_id))


async def _announce_lost(settings: Settings, runs: list[Run]) -> None:
    """Send `run_finished` for runs the reaper failed, so open pages and SSE readers see them end."""
    stream = open_event_stream(settings)
    try:
        for run in runs:
            data = {"status": RunStatus.FAILED.value, "output": None, "error": run.error}
            await stream.append(run.id, RUN_FINISHED, None, data)
    finally:
        if settings.redis_url:
            await stream.close()


def serve_recovery(settings: Settings | None = None, *, stop: threading.Event) -> None:
    """Reap every `reaper_interval_s` and reconcile every `reconcile_interval_s` until `stop` is set.

    Database or Redis errors are logged and retried after 0.5 s, doubling up to 10 s.
    """
    settings = settings or get_settings()
    backoff: float | None = None
    reconciled = time.monotonic()
    while not stop.wait(settings.reaper_interval_s if backoff is None else backoff):
        try:
            reap_expired(settings, utcnow())
            end_lost_sessions(settings, utcnow())
            if time.monotonic() - reconciled >= settings.reconcile_interval_s:
                reconcile_queue(settings, utcnow())
                reconciled = time.monotonic()
        except (*DATABASE_ERRORS, RedisError, OSError) as error:
            backoff = next_backoff(backoff)
            log.warning("Run recovery pass failed (%s); retrying in %.1f s", type(error).__name__, backoff)
        except Exception:  # the loop's boundary: one bad pass must not end recovery for good
            backoff = next_backoff(backoff)
            log.exception("Run recovery pass failed; retrying in %.1f s", backoff)
        else:
            backoff = None


def start_recovery(settings: Settings | None = None) -> tuple[threading.Thread, threading.Event]:
    """`serve_recovery` on a daemon thread; set the event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=serve_recovery, kwargs={"settings": settings, "stop": stop}, name="trellis-recovery", daemon=True
    )
    thread.start()
    return thread, stop
