"""Running one stored run from start to end: what a worker job and the in-process executor call."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from functools import lru_cache, partial
from typing import Any

import redis.asyncio as redis_async
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import GraphDrained
from langgraph.runtime import RunControl

from runtime.config import Settings, get_settings
from runtime.engine import CompiledWorkflow, RunOutcome, compile_workflow, run_compiled
from runtime.errors import WorkflowInvalid
from runtime.events import RUN_FINISHED, EventBatcher, EventStream, RedisEventStream, open_event_stream
from runtime.executor.cancel import cancel_requested, forget_cancel
from runtime.executor.checkpointer import LeaseLost, open_checkpointer
from runtime.executor.held_ends import HeldEnds, settle_abandoned
from runtime.executor.lease import DATABASE_UNAVAILABLE, HeldRun, Leases, lease_owner
from runtime.executor.node_runs import NodeRunRecorder
from runtime.executor.recorder import (
    Claim,
    ClaimedRun,
    NodeRunEnded,
    Released,
    RunWrite,
    apply_writes,
    run_ended,
    run_waiting,
)
from runtime.executor.replays import load_replay
from runtime.executor.services import run_services
from runtime.executor.writer import RunWriter
from runtime.graph.schema import WorkflowDocument
from runtime.metrics import RunMeter
from runtime.store import NodeRunStatus, RunStatus, WorkflowVersion, get_engine, session_scope
from runtime.store.approvals import any_decided, reopen_waiting_run

log = logging.getLogger(__name__)

CANCEL_POLL_S = 0.2
STOPPED = {"node_id": None, "message": "The worker stopped before the run finished."}
Emit = Callable[[str, str | None, dict[str, Any]], Awaitable[None]]
RunEnd = tuple[RunStatus, Any, dict[str, Any] | None]
RUN_RESUMED = "run_resumed"
NODE_STARTED = "node_started"
OUTCOME_STATUS = {"succeeded": RunStatus.SUCCEEDED, "failed": RunStatus.FAILED, "waiting": RunStatus.WAITING}


def _uncancel() -> None:
    """Swallow the cancellation that stopped this run's task (it was ours: lease lost or handed back)."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


async def run_with_limits(
    work: Awaitable[RunOutcome], timeout_s: float, is_cancelled: Callable[[], Awaitable[bool]]
) -> tuple[RunStatus, RunOutcome | None, dict[str, Any] | None]:
    """Await the engine under the whole-run time limit, stopping it when a cancel is requested."""
    task = asyncio.ensure_future(work)
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not task.done():
        try:
            await asyncio.wait({task}, timeout=CANCEL_POLL_S)
        except asyncio.CancelledError:  # our caller is stopping: stop the engine too, and let it unwind
            task.cancel()
            await asyncio.wait({task})
            raise
        if task.done():
            break
        reason = "timeout" if asyncio.get_running_loop().time() >= deadline else None
        if reason is None and await is_cancelled():
            reason = "cancelled"
        if reason:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if reason == "cancelled":
                return RunStatus.CANCELLED, None, {"node_id": None, "message": "The run was cancelled."}
            message = f"The run took longer than its {timeout_s:g} s limit and was stopped."
            return RunStatus.FAILED, None, {"node_id": None, "message": message, "reason": "timeout"}
    outcome = task.result()
    return OUTCOME_STATUS[outcome.status], outcome, outcome.error


@lru_cache(maxsize=256)
def compiled_version(version_id: str) -> CompiledWorkflow:
    """The compiled graph of a stored version; versions never change, so it is compiled once per process."""
    with session_scope(get_engine()) as session:
        version = session.get(WorkflowVersion, version_id)
        assert version is not None  # runs reference their version by foreign key
        document = WorkflowDocument.model_validate(version.document)
    return compile_workflow(document)


def node_types(version_id: str) -> dict[str, str]:
    """`{node_id: node_type}` of a stored version (compiled once per process)."""
    return {node.id: node.type for node in compiled_version(version_id).document.nodes}


class RunExecutor:
    """Executes stored runs on the running event loop; any number at once, sharing clients and one writer.

    Create it inside the loop that uses it. With `settings` None, each run reads `get_settings()`
    (the in-process executor outlives settings changes); a worker passes its settings once. Every run
    it claims is held under a lease owned by `owner` (see `runtime.executor.lease`).
    """

    def __init__(self, settings: Settings | None = None, *, owner: str | None = None) -> None:
        self._settings = settings
        self.owner = owner or lease_owner()
        self.writer: RunWriter[RunWrite] = RunWriter(apply_writes)
        self.held_ends = HeldEnds(self.writer)
        self._stream: RedisEventStream | None = None
        self._batcher: EventBatcher | None = None
        self._redis: redis_async.Redis | None = None
        self._checkpointer: tuple[str, BaseCheckpointSaver, AsyncExitStack] | None = None
        self.leases = Leases(self.owner, settings)
        self._heartbeat: asyncio.Task[None] | None = None
        self._controls: dict[str, RunControl] = {}
        self._handing_back = False
        self._resume_now: set[str] = set()
        """Runs that paused at an approval decided meanwhile: executed again at once."""

    async def checkpointer(self, settings: Settings) -> BaseCheckpointSaver:
        """The checkpointer on the configured database, opened on first use and closed by `aclose`
        (or when the configured database changes, as it does between tests)."""
        url = settings.resolved_database_url
        if self._checkpointer is None or self._checkpointer[0] != url:
            await self._close_checkpointer()
            closing = AsyncExitStack()
            opened = open_checkpointer(url, on_stored=self.held_ends.stored, lease_s=settings.lease_s)
            self._checkpointer = (url, await closing.enter_async_context(opened), closing)
        return self._checkpointer[1]

    async def _close_checkpointer(self) -> None:
        if self._checkpointer is not None:
            _, _, closing = self._checkpointer
            self._checkpointer = None
            await closing.aclose()

    def drain(self) -> None:
        """Stop every run after the nodes in flight; each is handed back (`execute` returns `queued`)."""
        for control in self._controls.values():
            control.request_drain("the worker is stopping")

    def hand_back_on_cancel(self) -> None:
        """From now on a run whose task is cancelled is handed back (queued again) instead of failed."""
        self._handing_back = True

    async def execute(self, run_id: str) -> RunStatus | None:
        """Run a claimable run to its end, streaming events and recording node runs; None if not claimable.

        A queued run starts (`run_started`); a run whose executor died or let it go resumes from its
        last checkpoint (`run_resumed`). Whatever happens (a node failing, a bug, a cancel), the run
        ends with a stored final status and a `run_finished` event, in that order, with three
        exceptions that leave the run to another executor and write nothing more: its lease was lost
        (None), the database became unavailable (None; the lease expires and the reaper resumes it), or it was
        drained or cancelled while the executor hands runs back (`queued`).
        Database errors while claiming propagate (nothing was taken).
        """
        settings = self._settings or get_settings()
        claim = Claim(run_id, self.owner, settings.lease_s, settings.max_run_attempts)
        asked = time.monotonic()  # the lease the claim sets lasts at least until a lease after this
        run: ClaimedRun | None = await self.writer.write(claim)
        if run is None:
            return None
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self.leases.keep_alive(), name="trellis-lease-heartbeat")
        held = self.leases.hold(run_id, run.lease_epoch, asked)
        self._controls[run_id] = RunControl()
        try:
            status = await self._execute_held(settings, run, held)
        finally:
            self.leases.drop(run_id)
            self.held_ends.drop(run_id)  # left only when another executor resumes the run
            self._controls.pop(run_id, None)
        if run_id in self._resume_now:
            self._resume_now.discard(run_id)
            return await self.execute(run_id)
        return status

    async def _execute_held(self, settings: Settings, run: ClaimedRun, held: HeldRun) -> RunStatus | None:
        run_id = run.id
        stream, batcher, redis = self._clients(settings)
        nodes = NodeRunRecorder(self.writer, run.workspace_id, run_id, run.lease_epoch, self._holding(run))
        meter = RunMeter(str(run.trigger), lambda: node_types(run.workflow_version_id))

        async def emit(event_type: str, node_id: str | None, data: dict[str, Any]) -> None:
            if not held.lost:  # else another executor owns the run's stream now
                await record(event_type, node_id, data)
            # Last, right before the node runs: were the lease taken meanwhile, the node would repeat what the
            # other executor ran (its writes are refused, its calls to the world are not).
            if event_type == NODE_STARTED and not await self.leases.ensure(run_id):
                raise LeaseLost(run_id)

        async def record(event_type: str, node_id: str | None, data: dict[str, Any]) -> None:
            nodes.record(event_type, node_id, data)
            meter.record(event_type, node_id, data)
            if batcher is None:
                await stream.append(run_id, event_type, node_id, data)
                return
            stored = batcher.append(run_id, event_type, node_id, data)
            if event_type == RUN_FINISHED:  # readers see the run end only once this is stored
                await stored

        status, output, error = RunStatus.FAILED, None, STOPPED
        try:
            details = {"workflow_id": run.workflow_id, "trigger": str(run.trigger), "attempt": run.attempts}
            await emit(RUN_RESUMED if run.attempts > 1 else "run_started", None, details)
            checkpointer = await self.checkpointer(settings)
            if run.attempts > 1:
                types = partial(node_types, run.workflow_version_id)
                if not await settle_abandoned(self.writer, checkpointer, run.id, run.lease_epoch, types):
                    raise LeaseLost(run.id)
            control = self._controls[run_id]
            status, output, error = await _run_document(settings, run, redis, emit, checkpointer, control)
        except GraphDrained:
            return await self._hand_back(run, held)
        except (LeaseLost, *DATABASE_UNAVAILABLE) as failure:
            log.warning("Run %s stops here, another executor resumes it: %s", run_id, failure)
            held.lost = True
            return None
        except asyncio.CancelledError:
            if held.lost or self._handing_back:
                _uncancel()
                return None if held.lost else await self._hand_back(run, held)
            await self._end(run, held, nodes, meter, emit, (status, output, error))
            raise
        except Exception as failure:  # the worker boundary: a bug fails this run, never its neighbours
            log.exception("Run %s failed unexpectedly", run_id)
            error = {"node_id": None, "message": f"Internal error: {type(failure).__name__}: {failure}"}
        if status is RunStatus.WAITING:
            return await self._pause(run, held, emit, output)
        stored = await self._end(run, held, nodes, meter, emit, (status, output, error))
        return status if stored else None

    def _holding(self, run: ClaimedRun) -> Callable[[str, NodeRunEnded], bool]:
        """Keeps back the end of each main-flow node until its output is checkpointed (`held_ends`); the
        nodes of loop branches and agent tools are written at once (their output is their parent's)."""

        def hold(node_id: str, end: NodeRunEnded) -> bool:
            if node_id not in compiled_version(run.workflow_version_id).main_ids:
                return False
            self.held_ends.hold(node_id, end)
            return True

        return hold

    async def _pause(self, run: ClaimedRun, held: HeldRun, emit: Emit, waiting_on: list[str]) -> RunStatus | None:
        """Store the run `waiting` at its approvals and let it go (its checkpoint holds its state); a decision
        requeues it. One made while it was pausing found it still running: then it is resumed here at once."""
        self.held_ends.release(run.id)  # its outputs are stored: the pause came after them
        if not await self.writer.write(run_waiting(run.id, run.lease_epoch)):
            held.lost = True
            return None
        forget_cancel(run.id)
        await emit("run_waiting", None, {"status": RunStatus.WAITING.value, "waiting_on": waiting_on})
        if await asyncio.to_thread(_decided_meanwhile, run, waiting_on):
            self._resume_now.add(run.id)
        return RunStatus.WAITING

    async def _end(
        self, run: ClaimedRun, held: HeldRun, nodes: NodeRunRecorder, meter: RunMeter, emit: Emit, end: RunEnd
    ) -> bool:
        """Store the run's final status, then send `run_finished`; False if the lease was lost meanwhile."""
        status, output, error = end
        self.held_ends.release(run.id)  # it ends here: nothing re-runs these nodes
        if status is not RunStatus.SUCCEEDED:
            open_status = NodeRunStatus.CANCELLED if status is RunStatus.CANCELLED else NodeRunStatus.FAILED
            nodes.close_open(open_status, (error or {}).get("message", ""))
        self.leases.drop(run.id)  # its status leaves `running`: the heartbeat must not take that for a lost lease
        stored = await self.writer.write(run_ended(run.id, run.lease_epoch, status, output, error))
        forget_cancel(run.id)
        if not stored:
            held.lost = True
            return False
        meter.finish(status.value)
        await emit(RUN_FINISHED, None, {"status": status.value, "output": output, "error": error})
        return True

    async def _hand_back(self, run: ClaimedRun, held: HeldRun) -> RunStatus | None:
        """Queue the run again for another executor (it resumes from its last checkpoint)."""
        held.lost = True  # nothing more is written for it here
        self.leases.drop(run.id)
        released = await self.writer.write(Released(run.id, run.lease_epoch))
        log.info("Run %s handed back%s", run.id, "" if released else " (already taken by another executor)")
        return RunStatus.QUEUED if released else None

    async def aclose(self) -> None:
        """Commit pending writes, send pending events and close the clients."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        await self.writer.aclose()
        await self._close_checkpointer()
        if self._batcher is not None:
            await self._batcher.aclose()
        if self._stream is not None:
            await self._stream.close()
        if self._redis is not None:
            await self._redis.aclose()

    def _clients(self, settings: Settings) -> tuple[EventStream, EventBatcher | None, redis_async.Redis | None]:
        """The event stream, its batcher (Redis only) and the nodes' Redis client; made once per executor."""
        if not settings.redis_url:
            return open_event_stream(settings), None, None
        if self._stream is None or self._batcher is None or self._redis is None:
            self._stream = RedisEventStream(settings.redis_url, ttl_s=settings.event_stream_ttl_s)
            self._batcher = EventBatcher(self._stream)
            self._redis = redis_async.Redis.from_url(settings.redis_url)
        return self._stream, self._batcher, self._redis


async def _run_document(
    settings: Settings,
    run: ClaimedRun,
    redis: redis_async.Redis | None,
    emit: Emit,
    checkpointer: BaseCheckpointSaver,
    control: RunControl,
) -> RunEnd:
    try:
        compiled = compiled_version(run.workflow_version_id)
    except (WorkflowInvalid, ValueError) as error:
        return RunStatus.FAILED, None, {"node_id": None, "message": str(error)}
    replay = await asyncio.to_thread(load_replay, run) if run.replay_of else None
    async with run_services(settings, run.workspace_id, run.id, redis=redis) as services:
        work = run_compiled(
            compiled, run.input, run_id=run.id, services=services, emit=emit, checkpointer=checkpointer,
            resume=run.attempts > 1, lease_epoch=run.lease_epoch, control=control, replay=replay,
        )  # fmt: skip
        status, outcome, error = await run_with_limits(
            work, compiled.document.settings.timeout_s, lambda: cancel_requested(settings, run.id, services.redis)
        )
    if status is RunStatus.WAITING and outcome is not None:
        return status, list(outcome.waiting_on), None
    return status, (outcome.output if outcome else None), error


def _decided_meanwhile(run: ClaimedRun, node_ids: list[str]) -> bool:
    """Whether an approval the run paused at was decided before the pause was stored; if so the run is
    queued again (a conditional UPDATE, so the decider's own requeue and this one never both win)."""
    with session_scope(get_engine()) as session:
        decided = any_decided(session, run.workspace_id, run.id, node_ids)
        return decided and reopen_waiting_run(session, run.id) is not None
