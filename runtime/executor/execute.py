"""Running one stored run from start to end: what a worker job and the in-process executor call."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from runtime.config import Settings, get_settings
from runtime.engine import CompiledWorkflow, RunOutcome, compile_workflow, run_compiled
from runtime.errors import WorkflowInvalid
from runtime.events import open_event_stream
from runtime.executor.cancel import cancel_requested, forget_cancel
from runtime.executor.recorder import NodeRunRecorder
from runtime.executor.services import run_services
from runtime.graph.schema import WorkflowDocument
from runtime.metrics import RunMeter
from runtime.store import NodeRunStatus, Run, RunStatus, WorkflowVersion, get_engine, session_scope, utcnow

CANCEL_POLL_S = 0.2
Emit = Callable[[str, str | None, dict[str, Any]], Awaitable[None]]


async def run_with_limits(
    work: Awaitable[RunOutcome], timeout_s: float, is_cancelled: Callable[[], Awaitable[bool]]
) -> tuple[RunStatus, RunOutcome | None, dict[str, Any] | None]:
    """Await the engine under the whole-run time limit, stopping it when a cancel is requested."""
    task = asyncio.ensure_future(work)
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not task.done():
        await asyncio.wait({task}, timeout=CANCEL_POLL_S)
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


def claim_run(run_id: str) -> Run | None:
    """Mark a queued run running and return it; None if it is not queued (taken, cancelled, gone)."""
    with session_scope(get_engine()) as session:
        run = session.get(Run, run_id, with_for_update=True)
        if run is None or run.status is not RunStatus.QUEUED:
            return None
        run.status, run.started_at = RunStatus.RUNNING, utcnow()
        session.add(run)
        return run


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


def finish_run(run_id: str, status: RunStatus, output: Any, error: dict[str, Any] | None) -> None:
    """Store the run's final status, output and error."""
    with session_scope(get_engine()) as session:
        run = session.get(Run, run_id)
        if run is not None:
            run.status, run.output, run.error, run.finished_at = status, output, error, utcnow()
            session.add(run)


async def execute_run(run_id: str, settings: Settings | None = None) -> RunStatus | None:
    """Run a queued run to its end, streaming events and recording node runs; None if not queued."""
    settings = settings or get_settings()
    run = claim_run(run_id)
    if run is None:
        return None
    stream = open_event_stream(settings)
    recorder = NodeRunRecorder(get_engine(), run.workspace_id, run_id)
    meter = RunMeter(str(run.trigger), lambda: node_types(run.workflow_version_id))

    async def emit(event_type: str, node_id: str | None, data: dict[str, Any]) -> None:
        recorder.record(event_type, node_id, data)
        meter.record(event_type, node_id, data)
        await stream.append(run_id, event_type, node_id, data)

    try:
        await emit("run_started", None, {"workflow_id": run.workflow_id, "trigger": str(run.trigger)})
        status, output, error = await _run_document(settings, run, emit)
        if status is not RunStatus.SUCCEEDED:
            open_status = NodeRunStatus.CANCELLED if status is RunStatus.CANCELLED else NodeRunStatus.FAILED
            recorder.close_open(open_status, (error or {}).get("message", ""))
        finish_run(run_id, status, output, error)
        meter.finish(status.value)
        await emit("run_finished", None, {"status": status.value, "output": output, "error": error})
    finally:
        forget_cancel(run_id)
        await stream.close()
    return status


async def _run_document(settings: Settings, run: Run, emit: Emit) -> tuple[RunStatus, Any, dict[str, Any] | None]:
    try:
        compiled = compiled_version(run.workflow_version_id)
    except (WorkflowInvalid, ValueError) as error:
        return RunStatus.FAILED, None, {"node_id": None, "message": str(error)}
    async with run_services(settings, run.workspace_id, run.id) as services:
        work = run_compiled(compiled, run.input, run_id=run.id, services=services, emit=emit)
        status, outcome, error = await run_with_limits(
            work, compiled.document.settings.timeout_s, lambda: cancel_requested(settings, run.id, services.redis)
        )
    return status, (outcome.output if outcome else None), error
