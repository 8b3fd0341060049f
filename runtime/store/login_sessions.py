"""Login sessions: a random bearer id in a cookie, stored only as its SHA-256, with idle and absolute limits.

Functions flush but never commit; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from runtime.store.accounts import Member, Membership, User, Workspace
from runtime.store.columns import as_utc, id_field, ref_field, utcnow

IDLE_TIMEOUT = timedelta(hours=24)
ABSOLUTE_TIMEOUT = timedelta(days=7)
TOUCH_RESOLUTION = timedelta(minutes=1)
"""`last_seen_at` is written at most this often, so page views do not each become a write."""


# One signed-in browser: the user, the workspace it acts in, and when it expires.
class LoginSession(SQLModel, table=True):
    __tablename__ = "login_session"

    id: str = id_field("ses")
    token_hash: str = Field(max_length=64, unique=True)
    user_id: str = ref_field("user.id")
    workspace_id: str = ref_field("workspace.id")
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


def hash_token(token: str) -> str:
    """The hex SHA-256 of a session token, as stored in `login_session.token_hash`."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_login_session(session: Session, user_id: str, workspace_id: str) -> str:
    """A new session for the user acting in `workspace_id`; the token (256 random bits) is only returned."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        LoginSession(
            token_hash=hash_token(token),
            user_id=user_id,
            workspace_id=workspace_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + ABSOLUTE_TIMEOUT,
        )
    )
    session.flush()
    return token


def member_for_token(session: Session, token: str) -> Member | None:
    """Who the token signs in, in its workspace, or None when unknown, idle, expired or no longer a member."""
    row = session.exec(select(LoginSession).where(LoginSession.token_hash == hash_token(token))).first()
    if row is None:
        return None
    now = utcnow()
    if now >= as_utc(row.expires_at) or now - as_utc(row.last_seen_at) >= IDLE_TIMEOUT:
        session.delete(row)
        session.flush()
        return None
    found = session.exec(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(User.id == row.user_id, Membership.workspace_id == row.workspace_id)
    ).first()
    if found is None:
        return None
    if now - as_utc(row.last_seen_at) >= TOUCH_RESOLUTION:
        row.last_seen_at = now
        session.add(row)
        session.flush()
    user, membership = found
    return Member(user_id=user.id, email=user.email, workspace_id=row.workspace_id, role=membership.role)


def close_login_session(session: Session, token: str) -> None:
    """End the session this token opened (logout); unknown tokens are ignored."""
    session.execute(sa.delete(LoginSession).where(LoginSession.token_hash == hash_token(token)))  # type: ignore[arg-type]


def workspaces_of(session: Session, user_id: str) -> list[tuple[str, str]]:
    """The workspaces the user is a member of, as (id, name), by name."""
    rows = session.exec(
        select(Workspace.id, Workspace.name)
        .join(Membership, col(Membership.workspace_id) == Workspace.id)
        .where(Membership.user_id == user_id)
        .order_by(col(Workspace.name), col(Workspace.id))
    ).all()
    return [(workspace_id, name) for workspace_id, name in rows]


def switch_workspace(session: Session, token: str, workspace_id: str) -> bool:
    """Make the session act in `workspace_id`; False (and no change) unless its user is a member there."""
    row = session.exec(select(LoginSession).where(LoginSession.token_hash == hash_token(token))).first()
    if row is None:
        return False
    membership = session.exec(
        select(Membership).where(Membership.user_id == row.user_id, Membership.workspace_id == workspace_id)
    ).first()
    if membership is None:
        return False
    row.workspace_id = workspace_id
    session.add(row)
    session.flush()
    return True
