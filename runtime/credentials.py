"""Managing credentials: create, edit and delete them (encrypting what is secret, auditing every change)
and, for the worker only, open one.

The web process encrypts but never decrypts: secret fields are write-only, an edit that leaves them
blank keeps the stored ciphertext as it is, and lists show only the masked hint (`…1234`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.fernet import MultiFernet
from sqlmodel import Session, col, select

from runtime.credential_types import checked_fields, credential_type, masked_hint
from runtime.secrets import decrypt_fields, encrypt_fields
from runtime.store import (
    Credential,
    User,
    create_credential,
    credential_usage,
    delete_credential,
    get_credential,
    list_credentials,
    record_audit,
)
from runtime.store.columns import utcnow
from runtime.store.credentials import clean_name


def _split(type_id: str, fields: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(secret fields, plain fields) of already-checked fields."""
    kind = credential_type(type_id)
    secret = {name: value for name, value in fields.items() if (item := kind.field(name)) and item.secret}
    return secret, {name: value for name, value in fields.items() if name not in secret}


def add_credential(
    session: Session, workspace_id: str, actor_user_id: str | None, name: str, type_id: str,
    fields: Mapping[str, Any], *, credential_id: str | None = None, via: str | None = None,
) -> Credential:  # fmt: skip
    """Store a new credential (fields checked against its type; CredentialFieldsInvalid names a bad one).

    `via` (e.g. "api_key:key_...") says in the audit trail what acted when no user did."""
    checked = checked_fields(type_id, fields)
    secret, plain = _split(type_id, checked)
    credential = create_credential(
        session, workspace_id, name, type_id, encrypt_fields(secret), credential_id=credential_id,
        plain_fields=plain, hint=masked_hint(type_id, checked), updated_by=actor_user_id,
    )  # fmt: skip
    record_audit(session, workspace_id, actor_user_id, "credential.created", ("credential", credential.id),
                 name=credential.name, type=type_id, **_via(via))  # fmt: skip
    return credential


def edit_credential(
    session: Session, workspace_id: str, actor_user_id: str | None, credential_id: str,
    name: str | None, fields: Mapping[str, Any], *, via: str | None = None,
) -> Credential:  # fmt: skip
    """Rename and/or change fields. A field left out keeps its value; a plain field given empty is cleared;
    a secret field given empty keeps its value. When no secret is given the ciphertext is not touched
    (nothing is decrypted here); when one is, the secrets given replace all stored ones."""
    credential = get_credential(session, workspace_id, credential_id)
    kind = credential_type(credential.type)
    new_secrets = {n: v for n, v in fields.items() if (item := kind.field(n)) and item.secret and v}
    kept = {item.name: "(kept)" for item in kind.fields if item.secret and not new_secrets}
    checked = checked_fields(credential.type, {**(credential.plain_fields or {}), **fields, **kept})
    secret, plain = _split(credential.type, checked)
    if new_secrets:
        credential.ciphertext = encrypt_fields(secret)
        credential.hint = masked_hint(credential.type, checked)
    credential.plain_fields = plain
    if name is not None:
        credential.name = clean_name(name)
    credential.updated_at, credential.updated_by = utcnow(), actor_user_id
    session.add(credential)
    changed = sorted({*new_secrets, *(n for n in fields if n not in new_secrets)})
    record_audit(session, workspace_id, actor_user_id, "credential.updated", ("credential", credential.id),
                 name=credential.name, fields=changed, **_via(via))  # fmt: skip
    session.flush()
    return credential


def remove_credential(
    session: Session, workspace_id: str, actor_user_id: str | None, credential_id: str, *, via: str | None = None
) -> None:
    """Delete the credential and record who did it."""
    credential = delete_credential(session, workspace_id, credential_id)
    record_audit(session, workspace_id, actor_user_id, "credential.deleted", ("credential", credential_id),
                 name=credential.name, type=credential.type, **_via(via))  # fmt: skip


def _via(via: str | None) -> dict[str, str]:
    return {"via": via} if via else {}


@dataclass(frozen=True)
class CredentialView:
    """A credential as lists show it: never a secret, only the masked hint of one."""

    id: str
    name: str
    type: str
    hint: str
    plain_fields: dict[str, Any]
    updated_at: datetime
    updated_by: str | None
    """The email of who changed it last; None for the command line or a removed user."""
    used_by: list[tuple[str, str]]
    """(workflow id, name) of every workflow whose latest version names it."""


def credential_views(session: Session, workspace_id: str, credential_id: str | None = None) -> list[CredentialView]:
    """The workspace's credentials (or only `credential_id`; NotFound when it is not there), by name."""
    rows = (
        [get_credential(session, workspace_id, credential_id)]
        if credential_id
        else list_credentials(session, workspace_id)
    )
    editors = {row.updated_by for row in rows if row.updated_by}
    emails = dict(session.exec(select(User.id, User.email).where(col(User.id).in_(editors))).all()) if editors else {}
    usage = credential_usage(session, workspace_id)
    return [
        CredentialView(
            row.id,
            row.name,
            row.type,
            row.hint,
            dict(row.plain_fields or {}),
            row.updated_at,
            emails.get(row.updated_by or ""),
            usage.get(row.id, []),
        )  # fmt: skip
        for row in rows
    ]


def open_credential(
    plain_fields: Mapping[str, Any] | None, ciphertext: str, ring: MultiFernet | None = None
) -> dict[str, Any]:
    """Every field of a stored credential, decrypted: what a node gets from `ctx.credential(slot)`.

    Only the worker (and the webhook check of a hook's own credential) calls this. Rows written before
    plain fields were kept apart hold them in the ciphertext too; the stored plain ones win."""
    return {**decrypt_fields(ciphertext, ring), **(plain_fields or {})}
