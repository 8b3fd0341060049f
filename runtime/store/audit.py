"""The audit trail: one append-only row per security-relevant action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Field, Session, SQLModel, col, select

from runtime.store.accounts import User
from runtime.store.columns import JSONType, id_field, ref_field, utcnow


# Who did what to which record, and when; the actor is null for system actions.
class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: str = id_field("evt")
    workspace_id: str = ref_field("workspace.id")
    actor_user_id: str | None = ref_field("user.id", ondelete="SET NULL")
    action: str = Field(max_length=64)
    target_type: str = Field(max_length=64)
    target_id: str = Field(max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = Field(default_factory=utcnow, index=True)


def record_audit(
    session: Session,
    workspace_id: str,
    actor_user_id: str | None,
    action: str,
    target: tuple[str, str],
    **details: Any,
) -> AuditEvent:
    """Append one audit event (`action` such as "login.failed", `target` = (type, id)); flushes, no commit.

    `details` must never hold a secret value: it is shown to admins as is.
    """
    event = AuditEvent(
        workspace_id=workspace_id,
        actor_user_id=actor_user_id,
        action=action,
        target_type=target[0],
        target_id=target[1],
        details=details,
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class AuditFilter:
    """Which audit events to list: every field given must match; `until` is exclusive."""

    action: str | None = None
    actor_user_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def list_audit(
    session: Session, workspace_id: str, where: AuditFilter, offset: int = 0, limit: int = 50
) -> list[tuple[AuditEvent, str | None]]:
    """The workspace's audit events matching `where`, newest first, with each actor's email (None: system)."""
    query = (
        select(AuditEvent, User.email)
        .join(User, col(User.id) == AuditEvent.actor_user_id, isouter=True)
        .where(AuditEvent.workspace_id == workspace_id)
    )
    if where.action:
        query = query.where(AuditEvent.action == where.action)
    if where.actor_user_id:
        query = query.where(AuditEvent.actor_user_id == where.actor_user_id)
    if where.since:
        query = query.where(col(AuditEvent.created_at) >= where.since)
    if where.until:
        query = query.where(col(AuditEvent.created_at) < where.until)
    ordered = query.order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc())
    return [(event, email) for event, email in session.exec(ordered.offset(offset).limit(limit)).all()]


def audit_choices(session: Session, workspace_id: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The actions recorded in the workspace, and its actors as (user id, email): the filter choices."""
    actions = session.exec(
        select(AuditEvent.action).where(AuditEvent.workspace_id == workspace_id).distinct().order_by(AuditEvent.action)
    ).all()
    actors = session.exec(
        select(User.id, User.email)
        .join(AuditEvent, col(AuditEvent.actor_user_id) == User.id)
        .where(AuditEvent.workspace_id == workspace_id)
        .distinct()
        .order_by(User.email)
    ).all()
    return list(actions), [(user_id, email) for user_id, email in actors]
