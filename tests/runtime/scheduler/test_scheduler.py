"""Schedules follow saved versions; a scheduler pass starts one run per due tick, by the node's policy."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis
from rq import Queue
from sqlmodel import col, select

from runtime.config import get_settings
from runtime.executor.dispatch import QUEUE_NAME
from runtime.scheduler import Scheduler, claim_due_ticks
from runtime.store import Run, RunStatus, RunTrigger, Schedule, get_engine, save_version, session_scope, utcnow
from tests.runtime.executor.conftest import store_workflow
from tests.runtime.executor.test_in_process import document
from tests.runtime.executor.test_rq import REDIS_URL

FINISHED = {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED}


def scheduled(cron: str = "*/5 * * * *", missed: str = "skip") -> dict[str, Any]:
    return document([
        {"id": "tick", "type": "schedule_trigger", "params": {"cron": cron, "timezone": "UTC", "missed": missed}},
        {"id": "result", "type": "output", "params": {"value": "{{ nodes.tick.output.scheduled_for }}"}},
    ])  # fmt: skip


def schedule_of(workflow_id: str) -> Schedule:
    with session_scope(get_engine()) as session:
        return session.exec(select(Schedule).where(Schedule.workflow_id == workflow_id)).one()


def runs_of(workflow_id: str) -> list[Run]:
    """The workflow's runs once all have finished, oldest first."""
    deadline = time.monotonic() + 30
    while True:
        with session_scope(get_engine()) as session:
            query = select(Run).where(Run.workflow_id == workflow_id).order_by(col(Run.created_at))
            runs = list(session.exec(query).all())
        if all(run.status in FINISHED for run in runs) or time.monotonic() > deadline:
            return runs
        time.sleep(0.05)


def test_saving_versions_creates_updates_and_disables_the_schedule(configured: str) -> None:
    before = datetime.now().astimezone()
    workflow_id = store_workflow(configured, scheduled("0 * * * *"))
    first = schedule_of(workflow_id)
    assert (first.cron, first.timezone, first.missed, first.enabled) == ("0 * * * *", "UTC", "skip", True)
    assert first.next_fire_at > before and first.next_fire_at.minute == 0

    with session_scope(get_engine()) as session:
        save_version(session, configured, workflow_id, scheduled("30 * * * *", missed="run_once"))
    changed = schedule_of(workflow_id)
    assert (changed.id, changed.cron, changed.missed) == (first.id, "30 * * * *", "run_once")
    assert changed.next_fire_at.minute == 30

    manual = document([{"id": "start", "type": "manual_trigger"}])
    with session_scope(get_engine()) as session:
        save_version(session, configured, workflow_id, manual)
    assert schedule_of(workflow_id).enabled is False


def test_each_due_tick_starts_exactly_one_run(configured: str) -> None:
    workflow_id = store_workflow(configured, scheduled("*/5 * * * *"))
    tick = schedule_of(workflow_id).next_fire_at
    scheduler = Scheduler(get_settings())

    assert scheduler.run_pass(tick - timedelta(seconds=1)) == []
    started = scheduler.run_pass(tick + timedelta(seconds=1))
    assert scheduler.run_pass(tick + timedelta(seconds=2)) == []

    runs = runs_of(workflow_id)
    assert [run.id for run in runs] == started
    assert runs[0].trigger is RunTrigger.SCHEDULE and runs[0].status is RunStatus.SUCCEEDED
    assert runs[0].input["body"]["scheduled_for"] == tick.isoformat()
    assert runs[0].output == tick.isoformat()
    assert schedule_of(workflow_id).next_fire_at == tick + timedelta(minutes=5)


def test_missed_ticks_are_skipped_with_the_skip_policy(configured: str) -> None:
    workflow_id = store_workflow(configured, scheduled("*/5 * * * *", missed="skip"))
    tick = schedule_of(workflow_id).next_fire_at
    back_up_at = tick + timedelta(hours=3, minutes=2)

    assert Scheduler(get_settings()).run_pass(back_up_at) == []

    assert runs_of(workflow_id) == []
    assert schedule_of(workflow_id).next_fire_at == tick + timedelta(hours=3, minutes=5)


def test_missed_ticks_start_one_run_with_the_run_once_policy(configured: str) -> None:
    workflow_id = store_workflow(configured, scheduled("*/5 * * * *", missed="run_once"))
    tick = schedule_of(workflow_id).next_fire_at
    scheduler = Scheduler(get_settings())

    assert len(scheduler.run_pass(tick + timedelta(hours=3, minutes=2))) == 1
    assert scheduler.run_pass(tick + timedelta(hours=3, minutes=3)) == []
    assert len(scheduler.run_pass(tick + timedelta(hours=3, minutes=5))) == 1

    bodies = [run.input["body"] for run in runs_of(workflow_id)]
    assert [(body["scheduled_for"], body["missed"]) for body in bodies] == [
        (tick.isoformat(), True),
        ((tick + timedelta(hours=3, minutes=5)).isoformat(), False),
    ]


def test_a_short_delay_still_starts_every_tick_in_it(configured: str) -> None:
    workflow_id = store_workflow(configured, scheduled("* * * * * *"))
    tick = schedule_of(workflow_id).next_fire_at

    started = Scheduler(get_settings()).run_pass(tick + timedelta(seconds=4))

    assert len(started) == 5
    fired = [run.input["body"]["scheduled_for"] for run in runs_of(workflow_id)]
    assert sorted(fired) == [(tick + timedelta(seconds=n)).isoformat() for n in range(5)]


def test_a_removed_schedule_node_stops_firing(configured: str) -> None:
    workflow_id = store_workflow(configured, scheduled("* * * * * *"))
    tick = schedule_of(workflow_id).next_fire_at
    with session_scope(get_engine()) as session:
        save_version(session, configured, workflow_id, document([{"id": "start", "type": "manual_trigger"}]))

    assert Scheduler(get_settings()).run_pass(tick + timedelta(seconds=3)) == []


def test_a_schedule_whose_params_turned_invalid_is_disabled(configured: str) -> None:
    workflow_id = store_workflow(configured, scheduled("* * * * * *"))
    broken = scheduled("* * * * * *")
    broken["nodes"][0]["params"]["timezone"] = "Mars/Olympus"  # stored unvalidated, e.g. by a direct store call
    with session_scope(get_engine()) as session:
        save_version(session, configured, workflow_id, broken)

    assert schedule_of(workflow_id).enabled is False


def lose_hand_off(workflow_id: str, tick: datetime) -> str:
    """Store the run of `tick` as a scheduler that stopped before queueing it would; returns its id."""
    with session_scope(get_engine()) as session:
        (started,) = claim_due_ticks(session, tick + timedelta(seconds=1))
        started.run.created_at = utcnow() - timedelta(minutes=2)
        session.add(started.run)
    return started.run.id


def test_a_run_whose_hand_off_was_lost_is_handed_off_by_a_later_pass(configured: str) -> None:
    workflow_id = store_workflow(configured, scheduled("*/5 * * * *"))
    tick = schedule_of(workflow_id).next_fire_at
    lost = lose_hand_off(workflow_id, tick)

    assert Scheduler(get_settings()).run_pass(tick + timedelta(seconds=2)) == []

    (run,) = runs_of(workflow_id)
    assert (run.id, run.status, run.output) == (lost, RunStatus.SUCCEEDED, tick.isoformat())


def test_a_lost_hand_off_is_queued_once_in_queue_mode(configured: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRELLIS_REDIS_URL", REDIS_URL)
    get_settings.cache_clear()
    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    workflow_id = store_workflow(configured, scheduled("*/5 * * * *"))
    tick = schedule_of(workflow_id).next_fire_at
    lost = lose_hand_off(workflow_id, tick)
    scheduler = Scheduler(get_settings())

    scheduler.run_pass(tick + timedelta(seconds=2))
    scheduler.run_pass(tick + timedelta(seconds=3))

    assert Queue(QUEUE_NAME, connection=connection).get_job_ids() == [lost]
    connection.flushdb()
