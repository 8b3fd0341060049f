"""Approvals: one row per approval node a run reached, holding the decision once a person made it.

The link token is never stored in clear: `token_hash` (SHA-256, what `/approvals/<token>` is looked
up by) and `token_ciphertext` (Fernet, so a re-executed request step hands on the same link).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from runtime.secrets import decrypt_fields, encrypt_fields
from runtime.store.columns import as_utc, id_field, ref_field, str_enum, utcnow
from runtime.store.runs import Run, RunStatus
from runtime.store.webhooks import new_token, token_hash

LINK_TTL = timedelta(days=7)
RESUMED_ATTEMPTS = 1
"""`run.attempts` of a run put back on the queue on purpose (decided, resumed): the next claim counts 2,
which makes the executor resume it from its checkpoint, and the crash budget starts over."""
"""How long a link works when the node sets no timeout."""


class ApprovalStatus(StrEnum):
    """`pending` until the first decision; the node's output handle is named after the decision."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"


DECISIONS = {"approve": ApprovalStatus.APPROVED, "reject": ApprovalStatus.REJECTED}
"""What a person may answer, and the status each answer records."""


# One approval node reached by one run: the question, the link and, once made, the decision.
class Approval(SQLModel, table=True):
    __tablename__ = "approval"
    __table_args__ = (sa.UniqueConstraint("run_id", "node_id"),)

    id: str = id_field("apr")
    workspace_id: str = ref_field("workspace.id")
    run_id: str = ref_field("run.id")
    node_id: str = Field(max_length=200)
    status: ApprovalStatus = Field(default=ApprovalStatus.PENDING, sa_type=str_enum(ApprovalStatus), index=True)
    message: str = Field(default="", sa_type=sa.Text)
    comment: str | None = Field(default=None, sa_type=sa.Text)
    decided_by: str | None = Field(default=None, max_length=320)
    """The deciding member's email, `link` for the signed link, or `timeout`."""
    decided_at: datetime | None = None
    due_at: datetime | None = Field(default=None, index=True)
    """When the node's timeout fires (`timed_out`); None without a timeout."""
    expires_at: datetime
    """When the link stops working."""
    token_hash: str = Field(max_length=64, unique=True)
    token_ciphertext: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def is_open(self) -> bool:
        """Whether a decision may still be made."""
        return self.status is ApprovalStatus.PENDING


def open_approval(
    session: Session, workspace_id: str, run_id: str, node_id: str, message: str, timeout_s: float | None
) -> tuple[Approval, str]:
    """The run's approval at `node_id` and its link token, created on the first call (flushes, no commit).

    Calling it again (the node re-executed after a crash) returns the same row and token.
    """
    existing = session.exec(select(Approval).where(Approval.run_id == run_id, Approval.node_id == node_id)).first()
    if existing is not None:
        return existing, str(decrypt_fields(existing.token_ciphertext)["token"])
    token, now = new_token(), utcnow()
    due_at = now + timedelta(seconds=timeout_s) if timeout_s else None
    approval = Approval(
        workspace_id=workspace_id, run_id=run_id, node_id=node_id, message=message, due_at=due_at,
        expires_at=due_at or now + LINK_TTL, token_hash=token_hash(token),
        token_ciphertext=encrypt_fields({"token": token}),
    )  # fmt: skip
    session.add(approval)
    session.flush()
    return approval, token


def find_approval(session: Session, workspace_id: str, run_id: str, node_id: str) -> Approval | None:
    """The run's approval at `node_id` in this workspace, or None."""
    query = select(Approval).where(
        Approval.workspace_id == workspace_id, Approval.run_id == run_id, Approval.node_id == node_id
    )
    return session.exec(query).first()


def approval_for_token(session: Session, token: str) -> Approval | None:
    """The approval a link token opens, or None (unknown token or expired link)."""
    approval = session.exec(select(Approval).where(Approval.token_hash == token_hash(token))).first()
    if approval is None or as_utc(approval.expires_at) <= utcnow():
        return None
    return approval


def run_approvals(session: Session, workspace_id: str, run_id: str) -> list[Approval]:
    """Every approval the run reached, oldest first."""
    query = select(Approval).where(Approval.workspace_id == workspace_id, Approval.run_id == run_id)
    return list(session.exec(query.order_by(col(Approval.created_at))).all())


def record_decision(
    session: Session, approval: Approval, status: ApprovalStatus, comment: str | None, decided_by: str
) -> bool:
    """Store the decision if none was made yet; False when another decision came first (it stays)."""
    table: sa.Table = Approval.__table__  # type: ignore[attr-defined]
    decided_at = utcnow()
    changed = session.execute(
        sa.update(table)
        .where(table.c.id == approval.id, table.c.status == ApprovalStatus.PENDING)
        .values(status=status, comment=comment, decided_by=decided_by, decided_at=decided_at)
    ).rowcount
    session.refresh(approval)
    return bool(changed)


def due_approvals(session: Session, now: datetime, limit: int = 100) -> list[Approval]:
    """Pending approvals whose timeout has passed, oldest first."""
    query = select(Approval).where(
        Approval.status == ApprovalStatus.PENDING, col(Approval.due_at).is_not(None), col(Approval.due_at) <= now
    )
    return list(session.exec(query.order_by(col(Approval.due_at)).limit(limit)).all())


def reopen_waiting_run(session: Session, run_id: str) -> str | None:
    """Mark a `waiting` run `queued` again, to be resumed from its checkpoint; its version id, or None if
    it was not waiting.

    A conditional UPDATE: when a decision, a timeout and the executor pausing the run race, one reopens it.
    """
    runs: sa.Table = Run.__table__  # type: ignore[attr-defined]
    row = session.execute(
        sa.update(runs)
        .where(runs.c.id == run_id, runs.c.status == RunStatus.WAITING)
        .values(status=RunStatus.QUEUED, attempts=RESUMED_ATTEMPTS)
        .returning(runs.c.workflow_version_id)
    ).first()
    return None if row is None else str(row[0])


def any_decided(session: Session, workspace_id: str, run_id: str, node_ids: list[str]) -> bool:
    """Whether one of the run's approvals at `node_ids` has been decided."""
    query = select(Approval.id).where(
        Approval.workspace_id == workspace_id, Approval.run_id == run_id, col(Approval.node_id).in_(node_ids),
        Approval.status != ApprovalStatus.PENDING,
    )  # fmt: skip
    return session.exec(query).first() is not None
