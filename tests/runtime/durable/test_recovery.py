"""Recovery end to end in one process: a run whose executor stops heartbeating is reaped, resumed from its
checkpoint by another executor, and the stale executor's late writes are refused; runs out of attempts
fail with `worker_lost`; the reconciler re-queues runs Redis lost."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from runtime.config import get_settings
from runtime.executor.dispatch import start_run, trigger_payload
from runtime.executor.execute import RunExecutor
from runtime.executor.node_runs import NodeRunRecorder
from runtime.executor.reaper import reap_expired, reconcile_queue
from runtime.executor.recorder import Claim
from runtime.ops import render_metrics
from runtime.store import Run, RunStatus, RunTrigger, get_engine, session_scope, utcnow
from tests.loopback import LoopbackServer
from tests.runtime.durable.test_lease import expire, queued_run, row, write
from tests.runtime.executor.conftest import REDIS_URL, QueueMode, store_workflow
from tests.runtime.executor.test_in_process import document, history

RUNS: sa.Table = Run.__table__  # type: ignore[attr-defined]


@pytest.fixture
def short_leases(
    configured: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, LoopbackServer, LoopbackServer]]:
    """1 s leases beaten every 0.2 s, and two servers nodes may call: a quick one and a 3 s one."""
    quick, slow = LoopbackServer(delay_s=0.05), LoopbackServer(delay_s=3)
    monkeypatch.setenv("TRELLIS_LEASE_S", "1")
    monkeypatch.setenv("TRELLIS_HEARTBEAT_S", "0.2")
    monkeypatch.setenv("TRELLIS_EGRESS_ALLOWED_PORTS", f"80,443,{quick.port},{slow.port}")
    get_settings.cache_clear()
    yield configured, quick, slow
    quick.close()
    slow.close()


def two_calls(quick: LoopbackServer, slow: LoopbackServer) -> dict[str, Any]:
    return document([
        {"id": "start", "type": "manual_trigger"},
        {"id": "first", "type": "http_request", "params": {"url": quick.url("/first")}},
        {"id": "slow", "type": "http_request", "params": {"url": slow.url("/slow")}},
        {"id": "result", "type": "output", "params": {"value": "{{ nodes.slow.output.status }}"}},
    ])  # fmt: skip


FROZEN_THREAD = "frozen-executor"


class FrozenExecutor:
    """An executor on its own thread and loop whose heartbeat can be stopped (a hung or cut-off worker)."""

    def __init__(self, run_id: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.executor: RunExecutor | None = None
        self.result: Any = "unset"
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._execute(run_id),),
                                       name=FROZEN_THREAD)  # fmt: skip
        self.thread.start()

    async def _execute(self, run_id: str) -> None:
        self.executor = RunExecutor(get_settings(), owner="frozen")
        try:
            self.result = await self.executor.execute(run_id)
        finally:
            await self.executor.aclose()

    def stop_heartbeat(self) -> None:
        def cancel() -> None:
            assert self.executor is not None and self.executor._heartbeat is not None
            self.executor._heartbeat.cancel()

        self.loop.call_soon_threadsafe(cancel)


def wait_for(condition: Any, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_run_whose_executor_stops_heartbeating_resumes_elsewhere_and_the_stale_one_is_fenced(short_leases) -> None:  # type: ignore[no-untyped-def]
    workspace_id, quick, slow = short_leases
    workflow_id = store_workflow(workspace_id, two_calls(quick, slow))
    run_id = queued_run_of(workspace_id, workflow_id)
    frozen = FrozenExecutor(run_id)
    wait_for(lambda: slow.requests == 1)
    frozen.stop_heartbeat()
    wait_for(lambda: row(run_id).lease_expires_at < utcnow())  # type: ignore[operator]

    assert reap_expired(get_settings(), utcnow()) == [run_id]  # handed to this process's executor
    wait_for(lambda: row(run_id).status not in (RunStatus.QUEUED, RunStatus.RUNNING))
    frozen.thread.join(timeout=10)

    finished = row(run_id)
    assert finished.status is RunStatus.SUCCEEDED and finished.output == 200
    assert finished.attempts == 2
    assert frozen.result is None  # its checkpoint after `slow` was refused: it wrote nothing more
    assert quick.requests == 1  # finished before the executor froze: not run again
    assert slow.requests == 2  # in flight when it froze: run again, with the same idempotency key
    assert slow.idempotency_keys == [f"{run_id}:slow", f"{run_id}:slow"]
    events = [event.type for event in history(run_id)]
    assert events.count("run_started") == 1 and events.count("run_resumed") == 1
    assert events.count("run_finished") == 1 and events[-1] == "run_finished"


def test_an_executor_stalled_as_a_node_starts_does_not_run_it_once_another_executor_did(
    short_leases, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """An executor may stall past its lease right as a node starts (a synchronous read of a hung database,
    or anything else blocking its event loop, heartbeat included). Meanwhile the run is resumed and finished
    by another executor. When the stalled one wakes, before its heartbeat notices, the node must not run:
    it would call the world a second time after the node had succeeded."""
    workspace_id, quick, _ = short_leases
    steps = [{"id": "start", "type": "manual_trigger"},
             {"id": "first", "type": "http_request", "params": {"url": quick.url("/first")}}]  # fmt: skip
    run_id = queued_run_of(workspace_id, store_workflow(workspace_id, document(steps)))
    stalled, woken, record = threading.Event(), threading.Event(), NodeRunRecorder.record

    def stalling_as_first_starts(recorder: NodeRunRecorder, event_type: str, node_id: str | None, data: Any) -> None:
        if threading.current_thread().name == FROZEN_THREAD and (event_type, node_id) == ("node_started", "first"):
            stalled.set()
            woken.wait(timeout=30)  # blocks the executor's whole event loop
        record(recorder, event_type, node_id, data)

    monkeypatch.setattr(NodeRunRecorder, "record", stalling_as_first_starts)
    frozen = FrozenExecutor(run_id)
    wait_for(stalled.is_set)
    wait_for(lambda: row(run_id).lease_expires_at < utcnow())  # type: ignore[operator]
    assert reap_expired(get_settings(), utcnow()) == [run_id]
    wait_for(lambda: row(run_id).status is RunStatus.SUCCEEDED)
    assert quick.requests == 1

    frozen.stop_heartbeat()  # it would notice soon, but the node would start first (it did in an outage)
    woken.set()
    frozen.thread.join(timeout=10)
    assert frozen.result is None  # it found the run held by another executor and stopped
    assert quick.requests == 1
    assert row(run_id).status is RunStatus.SUCCEEDED


def queued_run_of(workspace_id: str, workflow_id: str) -> str:
    """A stored queued run that no executor was told about (the frozen one takes it)."""
    from runtime.executor.dispatch import create_run

    with session_scope(get_engine()) as session:
        return create_run(session, workspace_id, workflow_id, trigger_payload({}), RunTrigger.API).id


def test_a_run_whose_executor_dies_on_every_attempt_fails_with_worker_lost(configured: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRELLIS_MAX_RUN_ATTEMPTS", "2")
    get_settings.cache_clear()
    run_id = queued_run(configured)
    for owner in ("dead-1", "dead-2"):
        assert write(Claim(run_id, owner, 15, 2)) != [None]
        expire(run_id)

    assert reap_expired(get_settings(), utcnow()) == [run_id]

    lost = row(run_id)
    assert lost.status is RunStatus.FAILED and lost.error["reason"] == "worker_lost"  # type: ignore[index]
    finished = [event for event in history(run_id) if event.type == "run_finished"]
    assert finished and finished[-1].data["error"]["reason"] == "worker_lost"
    assert reap_expired(get_settings(), utcnow()) == []


def test_the_reconciler_requeues_runs_redis_lost_once(queue_mode: QueueMode) -> None:
    from tests.runtime.executor.test_rq import _workspace_id

    workspace_id = _workspace_id()
    workflow_id = store_workflow(workspace_id, document([{"id": "start", "type": "manual_trigger"}]))
    settings = get_settings()
    lost, stranded = (start_run(settings, workspace_id, workflow_id, trigger_payload({}), RunTrigger.API)[0]
                      for _ in range(2))  # fmt: skip
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()  # Redis lost everything
    client.lpush("rq:queue:trellis:intermediate", stranded)  # a worker took this one and died before claiming
    assert reconcile_queue(settings, utcnow()) == []  # too young: they may be in flight
    later = utcnow() + timedelta(seconds=30)

    assert sorted(reconcile_queue(settings, later)) == sorted([lost, stranded])

    assert sorted(item.decode() for item in client.lrange("rq:queue:trellis", 0, -1)) == sorted([lost, stranded])
    assert client.llen("rq:queue:trellis:intermediate") == 0
    assert reconcile_queue(settings, later) == []  # in the queue now: nothing to do
    assert 'trellis_run_recoveries_total{reason="redis_reconcile"}' in render_metrics(settings).decode()
