"""Run leases on the real databases: compare-and-set claims, fenced writes, and the heartbeat losing a run."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.config import get_settings
from runtime.engine import compile_workflow, run_compiled
from runtime.executor.checkpointer import LeaseLost, open_checkpointer
from runtime.executor.dispatch import create_run, trigger_payload
from runtime.executor.lease import Leases
from runtime.executor.recorder import Claim, NodeRunStarted, apply_writes, run_ended
from runtime.executor.services import run_services
from runtime.graph.schema import WorkflowDocument
from runtime.store import NodeRun, Run, RunStatus, RunTrigger, get_engine, new_id, session_scope, utcnow
from tests.runtime.executor.conftest import store_workflow
from tests.runtime.executor.test_in_process import GREETING

RUNS: sa.Table = Run.__table__  # type: ignore[attr-defined]


def queued_run(workspace_id: str) -> str:
    workflow_id = store_workflow(workspace_id, GREETING)
    with session_scope(get_engine()) as session:
        return create_run(session, workspace_id, workflow_id, trigger_payload({"name": "Ada"}), RunTrigger.API).id


def write(*writes: Any) -> list[Any]:
    with get_engine().begin() as connection:
        return apply_writes(connection, list(writes))


def row(run_id: str) -> Run:
    with session_scope(get_engine()) as session:
        found = session.get(Run, run_id)
        assert found is not None
        return found


def expire(run_id: str) -> None:
    with get_engine().begin() as connection:
        connection.execute(
            sa.update(RUNS).where(RUNS.c.id == run_id).values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )


def test_one_claimer_wins_and_an_expired_lease_is_claimed_again_under_a_new_epoch(configured: str) -> None:
    run_id = queued_run(configured)

    first, second = write(Claim(run_id, "worker-a", 15, 3), Claim(run_id, "worker-b", 15, 3))
    assert first is not None and second is None
    assert (first.lease_epoch, first.attempts) == (1, 1)
    stored = row(run_id)
    assert stored.status is RunStatus.RUNNING and stored.lease_owner == "worker-a"
    assert stored.lease_expires_at is not None and stored.lease_expires_at > utcnow() + timedelta(seconds=10)

    assert write(Claim(run_id, "worker-b", 15, 3)) == [None]  # the lease is live
    expire(run_id)
    [taken] = write(Claim(run_id, "worker-b", 15, 3))
    assert taken is not None and (taken.lease_epoch, taken.attempts) == (2, 2)
    assert row(run_id).lease_owner == "worker-b"

    expire(run_id)
    assert write(Claim(run_id, "worker-c", 15, 2)) == [None]  # out of attempts: left to the reaper


def test_writes_under_a_stale_epoch_are_dropped_in_the_same_batch_as_fresh_ones(configured: str) -> None:
    run_id = queued_run(configured)
    [claimed] = write(Claim(run_id, "worker-a", 15, 3))
    expire(run_id)
    [retaken] = write(Claim(run_id, "worker-b", 15, 3))

    def started(epoch: int) -> NodeRunStarted:
        values = {"id": new_id("nr"), "workspace_id": configured, "run_id": run_id, "node_id": f"n{epoch}",
                  "attempt": 1, "status": "running", "input": None, "output": None, "error": None,
                  "started_at": utcnow(), "finished_at": None}  # fmt: skip
        return NodeRunStarted(values, epoch)

    stale_end = run_ended(run_id, claimed.lease_epoch, RunStatus.FAILED, None, {"message": "stale"})
    results = write(started(claimed.lease_epoch), started(retaken.lease_epoch), stale_end)

    assert results[2] is False
    with session_scope(get_engine()) as session:
        nodes = session.exec(sa.select(NodeRun.node_id).where(NodeRun.run_id == run_id)).scalars().all()
    assert nodes == [f"n{retaken.lease_epoch}"]
    assert row(run_id).status is RunStatus.RUNNING  # the stale executor's "failed" was refused
    assert write(run_ended(run_id, retaken.lease_epoch, RunStatus.SUCCEEDED, 1, None)) == [True]
    assert row(run_id).status is RunStatus.SUCCEEDED


def test_a_checkpoint_write_under_a_stale_epoch_is_refused(configured: str) -> None:
    run_id = queued_run(configured)
    [claimed] = write(Claim(run_id, "worker-a", 15, 3))
    expire(run_id)
    write(Claim(run_id, "worker-b", 15, 3))
    compiled = compile_workflow(WorkflowDocument.model_validate(GREETING))

    async def run_as_stale_worker() -> None:
        settings = get_settings()
        async with (
            open_checkpointer(settings.resolved_database_url) as checkpointer,
            run_services(settings, configured, run_id) as services,
        ):
            trigger = trigger_payload({"name": "Ada"})
            await run_compiled(compiled, trigger, run_id=run_id, services=services, emit=_ignore,
                               checkpointer=checkpointer, lease_epoch=claimed.lease_epoch)  # fmt: skip

    with pytest.raises(LeaseLost):
        asyncio.run(run_as_stale_worker())
    with get_engine().connect() as connection:
        query = sa.text("SELECT count(*) FROM checkpoints WHERE thread_id = :run_id")
        stored = connection.execute(query, {"run_id": run_id}).scalar()
    assert stored == 0


def test_the_heartbeat_extends_held_leases_and_stops_a_run_whose_lease_was_taken(configured: str) -> None:
    kept, taken = queued_run(configured), queued_run(configured)
    write(Claim(kept, "worker-a", 15, 3), Claim(taken, "worker-a", 15, 3))
    before = row(kept).lease_expires_at

    async def scenario() -> tuple[bool, bool]:
        leases = Leases("worker-a")
        sleepers = {run_id: asyncio.create_task(_hold(leases, run_id)) for run_id in (kept, taken)}
        await asyncio.sleep(0.05)
        expire(taken)
        write(Claim(taken, "worker-b", 15, 3))  # another worker takes it over
        await leases.beat()
        await asyncio.wait(sleepers.values(), timeout=2)
        return sleepers[kept].done(), sleepers[taken].cancelled()

    kept_done, taken_cancelled = asyncio.run(scenario())

    assert taken_cancelled and not kept_done
    assert row(kept).lease_expires_at > before  # type: ignore[operator]
    assert row(taken).lease_owner == "worker-b"


def test_after_a_stall_a_node_starts_only_once_the_lease_is_extended_and_not_if_it_was_taken(configured: str) -> None:
    kept, taken = queued_run(configured), queued_run(configured)
    write(Claim(kept, "worker-a", 15, 3), Claim(taken, "worker-a", 15, 3))

    async def scenario() -> tuple[bool, bool]:
        leases = Leases("worker-a")
        stalled_since = time.monotonic() - 15  # claimed a lease ago: the process stalled since, no heartbeat
        for run_id in (kept, taken):
            leases.hold(run_id, row(run_id).lease_epoch, stalled_since)
        expire(taken)
        write(Claim(taken, "worker-b", 15, 3))  # another worker took this one meanwhile
        return await leases.ensure(kept), await leases.ensure(taken)

    assert asyncio.run(scenario()) == (True, False)
    assert row(kept).lease_expires_at > utcnow() + timedelta(seconds=10)  # type: ignore[operator]
    assert row(taken).lease_owner == "worker-b"


async def _hold(leases: Leases, run_id: str) -> None:
    leases.hold(run_id, row(run_id).lease_epoch, time.monotonic())
    await asyncio.sleep(30)


async def _ignore(*_: Any) -> None:
    return None
