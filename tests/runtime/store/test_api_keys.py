"""API keys in the store: shown once, kept as a hash, refused when wrong or revoked, use recorded cheaply."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from runtime.errors import NotFound
from runtime.store import ApiKey, AuditEvent, Role, Workspace
from runtime.store.api_keys import authenticate, create_api_key, list_api_keys, revoke_api_key


def test_a_new_key_is_returned_once_and_stored_only_as_its_hash(session: Session, workspace: Workspace) -> None:
    created = create_api_key(session, workspace.id, "ci", Role.VIEWER)
    session.commit()

    assert created.plaintext.startswith(f"trellis_{created.key.id}_")
    secret = created.plaintext.removeprefix(f"trellis_{created.key.id}_")
    assert len(secret) == 43  # secrets.token_urlsafe(32): 256 random bits
    [stored] = session.exec(select(ApiKey)).all()
    assert stored.key_hash == hashlib.sha256(created.plaintext.encode()).hexdigest()
    assert stored.last_four == created.plaintext[-4:]
    assert created.plaintext not in str(stored.model_dump())


def test_authenticate_accepts_the_key_and_refuses_near_misses(session: Session, workspace: Workspace) -> None:
    plaintext = create_api_key(session, workspace.id, "ci").plaintext
    session.commit()
    flipped = plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")

    key = authenticate(session, plaintext)

    assert key is not None and (key.workspace_id, key.role) == (workspace.id, Role.EDITOR)
    for wrong in (flipped, plaintext + "x", plaintext.replace("trellis_", "trellis-"), "", "trellis_key_x_y"):
        assert authenticate(session, wrong) is None, wrong


def test_a_revoked_key_is_refused_and_revoking_again_keeps_the_first_time(
    session: Session, workspace: Workspace, other_workspace: Workspace
) -> None:
    created = create_api_key(session, workspace.id, "ci")
    first = revoke_api_key(session, workspace.id, created.key.id).revoked_at
    session.commit()

    assert authenticate(session, created.plaintext) is None
    assert revoke_api_key(session, workspace.id, created.key.id).revoked_at == first
    assert [key.id for key in list_api_keys(session, workspace.id)] == [created.key.id]
    assert list_api_keys(session, other_workspace.id) == []
    with pytest.raises(NotFound):
        revoke_api_key(session, other_workspace.id, created.key.id)


def test_last_used_at_is_written_at_most_once_a_minute(session: Session, workspace: Workspace) -> None:
    plaintext = create_api_key(session, workspace.id, "ci").plaintext
    session.commit()

    authenticate(session, plaintext)
    session.commit()
    [key] = session.exec(select(ApiKey)).all()
    first_use = key.last_used_at
    authenticate(session, plaintext)
    session.commit()
    session.refresh(key)
    assert first_use is not None and key.last_used_at == first_use

    key.last_used_at = first_use - timedelta(minutes=2)
    session.add(key)
    session.commit()
    authenticate(session, plaintext)
    session.commit()
    session.refresh(key)
    assert key.last_used_at is not None and key.last_used_at > first_use - timedelta(minutes=2)


def test_creating_and_revoking_are_audited_once(session: Session, workspace: Workspace) -> None:
    created = create_api_key(session, workspace.id, "ci", Role.VIEWER)
    revoke_api_key(session, workspace.id, created.key.id)
    revoke_api_key(session, workspace.id, created.key.id)

    events = session.exec(select(AuditEvent).where(AuditEvent.target_id == created.key.id)).all()
    assert sorted(e.action for e in events) == ["api_key.created", "api_key.revoked"]
    assert all(created.plaintext not in str(e.details) for e in events)
