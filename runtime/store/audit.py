"""The audit trail: one append-only row per security-relevant action."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, Session, SQLModel

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
