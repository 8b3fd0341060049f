"""Running one stored run from start to end: what a worker job and the in-process executor call."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from functools import lru_cache
from typing import Any

import redis.asyncio as redis_async
from langgraph.checkpoint.base import BaseCheckpointSaver

from runtime.config import Settings, get_settings
from runtime.engine import CompiledWorkflow, RunOutcome, compile_workflow, run_compiled
from runtime.errors import WorkflowInvalid
from runtime.events import RUN_FINISHED, EventBatcher, EventStream, RedisEventStream, open_event_stream
from runtime.executor.cancel import cancel_requested, forget_cancel
from runtime.executor.checkpointer import open_checkpointer
from runtime.executor.recorder import Claim, ClaimedRun, NodeRunRecorder, RunWrite, apply_writes, run_ended
from runtime.executor.services import run_services
from runtime.executor.writer import RunWriter
from runtime.graph.schema import WorkflowDocument
from runtime.metrics import RunMeter
from runtime.store import NodeRunStatus, RunStatus, WorkflowVersion, get_engine, session_scope

log = logging.getLogger(__name__)

CANCEL_POLL_S = 0.2
STOPPED = {"node_id": None, "message": "The worker stopped before the run finished."}
Emit = Callable[[str, str | None, dict[str, Any]], Awaitable[None]]


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
    status = RunStatus.SUCCEEDED if outcome.status == "succeeded" else RunStatus.FAILED
    return status, outcome, outcome.error


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
    (the in-process executor outlives settings changes); a worker passes its settings once.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self.writer: RunWriter[RunWrite] = RunWriter(apply_writes)
        self._stream: RedisEventStream | None = None
        self._batcher: EventBatcher | None = None
        self._redis: redis_async.Redis | None = None
        self._closing = AsyncExitStack()
        self._checkpointers: dict[str, BaseCheckpointSaver] = {}

    async def checkpointer(self, settings: Settings) -> BaseCheckpointSaver:
        """The checkpointer on the configured database, opened on first use and closed by `aclose`."""
        url = settings.resolved_database_url
        if url not in self._checkpointers:
            self._checkpointers[url] = await self._closing.enter_async_context(open_checkpointer(url))
        return self._checkpointers[url]

    async def execute(self, run_id: str) -> RunStatus | None:
        """Run a queued run to its end, streaming events and recording node runs; None if not queued.

        Whatever happens (a node failing, a bug, the task being cancelled by a stopping worker), the
        run ends with a stored final status and a `run_finished` event, written in that order.
        """
        settings = self._settings or get_settings()
        run: ClaimedRun | None = await self.writer.write(Claim(run_id))
        if run is None:
            return None
        stream, batcher, redis = self._clients(settings)
        nodes = NodeRunRecorder(self.writer, run.workspace_id, run_id)
        meter = RunMeter(str(run.trigger), lambda: node_types(run.workflow_version_id))

        async def emit(event_type: str, node_id: str | None, data: dict[str, Any]) -> None:
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
            await emit("run_started", None, {"workflow_id": run.workflow_id, "trigger": str(run.trigger)})
            checkpointer = await self.checkpointer(settings)
            status, output, error = await _run_document(settings, run, redis, emit, checkpointer)
        except Exception as failure:  # the worker boundary: a bug fails this run, never its neighbours
            log.exception("Run %s failed unexpectedly", run_id)
            error = {"node_id": None, "message": f"Internal error: {type(failure).__name__}: {failure}"}
        finally:
            if status is not RunStatus.SUCCEEDED:
                open_status = NodeRunStatus.CANCELLED if status is RunStatus.CANCELLED else NodeRunStatus.FAILED
                nodes.close_open(open_status, (error or {}).get("message", ""))
            await self.writer.write(run_ended(run_id, status, output, error))
            meter.finish(status.value)
            forget_cancel(run_id)
            await emit("run_finished", None, {"status": status.value, "output": output, "error": error})
        return status

    async def aclose(self) -> None:
        """Commit pending writes, send pending events and close the clients."""
        await self.writer.aclose()
        await self._closing.aclose()
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
    settings: Settings, run: ClaimedRun, redis: redis_async.Redis | None, emit: Emit, checkpointer: BaseCheckpointSaver
) -> tuple[RunStatus, Any, dict[str, Any] | None]:
    try:
        compiled = compiled_version(run.workflow_version_id)
    except (WorkflowInvalid, ValueError) as error:
        return RunStatus.FAILED, None, {"node_id": None, "message": str(error)}
    async with run_services(settings, run.workspace_id, run.id, redis=redis) as services:
        work = run_compiled(compiled, run.input, run_id=run.id, services=services, emit=emit, checkpointer=checkpointer)
        status, outcome, error = await run_with_limits(
            work, compiled.document.settings.timeout_s, lambda: cancel_requested(settings, run.id, services.redis)
        )
    return status, (outcome.output if outcome else None), error
