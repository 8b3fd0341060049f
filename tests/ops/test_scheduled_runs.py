"""Schedules fire where a user starts Trellis: in `trellis serve` without Redis, and in `trellis worker --scheduler`."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, col, select

from runtime.store import (
    Run,
    RunStatus,
    RunTrigger,
    ensure_database,
    ensure_local_workspace,
    make_engine,
    session_scope,
)
from runtime.workflows import import_workflow
from tests.ops.conftest import REDIS_URL
from tests.processes import running_server, start_worker
from tests.runtime.executor.test_in_process import document

EVERY_SECOND = document([
    {"id": "tick", "type": "schedule_trigger", "params": {"cron": "* * * * * *", "timezone": "Europe/Berlin"}},
    {"id": "result", "type": "output", "params": {"value": "{{ nodes.tick.output.scheduled_for }}"}},
])  # fmt: skip


def store_schedule(database_url: str) -> str:
    """Import the every-second workflow; returns its id."""
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        workflow_id = import_workflow(session, ensure_local_workspace(session).id, EVERY_SECOND).id
    engine.dispose()
    return workflow_id


def finished_runs(database_url: str, workflow_id: str, at_least: int, within_s: float = 60) -> list[Run]:
    """The workflow's finished runs once there are `at_least` of them (fails after `within_s`)."""
    engine = make_engine(database_url)
    deadline = time.monotonic() + within_s
    try:
        while True:
            with Session(engine) as session:
                query = select(Run).where(Run.workflow_id == workflow_id).order_by(col(Run.created_at))
                runs = [run for run in session.exec(query).all() if run.finished_at is not None]
            if len(runs) >= at_least:
                return runs
            if time.monotonic() > deadline:
                pytest.fail(f"only {len(runs)} scheduled runs finished within {within_s} s")
            time.sleep(0.2)
    finally:
        engine.dispose()


def assert_ran_on_schedule(runs: list[Run]) -> None:
    assert {run.trigger for run in runs} == {RunTrigger.SCHEDULE}
    assert {run.status for run in runs} == {RunStatus.SUCCEEDED}
    assert all(run.output == run.input["body"]["scheduled_for"] for run in runs)
    assert len({run.output for run in runs}) == len(runs)


def test_the_zero_setup_server_fires_schedules_itself(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    database_url = f"sqlite:///{data_dir / 'trellis.db'}"
    metrics = {"TRELLIS_METRICS_DIR": str(data_dir / "metrics")}
    with running_server(database_url, data_dir, metrics) as server:
        url = server.url
        workflow_id = store_schedule(database_url)
        runs = finished_runs(database_url, workflow_id, at_least=3)
        exported = httpx.get(f"{url}/metrics", timeout=10).text
    assert_ran_on_schedule(runs)
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exported)
        for sample in family.samples
    }
    succeeded = samples[("trellis_workflow_runs_total", (("status", "succeeded"), ("trigger", "schedule")))]
    assert succeeded >= len(runs)
    assert ("trellis_queue_jobs", (("state", "queued"),)) in samples  # from the runs table: no Redis here


@pytest.fixture
def queue_database(make_pg_database) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A fresh migrated PostgreSQL database and an emptied Redis database (queue mode)."""
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    database_url = make_pg_database()
    ensure_database(database_url)
    yield database_url
    client.flushdb()
    client.close()


def test_worker_with_scheduler_fires_schedules_and_stops_its_scheduler(queue_database: str, tmp_path: Path) -> None:
    workflow_id = store_schedule(queue_database)
    env = {
        "TRELLIS_DATABASE_URL": queue_database,
        "TRELLIS_REDIS_URL": REDIS_URL,
        "TRELLIS_DATA_DIR": str(tmp_path / "data"),
    }
    worker = start_worker(env, "scheduling-worker", "--scheduler")
    try:
        runs = finished_runs(queue_database, workflow_id, at_least=3)
    finally:
        os.kill(worker.pid, signal.SIGTERM)  # the worker alone: it must stop its scheduler child itself
        exit_code = worker.wait(timeout=30)
    assert exit_code == 0
    assert_ran_on_schedule(runs)

    stored_at_stop = count_runs(queue_database, workflow_id)
    time.sleep(2.5)
    assert count_runs(queue_database, workflow_id) == stored_at_stop, "the scheduler outlived its worker"


def count_runs(database_url: str, workflow_id: str) -> int:
    """How many runs of the workflow are stored, whatever their status."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        count = len(session.exec(select(Run.id).where(Run.workflow_id == workflow_id)).all())
    engine.dispose()
    return count
