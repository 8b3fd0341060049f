"""Invitations to join a workspace: a link with a random token (stored only as its SHA-256), valid 7 days.

Accepting one makes the user a member with the invited role. Functions flush but never commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Field, Session, SQLModel, col, select

from runtime.errors import NotFound
from runtime.store.accounts import Member, Membership, Role, User, Workspace
from runtime.store.audit import record_audit
from runtime.store.columns import as_utc, id_field, ref_field, str_enum, utcnow
from runtime.store.members import check_grant

INVITE_LIFETIME = timedelta(days=7)
MAX_EMAIL_LENGTH = 320


# A pending (or accepted) invitation of one email address into a workspace with a role.
class Invite(SQLModel, table=True):
    __tablename__ = "invite"

    id: str = id_field("inv")
    workspace_id: str = ref_field("workspace.id")
    email: str = Field(max_length=MAX_EMAIL_LENGTH, index=True)
    role: Role = Field(sa_type=str_enum(Role))
    token_hash: str = Field(max_length=64, unique=True)
    created_by: str | None = ref_field("user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    accepted_at: datetime | None = None


@dataclass(frozen=True)
class OpenInvite:
    """What the invite page shows about a live invitation."""

    invite_id: str
    workspace_id: str
    workspace_name: str
    email: str
    role: Role
    has_account: bool


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    """The address as stored and compared: trimmed and lower-cased; ValueError naming it when malformed."""
    address = email.strip().lower()
    local, _, domain = address.partition("@")
    if not local or "." not in domain or len(address) > MAX_EMAIL_LENGTH or " " in address:
        raise ValueError(f"email {email!r} is not an email address")
    return address


def create_invite(session: Session, actor: Member, email: str, role: Role) -> str:
    """Invite `email` into the actor's workspace with `role` (no stronger than the actor may grant); the token."""
    check_grant(actor, role)
    token = secrets.token_urlsafe(32)
    invite = Invite(
        workspace_id=actor.workspace_id, email=normalise_email(email), role=role, token_hash=_hash(token),
        created_by=actor.user_id, expires_at=utcnow() + INVITE_LIFETIME,
    )  # fmt: skip
    session.add(invite)
    session.flush()
    record_audit(session, actor.workspace_id, actor.user_id, "invite.created", ("invite", invite.id),
                 email=invite.email, role=role.value)  # fmt: skip
    return token


def _live(session: Session, token: str) -> Invite:
    invite = session.exec(select(Invite).where(Invite.token_hash == _hash(token))).first()
    if invite is None or invite.accepted_at is not None or as_utc(invite.expires_at) <= utcnow():
        raise NotFound("This invitation is unknown, already used or expired; ask for a new one.")
    return invite


def open_invite(session: Session, token: str) -> OpenInvite:
    """The live invitation behind `token`; NotFound when unknown, used or expired."""
    invite = _live(session, token)
    workspace = session.get(Workspace, invite.workspace_id)
    assert workspace is not None  # the foreign key cascades
    user = session.exec(select(User).where(User.email == invite.email)).first()
    return OpenInvite(invite.id, workspace.id, workspace.name, invite.email, invite.role, user is not None)


def accept_invite(session: Session, token: str, user: User) -> Membership:
    """Make `user` (whose email must be the invited one) a member through the invitation behind `token`."""
    invite = _live(session, token)
    if user.email.lower() != invite.email:
        raise NotFound("This invitation is for another email address.")
    return _join(session, invite, user)


def register_through_invite(session: Session, token: str, display_name: str, password_hash: str) -> Membership:
    """A new account for the invited email (name, password hash), made a member; NotFound if it already exists."""
    invite = _live(session, token)
    if session.exec(select(User).where(User.email == invite.email)).first() is not None:
        raise NotFound(f"{invite.email} already has an account: sign in, then open the link again to accept.")
    user = User(email=invite.email, display_name=display_name.strip()[:200] or invite.email.split("@")[0],
                password_hash=password_hash)  # fmt: skip
    session.add(user)
    session.flush()
    return _join(session, invite, user)


def accept_invites_for_email(session: Session, user_id: str, email: str) -> list[Membership]:
    """Accept every live invitation of `email` for the user (called when they sign in, e.g. through OIDC)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id!r} not found")
    pending = session.exec(
        select(Invite).where(
            Invite.email == email.strip().lower(), col(Invite.accepted_at).is_(None), col(Invite.expires_at) > utcnow()
        )
    ).all()
    return [_join(session, invite, user) for invite in pending]


def _join(session: Session, invite: Invite, user: User) -> Membership:
    invite.accepted_at = utcnow()
    session.add(invite)
    membership = session.exec(
        select(Membership).where(Membership.workspace_id == invite.workspace_id, Membership.user_id == user.id)
    ).first()
    if membership is None:
        membership = Membership(workspace_id=invite.workspace_id, user_id=user.id, role=invite.role)
        session.add(membership)
    session.flush()
    record_audit(session, invite.workspace_id, user.id, "invite.accepted", ("invite", invite.id),
                 email=invite.email, role=membership.role.value)  # fmt: skip
    return membership


def list_pending_invites(session: Session, workspace_id: str) -> list[Invite]:
    """The workspace's invitations not yet accepted nor expired, newest first."""
    return list(
        session.exec(
            select(Invite)
            .where(Invite.workspace_id == workspace_id, col(Invite.accepted_at).is_(None),
                   col(Invite.expires_at) > utcnow())
            .order_by(col(Invite.created_at).desc())
        ).all()
    )  # fmt: skip
