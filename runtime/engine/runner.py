"""Running one compiled workflow to its end, reporting node events and the run's outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.runtime import RunControl

from runtime.engine.checkpoints import checkpoint_config, stored_progress
from runtime.engine.compiler import CompiledWorkflow
from runtime.engine.node import NodeFailed
from runtime.engine.state import EngineEmit, Frame, RunScope, json_ready
from runtime.nodes.context import Services


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended: its output when it succeeded, else `error` = `{"node_id", "message"}`."""

    status: Literal["succeeded", "failed"]
    output: Any
    error: dict[str, Any] | None


async def run_compiled(
    compiled: CompiledWorkflow,
    trigger: dict[str, Any],
    *,
    run_id: str,
    services: Services,
    emit: EngineEmit,
    checkpointer: BaseCheckpointSaver | None = None,
    resume: bool = False,
    lease_epoch: int | None = None,
    control: RunControl | None = None,
) -> RunOutcome:
    """Run `compiled` on `trigger` (`body`, `headers`, `query`), emitting every node event through `emit`.

    The first node that fails for good ends the run (other running branches are cancelled). On
    success, every node that did not run gets a `node_skipped` event, and the output is the
    `output` node's (a dict by node id when there are several), else the last finished node's.
    Cancelling the calling task interrupts the running nodes; the cancellation propagates.

    With a `checkpointer`, every superstep is stored under thread `run_id` before the next starts
    (`durability="sync"`); `lease_epoch` is handed to it for fencing. `resume=True` continues from
    the run's last checkpoint (no input is needed; nodes that finished there do not run or report
    again, and count for the output and skipped events); with no checkpoint stored it starts afresh.
    `control.request_drain()` stops the run after the nodes in flight, raising `GraphDrained`.
    """
    run = RunScope(run_id=run_id, trigger=trigger, services=services, emit=emit)
    graph, config, start, durability = compiled.graph, compiled.config, {}, None
    if checkpointer is not None:
        durability = "sync"  # only with a checkpointer: without one, LangGraph 1.2.22 fails on "sync"
        graph = graph.copy({"checkpointer": checkpointer})
        config = {**config, "configurable": checkpoint_config(run_id, lease_epoch)}
        progress = await stored_progress(checkpointer, run_id) if resume else None
        if progress is not None:
            run.results, run.last_finished, start = progress.results, progress.last_finished, None
            run.started.update(progress.results)
    try:
        # Nodes report themselves through `emit`; the stream is only drained ("updates" is the cheapest mode).
        async for _ in graph.astream(
            start, config, context=Frame(run, {}), stream_mode="updates", durability=durability, control=control
        ):
            pass
    except NodeFailed as failure:
        return RunOutcome("failed", None, {"node_id": failure.node_id, "message": failure.message})
    for node_id in compiled.reportable:
        if node_id not in run.started:
            await emit("node_skipped", node_id, {})
    return RunOutcome("succeeded", json_ready(_result(compiled, run)), None)


def _result(compiled: CompiledWorkflow, run: RunScope) -> Any:
    if len(compiled.output_ids) == 1:
        return run.results.get(compiled.output_ids[0])
    if compiled.output_ids:
        return {node_id: run.results[node_id] for node_id in compiled.output_ids if node_id in run.results}
    return run.results.get(run.last_finished) if run.last_finished is not None else None
