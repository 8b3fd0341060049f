"""The rows a run writes (its claim, node runs, final status), as writes the `RunWriter` applies in batches.

`apply_writes` turns one batch, the writes of every run in flight, into a few statements: one UPDATE
claiming every run, one multi-row INSERT of node runs (a node run started and finished within the
batch is inserted finished), one executemany UPDATE finishing node runs and one finishing runs.
Compiled once, these statements cost a fraction of one ORM session per write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runtime.executor.checkpointer import prune_checkpoints
from runtime.executor.writer import RunWriter
from runtime.store import NodeRun, NodeRunStatus, Run, RunStatus, new_id, utcnow

FINISHED = {"node_finished": NodeRunStatus.SUCCEEDED, "node_failed": NodeRunStatus.FAILED}
RUNS: sa.Table = Run.__table__  # type: ignore[attr-defined]
NODE_RUNS: sa.Table = NodeRun.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ClaimedRun:
    """A run this executor marked `running`: what executing it needs."""

    id: str
    workspace_id: str
    workflow_id: str
    workflow_version_id: str
    trigger: str
    input: Any


@dataclass(frozen=True)
class Claim:
    """Mark a queued run running; the write's result is the `ClaimedRun`, or None if the run is not
    queued (taken by another executor, cancelled, deleted). A conditional UPDATE: one claimer wins."""

    run_id: str


@dataclass(frozen=True)
class NodeRunStarted:
    row: dict[str, Any]


@dataclass(frozen=True)
class NodeRunEnded:
    node_run_id: str
    workspace_id: str
    values: dict[str, Any]
    """`status`, `finished_at`, `output`, `error`."""


@dataclass(frozen=True)
class RunEnded:
    """Store the run's final status, output and error."""

    run_id: str
    values: dict[str, Any]


RunWrite = Claim | NodeRunStarted | NodeRunEnded | RunEnded

_CLAIM_COLUMNS = (RUNS.c.id, RUNS.c.workspace_id, RUNS.c.workflow_id, RUNS.c.workflow_version_id, RUNS.c.trigger,
                  RUNS.c.input)  # fmt: skip
_END_NODE_RUN = (
    sa.update(NODE_RUNS)
    .where(NODE_RUNS.c.id == sa.bindparam("b_id"), NODE_RUNS.c.workspace_id == sa.bindparam("b_workspace_id"))
    .values(
        status=sa.bindparam("status"),
        finished_at=sa.bindparam("finished_at"),
        output=sa.bindparam("output"),
        error=sa.bindparam("error"),
    )  # fmt: skip
)
_END_RUN = (
    sa.update(RUNS)
    .where(RUNS.c.id == sa.bindparam("b_id"))
    .values(
        status=sa.bindparam("status"),
        finished_at=sa.bindparam("finished_at"),
        output=sa.bindparam("output"),
        error=sa.bindparam("error"),
    )  # fmt: skip
)


def apply_writes(connection: sa.Connection, writes: list[RunWrite]) -> list[Any]:
    """Apply a batch of writes in one transaction; returns each write's result (claims: `ClaimedRun | None`).

    Order within a batch does not matter to readers (it commits as a whole); across batches the
    writer keeps queue order, so a node run is inserted no later than it is finished.
    """
    claims = [write.run_id for write in writes if isinstance(write, Claim)]
    claimed = _claim(connection, claims) if claims else {}
    started = {write.row["id"]: dict(write.row) for write in writes if isinstance(write, NodeRunStarted)}
    ended: list[dict[str, Any]] = []
    for write in writes:
        if isinstance(write, NodeRunEnded):
            if write.node_run_id in started:  # started in this batch too: insert it finished
                started[write.node_run_id].update(write.values)
            else:
                ended.append({"b_id": write.node_run_id, "b_workspace_id": write.workspace_id, **write.values})
    if started:
        connection.execute(sa.insert(NODE_RUNS), list(started.values()))
    if ended:
        connection.execute(_END_NODE_RUN, ended)
    runs_ended = [{"b_id": write.run_id, **write.values} for write in writes if isinstance(write, RunEnded)]
    if runs_ended:
        connection.execute(_END_RUN, runs_ended)
        prune_checkpoints(connection, [row["b_id"] for row in runs_ended])
    # A run claimed twice in one batch (its job taken twice) goes to the first claim only.
    return [claimed.pop(write.run_id, None) if isinstance(write, Claim) else None for write in writes]


def _claim(connection: sa.Connection, run_ids: list[str]) -> dict[str, ClaimedRun]:
    rows = connection.execute(
        sa.update(RUNS)
        .where(RUNS.c.id.in_(run_ids), RUNS.c.status == RunStatus.QUEUED)
        .values(status=RunStatus.RUNNING, started_at=utcnow())
        .returning(*_CLAIM_COLUMNS)
    )
    return {row[0]: ClaimedRun(*row) for row in rows}


def run_ended(run_id: str, status: RunStatus, output: Any, error: dict[str, Any] | None) -> RunEnded:
    """The write storing a run's final status, output and error."""
    return RunEnded(run_id, {"status": status, "output": output, "error": error, "finished_at": utcnow()})


class NodeRunRecorder:
    """Turns `node_started` / `node_finished` / `node_failed` / `node_skipped` events into node_run rows.

    One row per attempt (and per loop item); tokens and tool events are left to the event stream.
    Rows are queued on the `RunWriter` without waiting: they are committed, in order, no later than
    the run's final status, which the executor awaits.
    """

    def __init__(self, writer: RunWriter[RunWrite], workspace_id: str, run_id: str) -> None:
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
        self.writer.write_later(NodeRunStarted(row))
        return str(row["id"])

    def _finish(self, node_run_id: str, status: NodeRunStatus, data: dict[str, Any]) -> None:
        succeeded = status is NodeRunStatus.SUCCEEDED
        error = None if succeeded else {"message": data.get("error"), "retryable": data.get("retryable", False)}
        values = {"status": status, "finished_at": utcnow(), "output": data.get("output") if succeeded else None,
                  "error": error}  # fmt: skip
        self.writer.write_later(NodeRunEnded(node_run_id, self.workspace_id, values))
