"""Running a run again: resuming a failed run from its checkpoint, or replaying a finished one from a node."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from runtime.config import Settings
from runtime.errors import NotFound, WorkflowError
from runtime.executor.dispatch import dispatch, version_timeout_s
from runtime.executor.replays import create_replay
from runtime.store import Run, RunStatus, get_engine, session_scope
from runtime.store.approvals import RESUMED_ATTEMPTS

RUNS: sa.Table = Run.__table__  # type: ignore[attr-defined]


class NotResumable(WorkflowError):
    """Only a failed run can be resumed; the message says what state the run is in."""


def resume_run(settings: Settings, workspace_id: str, run_id: str) -> Run:
    """Put the failed run back on the queue: it continues from its checkpoint, so nodes that finished
    do not run again and the failed node runs anew. `NotFound`, or `NotResumable` unless it failed."""
    with session_scope(get_engine()) as session:
        run = session.get(Run, run_id)
        if run is None or run.workspace_id != workspace_id:
            raise NotFound(f"Run {run_id!r} not found")
        reopened = session.execute(
            sa.update(RUNS)
            .where(RUNS.c.id == run_id, RUNS.c.status == RunStatus.FAILED)
            .values(status=RunStatus.QUEUED, error=None, output=None, finished_at=None, attempts=RESUMED_ATTEMPTS)
        ).rowcount
        if not reopened:
            raise NotResumable(f"Run {run_id!r} is {run.status.value}; only a failed run can be resumed.")
        session.refresh(run)
    dispatch(settings, run, version_timeout_s(run.workflow_version_id))
    return run


def start_replay(settings: Settings, workspace_id: str, run_id: str, from_node: str, new_input: Any) -> Run:
    """Store and start a replay of the finished run `run_id` from `from_node` on `new_input` (see `replays`)."""
    with session_scope(get_engine()) as session:
        replay = create_replay(session, workspace_id, run_id, from_node, new_input)
    dispatch(settings, replay, version_timeout_s(replay.workflow_version_id))
    return replay
