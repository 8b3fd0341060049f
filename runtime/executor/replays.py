"""Replays: a new run of a finished run's version that starts at a chosen node with an edited input.

Every node not downstream of that node settles as it did in the original run (its latest node run),
without executing; the chosen node runs on the new input and everything after it runs again.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from runtime.engine.replay import Replay, original_slot
from runtime.errors import NotFound, WorkflowError
from runtime.executor.recorder import ClaimedRun
from runtime.graph.schema import WorkflowDocument
from runtime.store import NodeRun, Run, RunStatus, RunTrigger, WorkflowVersion, get_engine, session_scope

FINISHED = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})


class NotReplayable(WorkflowError):
    """The run has not finished yet; only a finished run can be replayed."""


def downstream(document: WorkflowDocument, node_id: str) -> set[str]:
    """`node_id` and every node reached from it along the document's edges."""
    successors: dict[str, list[str]] = {}
    for edge in document.edges:
        successors.setdefault(edge.source, []).append(edge.target)
    seen, stack = set(), [node_id]
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(successors.get(current, ()))
    return seen


def latest_node_runs(session: Session, workspace_id: str, run_id: str) -> dict[str, NodeRun]:
    """The last node run of each node of the run (a retried node's last attempt)."""
    query = select(NodeRun).where(NodeRun.workspace_id == workspace_id, NodeRun.run_id == run_id)
    rows = session.exec(query.order_by(col(NodeRun.started_at), col(NodeRun.id))).all()
    return {row.node_id: row for row in rows}


def create_replay(session: Session, workspace_id: str, run_id: str, from_node: str, new_input: Any) -> Run:
    """A queued replay of the finished run `run_id` starting at `from_node` (stored, not yet dispatched).

    Raises `NotFound` (no such run), `NotReplayable` (not finished) or `ValueError` (unknown node).
    """
    original = session.get(Run, run_id)
    if original is None or original.workspace_id != workspace_id:
        raise NotFound(f"Run {run_id!r} not found")
    if original.status not in FINISHED:
        raise NotReplayable(f"Run {run_id!r} is {original.status.value}; only a finished run can be replayed.")
    version = session.get(WorkflowVersion, original.workflow_version_id)
    assert version is not None  # runs reference their version by foreign key
    if from_node not in {node["id"] for node in version.document["nodes"]}:
        raise ValueError(f"from_node {from_node!r} is not a node of the run's workflow version.")
    replay = Run(
        workspace_id=workspace_id, workflow_id=original.workflow_id, workflow_version_id=original.workflow_version_id,
        trigger=RunTrigger.API if original.trigger is RunTrigger.API else RunTrigger.MANUAL, input=original.input,
        replay_of=original.id, replay={"from_node": from_node, "input": new_input},
    )  # fmt: skip
    session.add(replay)
    session.flush()
    return replay


def load_replay(run: ClaimedRun) -> Replay:
    """What the replay `run` takes from its original run."""
    assert run.replay_of is not None and run.replay is not None
    from_node = str(run.replay["from_node"])
    with session_scope(get_engine()) as session:
        version = session.get(WorkflowVersion, run.workflow_version_id)
        assert version is not None
        rerun = downstream(WorkflowDocument.model_validate(version.document), from_node)
        rows = latest_node_runs(session, run.workspace_id, run.replay_of)
    reuse = {
        node_id: original_slot(str(row.status), row.output, row.handles)
        for node_id, row in rows.items()
        if node_id not in rerun
    }
    return Replay(reuse=reuse, from_node=from_node, input=run.replay.get("input"))
