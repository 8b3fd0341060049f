"""Keeping a node's `succeeded` record back until the checkpoint holding its output has committed.

A node reports its end before LangGraph stores the state update carrying its output (the task's
pending writes, then the superstep's checkpoint). Had its record committed first, a crash in between
would resume from the older checkpoint, run the node again and leave two succeeded records. So the
executor holds each main-flow node's end here, and the checkpointer's commit hook (`stored`) queues
it on the `RunWriter` once a write holding the node's channel has committed. The opposite order (a
crash after the checkpoint, before the record) is settled when the run resumes (`settle_abandoned`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from runtime.engine.approval import awaits_decision
from runtime.engine.checkpoints import stored_progress
from runtime.engine.state import channel
from runtime.executor.node_runs import ended_values
from runtime.executor.recorder import NodeRunEnded, Resumed, RunWrite
from runtime.executor.writer import RunWriter
from runtime.store import NodeRunStatus


class HeldEnds:
    """Node-run ends of the runs one executor executes, by run and state channel, until stored."""

    def __init__(self, writer: RunWriter[RunWrite]) -> None:
        self.writer = writer
        self._held: dict[str, dict[str, list[NodeRunEnded]]] = {}

    def hold(self, node_id: str, end: NodeRunEnded) -> None:
        """Keep `end` (of main-flow node `node_id`) until a write holding the node's output commits."""
        self._held.setdefault(end.run_id, {}).setdefault(channel(node_id), []).append(end)

    def stored(self, run_id: str, channels: Iterable[str]) -> None:
        """The checkpointer's commit hook: queue the held ends of the nodes whose channels were stored."""
        held = self._held.get(run_id)
        if not held:
            return
        for name in channels:
            for end in held.pop(name, ()):
                self.writer.write_later(end)

    def release(self, run_id: str) -> None:
        """Queue every end still held for the run: its execution ended, nothing of it is checkpointed later."""
        for ends in self._held.pop(run_id, {}).values():
            for end in ends:
                self.writer.write_later(end)

    def drop(self, run_id: str) -> None:
        """Forget the run's held ends: another executor resumes it and settles its open node runs."""
        self._held.pop(run_id, None)


async def settle_abandoned(
    writer: RunWriter[RunWrite],
    checkpointer: BaseCheckpointSaver,
    run_id: str,
    epoch: int,
    node_types: Callable[[], dict[str, str]],
) -> bool:
    """Close the node runs a resumed run's previous executor left open, before it runs on; False if the
    run is no longer held under `epoch`. A node whose output the checkpoint restored ended as that
    output says (an approval's open request still waits); any other ran into the crash and runs again."""
    progress = await stored_progress(checkpointer, run_id)
    restored: dict[str, dict[str, Any]] = {}
    if progress is not None and progress.results:
        types = node_types()
        for node_id, output in progress.results.items():
            handles = progress.handles.get(node_id, ())
            waiting = awaits_decision(types.get(node_id, ""), handles)
            status = NodeRunStatus.WAITING if waiting else NodeRunStatus.SUCCEEDED
            restored[node_id] = ended_values(status, {"output": output, "handles": handles})
    return bool(await writer.write(Resumed(run_id, restored, epoch)))
