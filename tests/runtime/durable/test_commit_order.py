"""The order of a run's two commits per node (its node_run record, the checkpoint holding its output) and
what a crash between them leaves, on the real databases; and a frozen writer not blocking a takeover.

Each test stops the executor exactly between the two commits instead of killing it at random (the
chaos suite, `tests/chaos/test_kill.py`, does that under load)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.config import get_settings
from runtime.executor.checkpointer import FencedPostgresSaver, FencedSqliteSaver
from runtime.executor.execute import RunExecutor
from runtime.executor.reaper import reap_expired
from runtime.executor.recorder import Claim, NodeRunStarted, apply_writes
from runtime.store import NodeRun, RunStatus, get_engine, new_id, session_scope, utcnow
from tests.runtime.durable.test_lease import expire, queued_run, row
from tests.runtime.durable.test_recovery import wait_for

GREET = "out:greet"
"""The state channel of the GREETING workflow's middle node (`set`, output `{"text": "Hello Ada"}`)."""


class CheckpointGate:
    """Holds back every checkpoint write holding `channel` (the task's pending writes and the superstep's
    checkpoint) until `go` is set: the moment between a node's end and its output's commit, made long."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, channel: str) -> None:
        self.channel = channel
        self.reached = asyncio.Event()
        self.go = asyncio.Event()
        for saver in (FencedPostgresSaver, FencedSqliteSaver):
            monkeypatch.setattr(saver, "aput", self._gated(saver.aput, lambda args: args[3]))
            monkeypatch.setattr(
                saver, "aput_writes", self._gated(saver.aput_writes, lambda args: [c for c, _ in args[1]])
            )

    def _gated(self, put: Callable[..., Any], channels: Callable[[Sequence[Any]], Any]) -> Callable[..., Any]:
        async def gated(saver: Any, *args: Any) -> Any:
            if self.channel in channels(args):
                self.reached.set()
                await self.go.wait()
            return await put(saver, *args)

        return gated


def _checkpoint_channels(args: Sequence[Any]) -> Any:
    return args[3]  # aput(config, checkpoint, metadata, new_versions)


def _written_channels(args: Sequence[Any]) -> list[str]:
    return [name for name, _ in args[1]]  # aput_writes(config, writes, task_id, ...)


def node_runs(run_id: str) -> dict[str, list[tuple[str, Any]]]:
    """(status, output) of every node run of the run, by node id, oldest first."""
    query = sa.select(NodeRun).where(NodeRun.run_id == run_id).order_by(NodeRun.started_at)  # type: ignore[arg-type]
    found: dict[str, list[tuple[str, Any]]] = {}
    with session_scope(get_engine()) as session:
        for node_run in session.exec(query).scalars():  # type: ignore[call-overload]
            found.setdefault(node_run.node_id, []).append((node_run.status.value, node_run.output))
    return found


async def committed(executor: RunExecutor) -> None:
    """Return once everything the executor's writer had queued is committed (batches commit in order)."""
    await executor.writer.write(Claim("run_nobody", "probe", 15, 1))


def test_a_node_is_recorded_succeeded_only_once_its_output_is_checkpointed(
    configured: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = queued_run(configured)
    gate = CheckpointGate(monkeypatch, GREET)

    async def scenario() -> tuple[dict[str, list[tuple[str, Any]]], RunStatus | None]:
        executor = RunExecutor()
        try:
            execution = asyncio.create_task(executor.execute(run_id))
            await asyncio.wait_for(gate.reached.wait(), 30)
            await asyncio.sleep(0.2)  # greet's end was reported before its checkpoint write began
            await committed(executor)
            between = node_runs(run_id)
            gate.go.set()
            return between, await asyncio.wait_for(execution, 30)
        finally:
            gate.go.set()
            await executor.aclose()

    between, status = asyncio.run(scenario())

    # A crash now would resume before greet and run it again: its record must not say it succeeded yet.
    assert [status for status, _ in between["start"]] == ["succeeded"]
    assert [status for status, _ in between["greet"]] == ["running"]
    assert status is RunStatus.SUCCEEDED
    after = node_runs(run_id)
    assert after["greet"] == [("succeeded", {"text": "Hello Ada"})]
    assert [status for status, _ in after["result"]] == ["succeeded"]


def test_a_run_resumed_after_a_node_was_checkpointed_but_not_recorded_shows_that_node_succeeded(
    configured: str,
) -> None:
    run_id = queued_run(configured)

    async def scenario() -> tuple[dict[str, list[tuple[str, Any]]], RunStatus | None]:
        first, second = RunExecutor(), RunExecutor()
        release = first.held_ends.stored

        def crash_once_greet_is_checkpointed(stored_run: str, channels: Any) -> None:
            channels = list(channels)
            if GREET in channels:  # the executor stops here: greet's record is never written
                first.leases.lose(stored_run)
                return
            release(stored_run, channels)

        first.held_ends.stored = crash_once_greet_is_checkpointed  # type: ignore[method-assign]
        try:
            assert await first.execute(run_id) is None
        finally:
            await first.aclose()  # its connections go with it, as a dead worker's do
        left = node_runs(run_id)
        expire(run_id)
        try:
            return left, await second.execute(run_id)
        finally:
            await second.aclose()

    left, status = asyncio.run(scenario())

    assert [status for status, _ in left["greet"]] == ["running"]  # what the crash left
    assert status is RunStatus.SUCCEEDED and row(run_id).output == "Hello Ada"
    after = node_runs(run_id)
    # greet was not run again (its output came from the checkpoint), and its one record says so
    assert after["greet"] == [("succeeded", {"text": "Hello Ada"})]
    assert [status for status, _ in after["result"]] == ["succeeded"]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_writer_frozen_inside_its_transaction_does_not_keep_the_reaper_off_the_run(
    configured: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRELLIS_LEASE_S", "1")
    get_settings.cache_clear()
    run_id = queued_run(configured)
    with get_engine().begin() as connection:
        [claimed] = apply_writes(connection, [Claim(run_id, "frozen-worker", 1, 3)])
    started = {"id": new_id("nr"), "workspace_id": configured, "run_id": run_id, "node_id": "greet", "attempt": 1,
               "status": "running", "input": None, "output": None, "error": None, "handles": None,
               "started_at": utcnow(), "finished_at": None}  # fmt: skip
    expire(run_id)  # the worker froze before its next heartbeat...
    frozen = get_engine().connect()
    try:
        frozen.begin()  # ...inside a write: it holds the run row FOR SHARE
        apply_writes(frozen, [NodeRunStarted(started, claimed.lease_epoch)])
        assert reap_expired(get_settings(), utcnow()) == []  # the frozen writer's lock hides the run
        time.sleep(0.8)  # past half the 1 s lease: the server ends the frozen transaction
        assert reap_expired(get_settings(), utcnow()) == [run_id]
    finally:
        frozen.invalidate()
        frozen.close()
    wait_for(lambda: row(run_id).status is RunStatus.SUCCEEDED)  # this process's executor took it over
