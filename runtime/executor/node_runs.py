"""Node runs from node events: one row per attempt, queued on the run writer as the events arrive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime.executor.recorder import NodeRunEnded, NodeRunStarted, RunWrite
from runtime.executor.writer import RunWriter
from runtime.store import NodeRunStatus, new_id, utcnow

FINISHED = {
    "node_finished": NodeRunStatus.SUCCEEDED,
    "node_failed": NodeRunStatus.FAILED,
    "node_waiting": NodeRunStatus.WAITING,
}
Hold = Callable[[str, NodeRunEnded], bool]
"""`hold(node_id, end)`: whether the executor keeps this succeeded end back (see `held_ends`) instead of queuing it."""


class NodeRunRecorder:
    """Turns `node_started` / `node_finished` / `node_failed` / `node_skipped` events into node_run rows.

    One row per attempt (and per loop item); tokens and tool events are left to the event stream.
    Rows are queued on the `RunWriter` without waiting: they are committed, in order, no later than
    the run's final status, which the executor awaits. A succeeded end goes through `hold` first.
    """

    def __init__(
        self, writer: RunWriter[RunWrite], workspace_id: str, run_id: str, epoch: int, hold: Hold | None = None
    ) -> None:
        self.writer = writer
        self.workspace_id = workspace_id
        self.run_id = run_id
        self.epoch = epoch
        self.hold = hold
        self._open: dict[tuple[str, int, Any], str] = {}

    def record(self, event_type: str, node_id: str | None, data: dict[str, Any]) -> None:
        """Queue what this event says about a node run; other events are ignored."""
        if node_id is None:
            return
        key = (node_id, int(data.get("attempt", 1)), data.get("item_index"))
        if event_type == "node_started":
            self._open[key] = self._insert(node_id, key[1], NodeRunStatus.RUNNING, input=data.get("input"))
        elif event_type == "node_skipped":
            self._insert(node_id, 1, NodeRunStatus.SKIPPED, finished_at=utcnow())
        elif event_type in FINISHED and key in self._open:
            self._finish(node_id, self._open.pop(key), FINISHED[event_type], data)

    def close_open(self, status: NodeRunStatus, message: str) -> None:
        """Finish every node run still open when the run ends early (cancelled, timed out, stopped)."""
        for (node_id, _, _), node_run_id in self._open.items():
            self._finish(node_id, node_run_id, status, {"error": message})
        self._open.clear()

    def _insert(self, node_id: str, attempt: int, status: NodeRunStatus, **fields: Any) -> str:
        row = {
            "id": new_id("nr"), "workspace_id": self.workspace_id, "run_id": self.run_id, "node_id": node_id,
            "attempt": attempt, "status": status, "input": None, "output": None, "error": None, "handles": None,
            "started_at": utcnow(), "finished_at": None, **fields,
        }  # fmt: skip
        self.writer.write_later(NodeRunStarted(row, self.epoch))
        return str(row["id"])

    def _finish(self, node_id: str, node_run_id: str, status: NodeRunStatus, data: dict[str, Any]) -> None:
        end = NodeRunEnded(node_run_id, self.workspace_id, ended_values(status, data), self.run_id, self.epoch)
        if status is NodeRunStatus.SUCCEEDED and self.hold is not None and self.hold(node_id, end):
            return
        self.writer.write_later(end)


def ended_values(status: NodeRunStatus, data: dict[str, Any]) -> dict[str, Any]:
    """The columns ending a node run with `status`, from its event's `output`, `handles`, `error`, `retryable`."""
    # A waiting node run (an approval's request) ends when the decision is recorded, in a new row.
    succeeded, failed = status is NodeRunStatus.SUCCEEDED, status is NodeRunStatus.FAILED
    error = {"message": data.get("error"), "retryable": data.get("retryable", False)} if failed else None
    return {"status": status, "finished_at": None if status is NodeRunStatus.WAITING else utcnow(),
            "output": None if failed else data.get("output"),
            "handles": list(data["handles"]) if succeeded and "handles" in data else None,
            "error": error}  # fmt: skip
