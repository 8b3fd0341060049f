"""The rows a run writes (its claim, node runs, final status), as writes for the `RunWriter`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runtime.executor.writer import RunWriter
from runtime.store import NodeRun, NodeRunStatus, Run, RunStatus, new_id, utcnow

FINISHED = {"node_finished": NodeRunStatus.SUCCEEDED, "node_failed": NodeRunStatus.FAILED}
RUNS = Run.__table__  # type: ignore[attr-defined]
NODE_RUNS = NodeRun.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ClaimedRun:
    """A run this executor marked `running`: what executing it needs."""

    id: str
    workspace_id: str
    workflow_id: str
    workflow_version_id: str
    trigger: str
    input: Any


def claim(run_id: str) -> Any:
    """A write marking a queued run running; it returns the `ClaimedRun`, or None if the run is not
    queued (taken by another executor, cancelled, deleted). One UPDATE, so two claimers cannot both win."""

    def write(connection: sa.Connection) -> ClaimedRun | None:
        row = connection.execute(
            sa.update(RUNS)
            .where(RUNS.c.id == run_id, RUNS.c.status == RunStatus.QUEUED)
            .values(status=RunStatus.RUNNING, started_at=utcnow())
            .returning(
                RUNS.c.workspace_id, RUNS.c.workflow_id, RUNS.c.workflow_version_id, RUNS.c.trigger, RUNS.c.input
            )
        ).first()
        return None if row is None else ClaimedRun(run_id, *row)

    return write


def finish(run_id: str, status: RunStatus, output: Any, error: dict[str, Any] | None) -> Any:
    """A write storing the run's final status, output and error."""

    def write(connection: sa.Connection) -> None:
        connection.execute(
            sa.update(RUNS)
            .where(RUNS.c.id == run_id)
            .values(status=status, output=output, error=error, finished_at=utcnow())
        )

    return write


class NodeRunRecorder:
    """Turns `node_started` / `node_finished` / `node_failed` / `node_skipped` events into node_run rows.

    One row per attempt (and per loop item); tokens and tool events are left to the event stream.
    Rows are queued on the `RunWriter` without waiting: they are committed, in order, no later than
    the run's final status, which the executor awaits.
    """

    def __init__(self, writer: RunWriter, workspace_id: str, run_id: str) -> None:
        self.writer = writer
        self.workspace_id = workspace_id
        self.run_id = run_id
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
            self._finish(self._open.pop(key), FINISHED[event_type], data)

    def close_open(self, status: NodeRunStatus, message: str) -> None:
        """Finish every node run still open when the run ends early (cancelled, timed out, stopped)."""
        for node_run_id in self._open.values():
            self._finish(node_run_id, status, {"error": message})
        self._open.clear()

    def _insert(self, node_id: str, attempt: int, status: NodeRunStatus, **fields: Any) -> str:
        row = {
            "id": new_id("nr"), "workspace_id": self.workspace_id, "run_id": self.run_id, "node_id": node_id,
            "attempt": attempt, "status": status, "input": None, "output": None, "error": None,
            "started_at": utcnow(), "finished_at": None, **fields,
        }  # fmt: skip
        self.writer.write_later(lambda connection: connection.execute(sa.insert(NODE_RUNS), row))
        return str(row["id"])

    def _finish(self, node_run_id: str, status: NodeRunStatus, data: dict[str, Any]) -> None:
        values: dict[str, Any] = {"status": status, "finished_at": utcnow()}
        if status is NodeRunStatus.SUCCEEDED:
            values["output"] = data.get("output")
        else:
            values["error"] = {"message": data.get("error"), "retryable": data.get("retryable", False)}
        statement = (
            sa.update(NODE_RUNS)
            .where(NODE_RUNS.c.id == node_run_id, NODE_RUNS.c.workspace_id == self.workspace_id)
            .values(**values)
        )
        self.writer.write_later(lambda connection: connection.execute(statement))
