"""Who owns what: workspaces, users, memberships and API keys, plus the zero-setup local workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from runtime.store.columns import id_field, ref_field, str_enum, utcnow

LOCAL_WORKSPACE_NAME = "Local"
LOCAL_USER_EMAIL = "local@trellis.localhost"


class Role(StrEnum):
    """What a member or an API key may do in a workspace, strongest first."""

    OWNER = "owner"
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


WRITER_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.EDITOR})
"""Roles that may change and run workflows; a viewer may only read."""
ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})
"""Roles that may manage members, API keys and credentials and read the audit log."""


@dataclass(frozen=True)
class Member:
    """A signed-in user acting in one workspace with one role: what every access check is asked about."""

    user_id: str
    email: str
    workspace_id: str
    role: Role

    @property
    def may_write(self) -> bool:
        """Whether this member may create, change, delete and run workflows."""
        return self.role in WRITER_ROLES

    @property
    def may_admin(self) -> bool:
        """Whether this member may manage members, keys and credentials and read the audit log."""
        return self.role in ADMIN_ROLES


# The tenant boundary: every other workspace-owned row points here.
class Workspace(SQLModel, table=True):
    __tablename__ = "workspace"

    id: str = id_field("ws")
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


# A person who can sign in; belongs to workspaces through memberships.
class User(SQLModel, table=True):
    __tablename__ = "user"

    id: str = id_field("usr")
    email: str = Field(max_length=320, unique=True)
    display_name: str = Field(max_length=200)
    password_hash: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow)


# A user's role in one workspace; at most one per (workspace, user).
class Membership(SQLModel, table=True):
    __tablename__ = "membership"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "user_id"),)

    id: str = id_field("mem")
    workspace_id: str = ref_field("workspace.id")
    user_id: str = ref_field("user.id")
    role: Role = Field(sa_type=str_enum(Role))
    created_at: datetime = Field(default_factory=utcnow)


# A bearer key for the REST API; only its SHA-256 hash and last four characters are kept.
class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: str = id_field("key")
    workspace_id: str = ref_field("workspace.id")
    name: str = Field(max_length=200)
    key_hash: str = Field(max_length=128, unique=True)
    last_four: str = Field(max_length=4)
    role: Role = Field(sa_type=str_enum(Role))
    created_by: str | None = ref_field("user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


def ensure_local_workspace(session: Session) -> Workspace:
    """The first workspace; on an empty database, a new "Local" one owned by the local user.

    Idempotent. The local user (`local@trellis.localhost`, no password) is reused if it exists.
    Flushes but does not commit.
    """
    first = select(Workspace).order_by(Workspace.created_at, Workspace.id).limit(1)
    workspace = session.exec(first).first()
    if workspace is not None:
        return workspace
    user = session.exec(select(User).where(User.email == LOCAL_USER_EMAIL)).first()
    if user is None:
        user = User(email=LOCAL_USER_EMAIL, display_name="Local user")
        session.add(user)
    workspace = Workspace(name=LOCAL_WORKSPACE_NAME)
    session.add(workspace)
    session.flush()
    session.add(Membership(workspace_id=workspace.id, user_id=user.id, role=Role.OWNER))
    session.flush()
    return workspace
