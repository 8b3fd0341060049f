"""`trellis scheduler`: starts a run for every due tick of every enabled schedule, exactly once, and
resumes runs whose approval timed out (`runtime.approvals.sweep`).

Several schedulers may run against one PostgreSQL database. Each pass locks the due schedule rows
with `FOR UPDATE SKIP LOCKED`, so one scheduler handles a schedule while the others skip it, and
advances `next_fire_at` in the same transaction as it stores the runs; a unique
`(schedule_id, scheduled_for)` row per started tick makes a second start of one tick impossible
even if that ever failed. Runs are handed to the queue (or the in-process executor) only after the
transaction commits, so a worker never looks for a run that is not stored yet; a run whose
hand-off was lost (a crash in between, Redis down) is handed off again by a later pass. SQLite
ignores `FOR UPDATE`; there one writer at a time is all it allows anyway.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from redis.exceptions import RedisError
from rq.job import Job
from sqlmodel import Session, col, select

from runtime.approvals.sweep import time_out_due
from runtime.config import Settings, get_settings
from runtime.cron import CronSchedule
from runtime.executor.dispatch import create_run, dispatch, trigger_payload, version_timeout_s
from runtime.redis_client import shared_redis
from runtime.store import Run, RunStatus, RunTrigger, Schedule, ScheduleTick, get_engine, session_scope, utcnow

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 1.0
BATCH_SIZE = 100
"""Schedules claimed per transaction; more due ones are taken by the next pass (or another scheduler)."""
HAND_OFF_GRACE = timedelta(seconds=60)
"""A scheduled run still queued this long after it was stored, with no queue job, lost its hand-off."""


@dataclass(frozen=True)
class StartedTick:
    """A run stored for one tick, with what `dispatch` needs once the transaction has committed."""

    run: Run
    timeout_s: float


class Scheduler:
    """One scheduler process: each pass starts the due ticks and re-sends runs whose hand-off was lost."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def run_pass(self, now: datetime) -> list[str]:
        """Store and start a run for each tick due at `now`, and resume the runs whose approval is due;
        returns the ids of the runs handed off."""
        with session_scope(get_engine()) as session:
            started = claim_due_ticks(session, now)
        handed_off = [tick.run.id for tick in started if self._hand_off(tick)]
        for tick in self._lost_hand_offs():
            log.warning("run %s of a schedule was never handed off; handing it off now", tick.run.id)
            self._hand_off(tick)
        return handed_off + time_out_due(self.settings, now)

    def _hand_off(self, tick: StartedTick) -> bool:
        try:
            dispatch(self.settings, tick.run, tick.timeout_s)
        except RedisError as error:
            log.warning("run %s could not be queued; a later pass retries it: %s", tick.run.id, error)
            return False
        return True

    def _lost_hand_offs(self) -> list[StartedTick]:
        """Scheduled runs still queued `HAND_OFF_GRACE` after they were stored, with no queue job.

        That happens when a scheduler stops between committing a run and queueing it, or Redis
        refused the job. Handing one off twice is harmless: a run executes only while `queued`.
        """
        stored_before = utcnow() - HAND_OFF_GRACE
        query = (
            select(Run)
            .join(ScheduleTick, col(ScheduleTick.run_id) == col(Run.id))
            .where(Run.status == RunStatus.QUEUED, col(Run.created_at) < stored_before)
            .limit(BATCH_SIZE)
        )
        with session_scope(get_engine()) as session:
            queued = [StartedTick(run, version_timeout_s(run.workflow_version_id)) for run in session.exec(query).all()]
        if not self.settings.redis_url:
            return queued
        connection = shared_redis(self.settings.redis_url)
        return [tick for tick in queued if not Job.exists(tick.run.id, connection=connection)]


def claim_due_ticks(session: Session, now: datetime) -> list[StartedTick]:
    """Lock the due schedules no other scheduler holds, advance them and store one run per due tick."""
    query = (
        select(Schedule)
        .where(col(Schedule.enabled).is_(True), col(Schedule.next_fire_at) <= now)
        .order_by(col(Schedule.next_fire_at))
        .limit(BATCH_SIZE)
        .with_for_update(skip_locked=True)
    )
    started: list[StartedTick] = []
    for schedule in session.exec(query).all():
        started += _fire(session, schedule, now)
    return started


def _fire(session: Session, schedule: Schedule, now: datetime) -> list[StartedTick]:
    due = CronSchedule(schedule.cron, schedule.timezone).due(schedule.next_fire_at, now)
    ticks = [(tick, False) for tick in due.on_time]
    if due.missed and schedule.missed == "run_once":
        # One run stands for every missed tick; it carries the first one, which no other run can.
        ticks.insert(0, (schedule.next_fire_at, True))
    elif due.missed:
        log.info("schedule %s: skipped the ticks missed before %s", schedule.id, now.isoformat())
    schedule.next_fire_at = due.following
    session.add(schedule)
    started = [_start_tick(session, schedule, scheduled_for, missed, now) for scheduled_for, missed in ticks]
    return [tick for tick in started if tick is not None]


def _start_tick(
    session: Session, schedule: Schedule, scheduled_for: datetime, missed: bool, now: datetime
) -> StartedTick | None:
    """The stored run of one tick, or None when this tick already has one."""
    body = {"scheduled_for": scheduled_for.isoformat(), "fired_at": now.isoformat(), "missed": missed}
    try:
        with session.begin_nested():
            run = create_run(
                session, schedule.workspace_id, schedule.workflow_id, trigger_payload(body), RunTrigger.SCHEDULE
            )
            session.add(ScheduleTick(schedule_id=schedule.id, scheduled_for=scheduled_for, run_id=run.id))
            session.flush()
    except sa.exc.IntegrityError:
        log.warning("schedule %s: tick %s already started a run", schedule.id, scheduled_for.isoformat())
        return None
    return StartedTick(run, version_timeout_s(run.workflow_version_id))


def serve_schedules(
    settings: Settings | None = None,
    *,
    stop: threading.Event | None = None,
    interval_s: float = POLL_INTERVAL_S,
    clock: Callable[[], datetime] = utcnow,
    parent_pid: int | None = None,
) -> None:
    """Start due runs every `interval_s` until `stop` is set (or, with `parent_pid`, that process is gone).

    A database or Redis outage is logged and retried on the next pass; nothing is lost, because
    a tick is only marked done in the transaction that stores its run.
    """
    scheduler = Scheduler(settings or get_settings())
    stop = stop or threading.Event()
    log.info("scheduler started; looking for due schedules every %.1f s", interval_s)
    while not stop.is_set() and (parent_pid is None or os.getppid() == parent_pid):
        began = clock()
        try:
            started = scheduler.run_pass(began)
        except sa.exc.DBAPIError as error:
            log.warning("scheduler pass failed, retrying in %.1f s: %s", interval_s, error)
        except Exception:  # the loop's boundary: one bad pass must not stop every schedule for good
            log.exception("scheduler pass failed, retrying in %.1f s", interval_s)
        else:
            if started:
                log.info("started %d scheduled run(s): %s", len(started), ", ".join(started))
        elapsed = (clock() - began).total_seconds()
        stop.wait(max(0.0, interval_s - elapsed))
