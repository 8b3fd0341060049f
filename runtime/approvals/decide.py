"""Deciding an approval (first decision wins, audited) and putting its waiting run back on the queue."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from runtime.config import Settings
from runtime.errors import NotFound, WorkflowError
from runtime.executor.dispatch import dispatch, version_timeout_s
from runtime.store import Run, RunStatus, get_engine, record_audit, session_scope
from runtime.store.approvals import (
    DECISIONS,
    Approval,
    ApprovalStatus,
    approval_for_token,
    find_approval,
    record_decision,
    reopen_waiting_run,
)

ENDED = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})


class AlreadyDecided(WorkflowError):
    """The approval was decided before (or timed out): the first decision stands."""

    def __init__(self, approval: Approval) -> None:
        self.approval = approval
        by = f" by {approval.decided_by}" if approval.decided_by else ""
        super().__init__(f"Approval {approval.node_id!r} of run {approval.run_id!r} was already {approval.status}{by}.")


class RunEnded(WorkflowError):
    """The run ended (cancelled, say) before its approval was decided: there is nothing left to decide."""


@dataclass(frozen=True)
class Decider:
    """Who decides: a member (user id and email) or, with no user, whoever holds the signed link."""

    user_id: str | None
    label: str


def decide(
    settings: Settings, workspace_id: str, run_id: str, node_id: str, decision: str, comment: str | None, by: Decider
) -> Approval:
    """Record `decision` ("approve" or "reject") on the run's approval at `node_id` and resume the run.

    Raises `NotFound` (no such approval in this workspace), `ValueError` (another answer), `AlreadyDecided`
    or `RunEnded` (the run was cancelled while it waited).
    """
    with session_scope(get_engine()) as session:
        approval = find_approval(session, workspace_id, run_id, node_id)
        if approval is None:
            raise NotFound(f"Run {run_id!r} has no approval at node {node_id!r}")
        _record(session, approval, _status(decision), comment, by)
    requeue_waiting(settings, run_id)
    return approval


def decide_by_token(settings: Settings, token: str, decision: str, comment: str | None, by: Decider) -> Approval:
    """`decide` through a signed link; `NotFound` for an unknown or expired token."""
    with session_scope(get_engine()) as session:
        approval = approval_for_token(session, token)
        if approval is None:
            raise NotFound("This approval link is unknown or has expired.")
        _record(session, approval, _status(decision), comment, by)
    requeue_waiting(settings, approval.run_id)
    return approval


def _status(decision: str) -> ApprovalStatus:
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(map(repr, DECISIONS))}, not {decision!r}")
    return DECISIONS[decision]


def _record(session: Session, approval: Approval, status: ApprovalStatus, comment: str | None, by: Decider) -> None:
    run = session.get(Run, approval.run_id)
    if approval.is_open and run is not None and run.status in ENDED:
        raise RunEnded(
            f"Run {run.id!r} is {run.status.value}; its approval {approval.node_id!r} can no longer be decided."
        )
    if not record_decision(session, approval, status, comment or None, by.label):
        session.expunge(approval)  # keeps the first decision readable after the rollback
        raise AlreadyDecided(approval)
    record_audit(
        session, approval.workspace_id, by.user_id, f"approval.{status.value}", ("run", approval.run_id),
        node_id=approval.node_id, decided_by=by.label, comment=comment or None,
    )  # fmt: skip


def requeue_waiting(settings: Settings, run_id: str) -> bool:
    """Put a `waiting` run back on the queue to resume from its checkpoint; False if it was not waiting."""
    with session_scope(get_engine()) as session:
        version_id = reopen_waiting_run(session, run_id)
    if version_id is None:
        return False
    dispatch(settings, Run(id=run_id, workflow_version_id=version_id), version_timeout_s(version_id))  # type: ignore[call-arg]
    return True
