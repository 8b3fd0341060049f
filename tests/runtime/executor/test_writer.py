"""`RunWriter` + `apply_writes` on the test database: batched claims and node runs, a bad write fails alone."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from runtime.executor.dispatch import create_run, trigger_payload
from runtime.executor.node_runs import NodeRunRecorder
from runtime.executor.recorder import Claim, ClaimedRun, RunWrite, apply_writes, run_ended
from runtime.executor.writer import RunWriter
from runtime.store import NodeRun, NodeRunStatus, Run, RunStatus, RunTrigger, get_engine, session_scope
from tests.runtime.executor.conftest import store_workflow
from tests.runtime.executor.test_in_process import GREETING


def queued_runs(workspace_id: str, count: int) -> list[str]:
    workflow_id = store_workflow(workspace_id, GREETING)
    with session_scope(get_engine()) as session:
        return [create_run(session, workspace_id, workflow_id, trigger_payload({}), RunTrigger.API).id
                for _ in range(count)]  # fmt: skip


def claim(run_id: str) -> Claim:
    return Claim(run_id, "test-writer", 15, 3)


def test_one_batch_claims_each_run_once_and_a_write_for_no_held_run_is_dropped(configured: str) -> None:
    run_ids = queued_runs(configured, 3)

    async def scenario() -> tuple[list[Any], list[Any]]:
        writer: RunWriter[RunWrite] = RunWriter(apply_writes)
        try:
            # Given one batch: three claims, a second claim of the first run, and a node run of no run
            orphan = NodeRunRecorder(writer, configured, "run_does_not_exist", 1)
            claims = [writer.write(claim(run_id)) for run_id in [*run_ids, run_ids[0]]]
            orphan.record("node_started", "ghost", {"attempt": 1})
            claimed = await asyncio.gather(*claims, return_exceptions=True)
            again = await asyncio.gather(*(writer.write(claim(run_id)) for run_id in run_ids))
            return claimed, again
        finally:
            await writer.aclose()

    claimed, again = asyncio.run(scenario())
    # Then each run is handed out once, to its first claim, and the orphan (no run holds its epoch) is dropped
    assert [isinstance(result, ClaimedRun) for result in claimed] == [True, True, True, False]
    assert claimed[3] is None
    assert again == [None, None, None]  # already running: nobody claims them again
    with session_scope(get_engine()) as session:
        assert {run.status for run in session.exec(select(Run))} == {RunStatus.RUNNING}
        assert list(session.exec(select(NodeRun))) == []


def test_node_runs_are_stored_before_the_awaited_final_status(configured: str) -> None:
    [run_id] = queued_runs(configured, 1)

    async def scenario() -> None:
        writer: RunWriter[RunWrite] = RunWriter(apply_writes)
        try:
            claimed = await writer.write(claim(run_id))
            nodes = NodeRunRecorder(writer, configured, run_id, claimed.lease_epoch)
            nodes.record("node_started", "start", {"attempt": 1, "input": {"a": 1}})
            nodes.record("node_finished", "start", {"attempt": 1, "output": {"b": 2}})
            nodes.record("node_started", "greet", {"attempt": 1})
            nodes.record("node_failed", "greet", {"attempt": 1, "error": "boom", "retryable": False})
            nodes.record("node_skipped", "result", {})
            ended = run_ended(
                run_id, claimed.lease_epoch, RunStatus.FAILED, None, {"node_id": "greet", "message": "boom"}
            )
            assert await writer.write(ended) is True
            # Then, the moment the final status is committed, every node run is already there
            with get_engine().connect() as connection:
                rows = connection.execute(sa.select(NodeRun.node_id, NodeRun.status, NodeRun.output, NodeRun.error)
                                          .where(NodeRun.run_id == run_id)).all()  # fmt: skip
            assert sorted(rows) == [
                ("greet", NodeRunStatus.FAILED, None, {"message": "boom", "retryable": False}),
                ("result", NodeRunStatus.SKIPPED, None, None),
                ("start", NodeRunStatus.SUCCEEDED, {"b": 2}, None),
            ]
        finally:
            await writer.aclose()

    asyncio.run(scenario())
