"""Stored credentials: a named, typed secret whose secret fields are kept only as ciphertext.

`ciphertext` is the Fernet token of the secret fields (older rows: of every field); `plain_fields`
holds the fields that are not secret (a base URL, a header name, a user name), so the credentials
page can show and edit them without decrypting anything. Functions flush, never commit.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from runtime.errors import NotFound
from runtime.store.columns import JSONType, id_field, ref_field, utcnow
from runtime.store.workflows import InvalidValueError, Workflow, WorkflowVersion

CREDENTIAL_ID_PATTERN = re.compile(r"cred_[A-Za-z0-9_-]{1,40}")
NAME_MAX_LENGTH = 200


# A secret a node uses (API key, token, ...); nodes name it by id, never by value.
class Credential(SQLModel, table=True):
    __tablename__ = "credential"

    id: str = id_field("cred")
    workspace_id: str = ref_field("workspace.id")
    name: str = Field(max_length=NAME_MAX_LENGTH)
    type: str = Field(max_length=64)
    ciphertext: str = Field(sa_type=sa.Text)
    plain_fields: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    hint: str = Field(default="", max_length=8)
    """`…1234`: the last four characters of the main secret, what lists show instead of the value."""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str | None = ref_field("user.id", ondelete="SET NULL")


def clean_name(name: object) -> str:
    """The credential name stripped, or InvalidValueError naming the field and value."""
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > NAME_MAX_LENGTH:
        raise InvalidValueError("name", name, f"a credential name is 1 to {NAME_MAX_LENGTH} characters")
    return name.strip()


def create_credential(
    session: Session,
    workspace_id: str,
    name: str,
    type: str,
    ciphertext: str,
    *,
    credential_id: str | None = None,
    plain_fields: dict[str, Any] | None = None,
    hint: str = "",
    updated_by: str | None = None,
) -> Credential:
    """Store an already-encrypted credential in the workspace, under `credential_id` when given."""
    if credential_id is not None and not CREDENTIAL_ID_PATTERN.fullmatch(credential_id):
        raise InvalidValueError("id", credential_id, "a credential id is cred_ followed by letters, digits, - or _")
    credential = Credential(
        workspace_id=workspace_id, name=clean_name(name), type=type, ciphertext=ciphertext,
        plain_fields=dict(plain_fields or {}), hint=hint, updated_by=updated_by,
    )  # fmt: skip
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


def list_credentials(session: Session, workspace_id: str) -> list[Credential]:
    """The workspace's credentials, by name."""
    query = select(Credential).where(Credential.workspace_id == workspace_id).order_by(Credential.name, Credential.id)
    return list(session.exec(query).all())


def delete_credential(session: Session, workspace_id: str, credential_id: str) -> Credential:
    """Delete the credential (NotFound when it is not in the workspace); returns the deleted row."""
    credential = get_credential(session, workspace_id, credential_id)
    session.delete(credential)
    session.flush()
    return credential


def credential_usage(session: Session, workspace_id: str) -> dict[str, list[tuple[str, str]]]:
    """Credential id -> the (workflow id, name) pairs whose latest version names it, by workflow name."""
    newest = (
        select(WorkflowVersion.workflow_id, sa.func.max(WorkflowVersion.number).label("number"))
        .where(WorkflowVersion.workspace_id == workspace_id)
        .group_by(WorkflowVersion.workflow_id)
        .subquery()
    )
    query = (
        select(Workflow.id, Workflow.name, WorkflowVersion.document)
        .join(WorkflowVersion, WorkflowVersion.workflow_id == Workflow.id)  # type: ignore[arg-type]
        .join(
            newest,
            sa.and_(newest.c.workflow_id == WorkflowVersion.workflow_id, newest.c.number == WorkflowVersion.number),
        )
        .where(Workflow.workspace_id == workspace_id)
        .order_by(Workflow.name)
    )
    usage: dict[str, list[tuple[str, str]]] = {}
    for workflow_id, name, document in session.exec(query).all():
        named = {cid for node in document.get("nodes", []) for cid in (node.get("credentials") or {}).values()}
        for credential_id in named:
            usage.setdefault(credential_id, []).append((workflow_id, name))
    return usage
