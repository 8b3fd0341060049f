"""Stored credentials: created, edited and deleted without the web side ever decrypting; audited; used-by."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from runtime.credentials import add_credential, credential_views, edit_credential, open_credential, remove_credential
from runtime.errors import NotFound
from runtime.store import AuditEvent, Credential, User, Workspace, create_workflow
from runtime.store.credentials import credential_usage
from tests.runtime.store.conftest import make_document

SECRET = "sk-canary-4f1d2e3c9b8a"


def audit_actions(session: Session, workspace_id: str) -> list[tuple[str, dict]]:
    rows = session.exec(select(AuditEvent).where(AuditEvent.workspace_id == workspace_id)).all()
    return [(row.action, row.details) for row in sorted(rows, key=lambda row: row.created_at)]


def test_secret_fields_are_stored_only_as_ciphertext(session: Session, workspace: Workspace) -> None:
    credential = add_credential(session, workspace.id, None, "Team key", "openai",
                                {"api_key": SECRET, "base_url": "http://llm.local/v1"})  # fmt: skip
    session.commit()

    row = session.get(Credential, credential.id)
    assert SECRET not in row.ciphertext and SECRET not in str(row.plain_fields)
    assert row.plain_fields == {"base_url": "http://llm.local/v1"} and row.hint == "…9b8a"
    assert open_credential(row.plain_fields, row.ciphertext) == {"api_key": SECRET, "base_url": "http://llm.local/v1"}


def test_edit_with_blank_secret_keeps_the_ciphertext_untouched(session: Session, workspace: Workspace) -> None:
    user = User(email="ed@example.com", display_name="Ed")
    session.add(user)
    credential = add_credential(session, workspace.id, None, "Team key", "openai", {"api_key": SECRET})
    before = credential.ciphertext

    edit_credential(session, workspace.id, user.id, credential.id, "Renamed", {"api_key": "", "base_url": "http://x"})
    session.commit()

    row = session.get(Credential, credential.id)
    assert row.ciphertext == before and row.name == "Renamed" and row.updated_by == user.id
    assert open_credential(row.plain_fields, row.ciphertext) == {"api_key": SECRET, "base_url": "http://x"}
    view = credential_views(session, workspace.id, credential.id)[0]
    assert (view.updated_by, view.hint) == ("ed@example.com", "…9b8a")

    edit_credential(session, workspace.id, user.id, credential.id, None, {"api_key": "sk-new-secret-0000"})
    row = session.get(Credential, credential.id)
    assert row.ciphertext != before and row.hint == "…0000"
    assert open_credential(row.plain_fields, row.ciphertext)["api_key"] == "sk-new-secret-0000"


def test_changes_are_audited_without_values(session: Session, workspace: Workspace) -> None:
    credential = add_credential(session, workspace.id, None, "Basic", "basic_auth",
                                {"username": "ada", "password": SECRET})  # fmt: skip
    edit_credential(session, workspace.id, None, credential.id, None, {"password": SECRET + "x"})
    remove_credential(session, workspace.id, None, credential.id)
    session.commit()

    actions = audit_actions(session, workspace.id)
    assert [action for action, _ in actions] == ["credential.created", "credential.updated", "credential.deleted"]
    assert SECRET not in str(actions)
    assert actions[1][1]["fields"] == ["password"]


def test_usage_names_the_workflows_whose_latest_version_uses_it(session: Session, workspace: Workspace) -> None:
    credential = add_credential(session, workspace.id, None, "Team key", "openai", {"api_key": SECRET})
    node = {"id": "ask", "type": "llm", "type_version": 1, "params": {}, "credentials": {"openai": credential.id}}
    using = create_workflow(session, workspace.id, make_document("Summariser", nodes=[node]))
    create_workflow(session, workspace.id, make_document("Unrelated"))
    session.commit()

    assert credential_usage(session, workspace.id) == {credential.id: [(using.id, "Summariser")]}
    assert credential_views(session, workspace.id)[0].used_by == [(using.id, "Summariser")]


def test_other_workspaces_never_see_it(session: Session, workspace: Workspace, other_workspace: Workspace) -> None:
    credential = add_credential(session, workspace.id, None, "Team key", "openai", {"api_key": SECRET})
    session.commit()

    assert credential_views(session, other_workspace.id) == []
    with pytest.raises(NotFound):
        edit_credential(session, other_workspace.id, None, credential.id, "stolen", {})
    with pytest.raises(NotFound):
        remove_credential(session, other_workspace.id, None, credential.id)
