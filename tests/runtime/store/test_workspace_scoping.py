"""Workspace B can neither see nor touch workspace A's workflows: every attempt is NotFound."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session

from runtime.errors import NotFound
from runtime.store import (
    Workspace,
    create_workflow,
    delete_workflow,
    duplicate_workflow,
    get_version,
    get_workflow,
    latest_version,
    list_versions,
    list_workflows,
    rename_workflow,
    save_version,
)
from tests.runtime.store.conftest import make_document

ATTEMPTS: dict[str, Callable[[Session, str, str, str], Any]] = {
    "get": lambda s, ws, wf, v: get_workflow(s, ws, wf),
    "rename": lambda s, ws, wf, v: rename_workflow(s, ws, wf, "Stolen"),
    "duplicate": lambda s, ws, wf, v: duplicate_workflow(s, ws, wf),
    "delete": lambda s, ws, wf, v: delete_workflow(s, ws, wf),
    "save_version": lambda s, ws, wf, v: save_version(s, ws, wf, make_document("Stolen")),
    "latest_version": lambda s, ws, wf, v: latest_version(s, ws, wf),
    "list_versions": lambda s, ws, wf, v: list_versions(s, ws, wf),
    "get_version": lambda s, ws, wf, v: get_version(s, ws, v),
}


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_other_workspace_gets_not_found_and_nothing_changes(
    session: Session, workspace: Workspace, other_workspace: Workspace, attempt: str
) -> None:
    # Given a workflow in workspace A
    workflow = create_workflow(session, workspace.id, make_document("Secret"))
    version = latest_version(session, workspace.id, workflow.id)
    session.commit()

    # When workspace B tries to act on it, the answer is the same as for a missing id
    with pytest.raises(NotFound, match=r"not found$"):
        ATTEMPTS[attempt](session, other_workspace.id, workflow.id, version.id)
    session.rollback()
    session.expire_all()

    # Then A's workflow is exactly as it was, and B owns nothing
    assert get_workflow(session, workspace.id, workflow.id).name == "Secret"
    assert [v.id for v in list_versions(session, workspace.id, workflow.id)] == [version.id]
    assert [w.id for w in list_workflows(session, workspace.id)] == [workflow.id]
    assert list_workflows(session, other_workspace.id) == []
