"""Queue mode: runs enqueued as RQ jobs carrying only the run id, executed by two `trellis worker`s."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter

import pytest
import redis
from rq.job import Job

from runtime.config import get_settings
from runtime.events import open_event_stream
from runtime.executor.dispatch import cancel_run, start_run, trigger_payload
from runtime.store import Run, RunStatus, RunTrigger, get_engine, session_scope
from tests.processes import start_worker, stop_group
from tests.runtime.executor.conftest import REDIS_URL, QueueMode, store_workflow
from tests.runtime.executor.test_in_process import document

RUNS = 8


def start_workers(env: dict[str, str], count: int, *args: str) -> list[subprocess.Popen[bytes]]:
    """`trellis worker` processes (with `args`), each in its own process group."""
    return [start_worker(env, f"test-worker-{i}", *args) for i in range(count)]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        stop_group(worker, timeout_s=20)


def wait_until_finished(run_ids: list[str], timeout_s: float) -> dict[str, RunStatus]:
    deadline = time.monotonic() + timeout_s
    while True:
        with session_scope(get_engine()) as session:
            statuses = {run_id: session.get(Run, run_id).status for run_id in run_ids}  # type: ignore[union-attr]
        if all(s not in (RunStatus.QUEUED, RunStatus.RUNNING) for s in statuses.values()):
            return statuses
        if time.monotonic() > deadline:
            counts = Counter(status.value for status in statuses.values())
            pytest.fail(f"runs still unfinished after {timeout_s} s ({dict(counts)}): {statuses}")
        time.sleep(0.2)


def test_two_workers_share_the_queue_and_every_run_succeeds(queue_mode: QueueMode) -> None:
    workspace_id = _workspace_id()
    workflow_id = store_workflow(workspace_id, document([
        {"id": "start", "type": "manual_trigger"},
        {"id": "fetch", "type": "http_request", "params": {"url": queue_mode.quick.url("/page")}},
        {"id": "result", "type": "output", "params": {"value": "{{ trigger.body.n }}"}},
    ]))  # fmt: skip
    workers = start_workers(queue_mode.env, 2, "--concurrency", "1")  # one run at a time each: both get some
    try:
        run_ids = [
            start_run(get_settings(), workspace_id, workflow_id, trigger_payload({"n": n}), RunTrigger.API)[0]
            for n in range(RUNS)
        ]
        statuses = wait_until_finished(run_ids, timeout_s=90)
    finally:
        stop_workers(workers)
    assert set(statuses.values()) == {RunStatus.SUCCEEDED}
    with session_scope(get_engine()) as session:
        outputs = [session.get(Run, run_id).output for run_id in run_ids]  # type: ignore[union-attr]
    assert outputs == list(range(RUNS))
    connection = redis.Redis.from_url(REDIS_URL)
    workers_used = {Job.fetch(run_id, connection=connection).worker_name for run_id in run_ids}
    assert workers_used == {"test-worker-0", "test-worker-1"}

    events = asyncio.run(_history(run_ids[0]))
    assert [e.type for e in events][0] == "run_started" and events[-1].type == "run_finished"
    assert {e.node_id for e in events if e.type == "node_finished"} == {"start", "fetch", "result"}


def test_cancel_reaches_the_worker_and_stops_the_running_node(queue_mode: QueueMode) -> None:
    workspace_id = _workspace_id()
    workflow_id = store_workflow(workspace_id, document([
        {"id": "start", "type": "manual_trigger"},
        {"id": "fetch", "type": "http_request", "params": {"url": queue_mode.stuck.url("/hang"), "timeout_s": 120}},
    ]))  # fmt: skip
    workers = start_workers(queue_mode.env, 1)
    try:
        run_id = start_run(get_settings(), workspace_id, workflow_id, trigger_payload({}), RunTrigger.API)[0]
        deadline = time.monotonic() + 30
        while queue_mode.stuck.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert queue_mode.stuck.requests == 1, "the worker never reached the node"
        cancelled_at = time.monotonic()
        with session_scope(get_engine()) as session:
            cancel_run(session, get_settings(), workspace_id, run_id)
        statuses = wait_until_finished([run_id], timeout_s=20)
    finally:
        stop_workers(workers)
    assert statuses[run_id] is RunStatus.CANCELLED
    assert time.monotonic() - cancelled_at < 5


async def _history(run_id: str) -> list:  # type: ignore[type-arg]
    stream = open_event_stream(get_settings())
    try:
        return await stream.history(run_id)
    finally:
        await stream.close()


def _workspace_id() -> str:
    from runtime.store import ensure_local_workspace

    with session_scope(get_engine()) as session:
        return ensure_local_workspace(session).id
