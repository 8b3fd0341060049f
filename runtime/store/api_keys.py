"""API keys: `trellis_<id>_<secret>` bearer keys for the REST API, stored only as a SHA-256 hash.

A key is shown once, when it is created. Authentication looks the key row up by the id embedded
in the key and compares hashes in constant time, so neither timing nor a database index leaks how
much of a guessed secret was right. Functions flush but never commit (the caller owns the
transaction), except `authenticate`, which is meant to be called in its own session.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from runtime.errors import NotFound
from runtime.store.accounts import ApiKey, Role, Workspace
from runtime.store.audit import record_audit
from runtime.store.columns import utcnow

KEY_PREFIX = "trellis_"
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""`last_used_at` is written at most this often per key, so busy keys do not turn every read into a write."""

_KEY_PATTERN = re.compile(r"trellis_(key_[A-Za-z0-9]{1,28})_([A-Za-z0-9_-]{20,100})")


@dataclass(frozen=True)
class CreatedKey:
    """A new key's row and its plaintext, which is never stored and cannot be shown again."""

    key: ApiKey
    plaintext: str


def hash_key(plaintext: str) -> str:
    """The hex SHA-256 of a key, as stored in `api_key.key_hash`."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_api_key(
    session: Session, workspace_id: str, name: str, role: Role = Role.EDITOR, *, created_by: str | None = None
) -> CreatedKey:
    """A new key for this workspace with `role` (audited under `created_by`); the plaintext is only returned."""
    if session.get(Workspace, workspace_id) is None:
        raise NotFound(f"Workspace {workspace_id!r} not found")
    key = ApiKey(workspace_id=workspace_id, name=name.strip() or "API key", key_hash="", last_four="", role=role)
    plaintext = f"{KEY_PREFIX}{key.id}_{secrets.token_urlsafe(32)}"
    key.key_hash, key.last_four, key.created_by = hash_key(plaintext), plaintext[-4:], created_by
    session.add(key)
    session.flush()
    record_audit(session, workspace_id, created_by, "api_key.created", ("api_key", key.id), name=key.name,
                 role=role.value)  # fmt: skip
    return CreatedKey(key, plaintext)


def authenticate(session: Session, plaintext: str) -> ApiKey | None:
    """The active key `plaintext` is, or None for a malformed, unknown or revoked one.

    Records the use in `last_used_at` (at most once per `LAST_USED_RESOLUTION`).
    """
    match = _KEY_PATTERN.fullmatch(plaintext)
    if match is None:
        return None
    key = session.get(ApiKey, match.group(1))
    if key is None or not hmac.compare_digest(key.key_hash, hash_key(plaintext)) or key.revoked_at is not None:
        return None
    now = utcnow()
    stale = now - LAST_USED_RESOLUTION
    # One conditional UPDATE: concurrent requests of the same key write at most once per minute.
    session.execute(
        sa.update(ApiKey)
        .where(col(ApiKey.id) == key.id)
        .where(sa.or_(col(ApiKey.last_used_at).is_(None), col(ApiKey.last_used_at) < stale))
        .values(last_used_at=now)
    )
    return key


def list_api_keys(session: Session, workspace_id: str) -> list[ApiKey]:
    """Every key of this workspace, revoked ones included, newest first."""
    query = (
        select(ApiKey)
        .where(ApiKey.workspace_id == workspace_id)
        .order_by(col(ApiKey.created_at).desc(), col(ApiKey.id).desc())
    )
    return list(session.exec(query).all())


def revoke_api_key(session: Session, workspace_id: str, key_id: str, *, revoked_by: str | None = None) -> ApiKey:
    """The key, revoked from now on (revoking twice keeps the first time, audited once under `revoked_by`);
    `NotFound` outside this workspace."""
    key = session.exec(select(ApiKey).where(ApiKey.id == key_id, ApiKey.workspace_id == workspace_id)).first()
    if key is None:
        raise NotFound(f"API key {key_id!r} not found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        session.flush()
        record_audit(session, workspace_id, revoked_by, "api_key.revoked", ("api_key", key.id), name=key.name)
    return key
