"""`trellis worker` runs several runs at once in one process: all finish, failures and cancels stay local."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time

import redis
from rq.job import Job
from sqlmodel import select

from runtime.config import get_settings
from runtime.events import open_event_stream
from runtime.executor.dispatch import cancel_run, start_run, trigger_payload
from runtime.store import NodeRun, NodeRunStatus, Run, RunStatus, RunTrigger, get_engine, session_scope
from tests.processes import TRELLIS
from tests.runtime.executor.conftest import REDIS_URL, QueueMode, store_workflow
from tests.runtime.executor.test_in_process import document
from tests.runtime.executor.test_rq import (
    _workspace_id,
    start_workers,
    stop_workers,
    wait_until_finished,
)

RUNS = 8


def fetch_document(url: str) -> dict:  # type: ignore[type-arg]
    return document([
        {"id": "start", "type": "manual_trigger"},
        {"id": "fetch", "type": "http_request", "params": {"url": url, "timeout_s": 120}},
        {"id": "result", "type": "output", "params": {"value": "{{ trigger.body.n }}"}},
    ])  # fmt: skip


def start(workspace_id: str, workflow_id: str, n: int) -> str:
    return start_run(get_settings(), workspace_id, workflow_id, trigger_payload({"n": n}), RunTrigger.API)[0]


def node_runs(run_ids: list[str]) -> list[NodeRun]:
    with session_scope(get_engine()) as session:
        return list(session.exec(select(NodeRun).where(NodeRun.run_id.in_(run_ids))))  # type: ignore[attr-defined]


def most_at_once(rows: list[NodeRun]) -> int:
    """The largest number of these node runs that were running at the same moment."""
    edges = sorted([(row.started_at, 1) for row in rows] + [(row.finished_at, -1) for row in rows])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


async def wait_for_run_finished(run_id: str) -> None:
    stream = open_event_stream(get_settings())
    try:
        async for event in stream.follow(run_id, idle_timeout_s=60):
            if event.type == "run_finished":
                return
    finally:
        await stream.close()


def test_one_worker_runs_many_at_once_and_stores_every_node_run(queue_mode: QueueMode) -> None:
    # Given one worker process allowed 8 runs at once, and 8 runs whose middle node waits 0.3 s on a server
    workspace_id = _workspace_id()
    workflow_id = store_workflow(workspace_id, fetch_document(queue_mode.quick.url("/page")))
    workers = start_workers(queue_mode.env, 1, "--concurrency", str(RUNS))
    try:
        run_ids = [start(workspace_id, workflow_id, n) for n in range(RUNS)]
        # When the first run announces run_finished, its node runs are already stored
        asyncio.run(wait_for_run_finished(run_ids[0]))
        first = node_runs(run_ids[:1])
        statuses = wait_until_finished(run_ids, timeout_s=90)
    finally:
        stop_workers(workers)
    assert {row.node_id: row.status for row in first} == dict.fromkeys(["start", "fetch", "result"], "succeeded")
    # Then every run succeeded with its own output and three stored node runs, and the waits overlapped
    assert set(statuses.values()) == {RunStatus.SUCCEEDED}
    with session_scope(get_engine()) as session:
        assert [session.get(Run, run_id).output for run_id in run_ids] == list(range(RUNS))  # type: ignore[union-attr]
    rows = node_runs(run_ids)
    assert len(rows) == 3 * RUNS and {row.status for row in rows} == {NodeRunStatus.SUCCEEDED}
    assert most_at_once([row for row in rows if row.node_id == "fetch"]) >= RUNS // 2
    job = Job.fetch(run_ids[0], connection=redis.Redis.from_url(REDIS_URL))
    assert (job.get_status(), job.worker_name) == ("finished", "test-worker-0")


def test_failing_runs_leave_the_runs_beside_them_alone(queue_mode: QueueMode) -> None:
    workspace_id = _workspace_id()
    good = store_workflow(workspace_id, fetch_document(queue_mode.quick.url("/page")))
    broken = store_workflow(workspace_id, document([
        {"id": "start", "type": "manual_trigger"},
        {"id": "shape", "type": "set", "params": {"fields": {"x": "{{ trigger.body.n.missing.deeper }}"}}},
    ]))  # fmt: skip
    workers = start_workers(queue_mode.env, 1, "--concurrency", "4")
    try:
        run_ids = [start(workspace_id, broken if n % 2 else good, n) for n in range(RUNS)]
        statuses = wait_until_finished(run_ids, timeout_s=90)
        still_working = start(workspace_id, good, 99)
        after = wait_until_finished([still_working], timeout_s=30)
    finally:
        stop_workers(workers)
    assert [statuses[run_id] for run_id in run_ids] == [RunStatus.SUCCEEDED, RunStatus.FAILED] * (RUNS // 2)
    with session_scope(get_engine()) as session:
        error = session.get(Run, run_ids[1]).error  # type: ignore[union-attr]
    assert error["node_id"] == "shape" and "missing" in error["message"]
    assert after[still_working] is RunStatus.SUCCEEDED


def test_cancel_stops_one_running_node_while_the_others_finish(queue_mode: QueueMode) -> None:
    workspace_id = _workspace_id()
    stuck = store_workflow(workspace_id, fetch_document(queue_mode.stuck.url("/hang")))
    quick = store_workflow(workspace_id, fetch_document(queue_mode.quick.url("/page")))
    workers = start_workers(queue_mode.env, 1, "--concurrency", "4")
    try:
        victim = start(workspace_id, stuck, 0)
        deadline = time.monotonic() + 30
        while queue_mode.stuck.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert queue_mode.stuck.requests == 1, "the worker never reached the node"
        others = [start(workspace_id, quick, n) for n in range(1, 4)]
        with session_scope(get_engine()) as session:
            cancel_run(session, get_settings(), workspace_id, victim)
        statuses = wait_until_finished([victim, *others], timeout_s=30)
    finally:
        stop_workers(workers)
    assert statuses == {victim: RunStatus.CANCELLED, **dict.fromkeys(others, RunStatus.SUCCEEDED)}
    fetch = next(row for row in node_runs([victim]) if row.node_id == "fetch")
    assert fetch.status is NodeRunStatus.CANCELLED


def test_burst_worker_runs_the_queue_empty_then_exits(queue_mode: QueueMode) -> None:
    workspace_id = _workspace_id()
    workflow_id = store_workflow(workspace_id, fetch_document(queue_mode.quick.url("/page")))
    run_ids = [start(workspace_id, workflow_id, n) for n in range(3)]
    env = {**os.environ, **queue_mode.env}
    worker = subprocess.run([TRELLIS, "worker", "--burst"], env=env, timeout=90, check=False)
    assert worker.returncode == 0
    with session_scope(get_engine()) as session:
        assert {session.get(Run, run_id).status for run_id in run_ids} == {RunStatus.SUCCEEDED}  # type: ignore[union-attr]


def test_a_stopping_worker_hands_its_runs_back_and_another_worker_resumes_them(queue_mode: QueueMode) -> None:
    env = {**queue_mode.env, "TRELLIS_WORKER_GRACE_S": "1"}
    workspace_id = _workspace_id()
    quick = store_workflow(workspace_id, fetch_document(queue_mode.quick.url("/page")))
    stuck = store_workflow(workspace_id, fetch_document(queue_mode.stuck.url("/hang")))
    [first] = start_workers(env, 1, "--concurrency", "4")
    try:
        finishing, hanging = start(workspace_id, quick, 1), start(workspace_id, stuck, 2)
        deadline = time.monotonic() + 30
        while (queue_mode.stuck.requests == 0 or queue_mode.quick.requests == 0) and time.monotonic() < deadline:
            time.sleep(0.02)
        first.terminate()  # SIGTERM: no new jobs; nodes in flight get 1 s, then runs are handed back
        assert first.wait(timeout=20) == 0
    finally:
        if first.poll() is None:
            stop_workers([first])
    with session_scope(get_engine()) as session:
        assert session.get(Run, hanging).status is RunStatus.QUEUED  # type: ignore[union-attr]
    assert "run_finished" not in asyncio.run(_events(hanging))

    [second] = start_workers(env, 1)
    try:
        assert wait_until_finished([finishing], timeout_s=30)[finishing] is RunStatus.SUCCEEDED
        deadline = time.monotonic() + 30
        while queue_mode.stuck.requests < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert queue_mode.stuck.requests == 2  # the interrupted node runs again on the second worker
        assert queue_mode.quick.requests == 1  # the node that finished before the stop did not
        assert asyncio.run(_events(hanging)).count("run_resumed") == 1
        with session_scope(get_engine()) as session:
            cancel_run(session, get_settings(), workspace_id, hanging)
        assert wait_until_finished([hanging], timeout_s=30)[hanging] is RunStatus.CANCELLED
    finally:
        stop_workers([second])
    with session_scope(get_engine()) as session:
        fetches = session.exec(select(NodeRun).where(NodeRun.run_id == hanging, NodeRun.node_id == "fetch")).all()
    assert sorted(row.status for row in fetches) == [NodeRunStatus.CANCELLED, NodeRunStatus.FAILED]


async def _events(run_id: str) -> list[str]:
    stream = open_event_stream(get_settings())
    try:
        return [event.type for event in await stream.history(run_id)]
    finally:
        await stream.close()
