"""Managing a workspace's members: list them, change a role, remove one; every change is audited.

The rules: the last owner can be neither demoted nor removed, and only an owner may touch an owner
or make someone one. Functions flush but never commit; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from runtime.errors import NotFound, WorkflowError
from runtime.store.accounts import Member, Membership, Role, User
from runtime.store.audit import record_audit
from runtime.store.login_sessions import LoginSession


class MembershipRefused(WorkflowError):
    """A member change the rules forbid; the message says which rule."""


@dataclass(frozen=True)
class MemberRow:
    """One member as the members page lists them."""

    membership_id: str
    user_id: str
    email: str
    display_name: str
    role: Role
    joined_at: datetime


def list_members(session: Session, workspace_id: str) -> list[MemberRow]:
    """Every member of the workspace, by email."""
    rows = session.exec(
        select(Membership, User)
        .join(User, col(User.id) == Membership.user_id)
        .where(Membership.workspace_id == workspace_id)
        .order_by(col(User.email))
    ).all()
    return [MemberRow(m.id, u.id, u.email, u.display_name, m.role, m.created_at) for m, u in rows]


def _membership(session: Session, workspace_id: str, membership_id: str) -> Membership:
    found = session.exec(
        select(Membership).where(Membership.id == membership_id, Membership.workspace_id == workspace_id)
    ).first()
    if found is None:
        raise NotFound(f"Member {membership_id!r} not found")
    return found


def _owner_count(session: Session, workspace_id: str) -> int:
    query = select(func.count()).select_from(Membership)
    return int(session.exec(query.where(Membership.workspace_id == workspace_id, Membership.role == Role.OWNER)).one())


def check_grant(actor: Member, role: Role) -> None:
    """MembershipRefused unless `actor` may hand out `role` (only owners make owners)."""
    if role is Role.OWNER and actor.role is not Role.OWNER:
        raise MembershipRefused("Only an owner may make someone an owner.")


def _check_may_touch(session: Session, actor: Member, target: Membership) -> None:
    if target.role is Role.OWNER and actor.role is not Role.OWNER:
        raise MembershipRefused("Only an owner may change or remove an owner.")
    if target.role is Role.OWNER and _owner_count(session, target.workspace_id) <= 1:
        raise MembershipRefused(
            "The workspace's last owner cannot be demoted or removed; make someone else owner first."
        )


def change_role(session: Session, actor: Member, membership_id: str, role: Role) -> Membership:
    """Give the member `role` in the actor's workspace; MembershipRefused when the rules forbid it."""
    target = _membership(session, actor.workspace_id, membership_id)
    if target.role is role:
        return target
    check_grant(actor, role)
    _check_may_touch(session, actor, target)
    before, target.role = target.role, role
    session.add(target)
    record_audit(session, actor.workspace_id, actor.user_id, "member.role_changed", ("user", target.user_id),
                 before=before.value, after=role.value)  # fmt: skip
    return target


def remove_member(session: Session, actor: Member, membership_id: str) -> None:
    """Take the member out of the actor's workspace and end their sessions in it."""
    target = _membership(session, actor.workspace_id, membership_id)
    _check_may_touch(session, actor, target)
    session.delete(target)
    session.execute(
        sa.delete(LoginSession).where(  # type: ignore[arg-type]
            col(LoginSession.user_id) == target.user_id, col(LoginSession.workspace_id) == actor.workspace_id
        )
    )
    record_audit(session, actor.workspace_id, actor.user_id, "member.removed", ("user", target.user_id),
                 role=target.role.value)  # fmt: skip
    session.flush()
