"""Stored credentials: a named, typed secret kept only as ciphertext."""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from runtime.errors import NotFound
from runtime.store.columns import id_field, ref_field, utcnow
from runtime.store.workflows import InvalidValueError

CREDENTIAL_ID_PATTERN = re.compile(r"cred_[A-Za-z0-9_-]{1,40}")


# A secret a node uses (API key, token, ...); nodes name it by id, never by value.
class Credential(SQLModel, table=True):
    __tablename__ = "credential"

    id: str = id_field("cred")
    workspace_id: str = ref_field("workspace.id")
    name: str = Field(max_length=200)
    type: str = Field(max_length=64)
    ciphertext: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


def create_credential(
    session: Session, workspace_id: str, name: str, type: str, ciphertext: str, *, credential_id: str | None = None
) -> Credential:
    """Store an already-encrypted credential in the workspace, under `credential_id` when given."""
    if credential_id is not None and not CREDENTIAL_ID_PATTERN.fullmatch(credential_id):
        raise InvalidValueError("id", credential_id, "a credential id is cred_ followed by letters, digits, - or _")
    credential = Credential(workspace_id=workspace_id, name=name, type=type, ciphertext=ciphertext)
    if credential_id is not None:
        credential.id = credential_id
    session.add(credential)
    session.flush()
    return credential


def get_credential(session: Session, workspace_id: str, credential_id: str) -> Credential:
    """The credential with this id in the workspace, or NotFound."""
    credential = session.exec(
        select(Credential).where(Credential.workspace_id == workspace_id, Credential.id == credential_id)
    ).first()
    if credential is None:
        raise NotFound(f"Credential {credential_id!r} not found")
    return credential
