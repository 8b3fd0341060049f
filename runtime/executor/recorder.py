"""Node runs in the database, written from the engine's events as they happen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from runtime.store import NodeRun, NodeRunStatus, session_scope, utcnow

FINISHED = {"node_finished": NodeRunStatus.SUCCEEDED, "node_failed": NodeRunStatus.FAILED}


class NodeRunRecorder:
    """Turns `node_started` / `node_finished` / `node_failed` / `node_skipped` events into node_run rows.

    One row per attempt (and per loop item); tokens and tool events are left to the event stream.
    """

    def __init__(self, engine: sa.Engine, workspace_id: str, run_id: str) -> None:
        self.engine = engine
        self.workspace_id = workspace_id
        self.run_id = run_id
        self._open: dict[tuple[str, int, Any], str] = {}

    def record(self, event_type: str, node_id: str | None, data: dict[str, Any]) -> None:
        """Write what this event says about a node run; other events are ignored."""
        if node_id is None:
            return
        key = (node_id, int(data.get("attempt", 1)), data.get("item_index"))
        if event_type == "node_started":
            self._open[key] = self._insert(node_id, key[1], NodeRunStatus.RUNNING, input=data.get("input"))
        elif event_type == "node_skipped":
            self._insert(node_id, 1, NodeRunStatus.SKIPPED, finished_at=utcnow())
        elif event_type in FINISHED and key in self._open:
            self._finish(self._open.pop(key), FINISHED[event_type], data)

    def _insert(self, node_id: str, attempt: int, status: NodeRunStatus, **fields: Any) -> str:
        row = NodeRun(
            workspace_id=self.workspace_id, run_id=self.run_id, node_id=node_id, attempt=attempt, status=status,
            **fields,
        )  # fmt: skip
        with session_scope(self.engine) as session:
            session.add(row)
        return row.id

    def _finish(self, node_run_id: str, status: NodeRunStatus, data: dict[str, Any]) -> None:
        finished_at: datetime = utcnow()
        values: dict[str, Any] = {"status": status, "finished_at": finished_at}
        if status is NodeRunStatus.SUCCEEDED:
            values["output"] = data.get("output")
        else:
            values["error"] = {"message": data.get("error"), "retryable": data.get("retryable", False)}
        with session_scope(self.engine) as session:
            session.execute(
                sa.update(NodeRun)
                .where(NodeRun.id == node_run_id, NodeRun.workspace_id == self.workspace_id)  # type: ignore[arg-type]
                .values(**values)
            )

    def close_open(self, status: NodeRunStatus, message: str) -> None:
        """Finish every node run still open when the run ends early (cancelled or timed out)."""
        for node_run_id in self._open.values():
            self._finish(node_run_id, status, {"error": message})
        self._open.clear()
