"""Workflow store functions, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from runtime.errors import NotFound, WorkflowError
from runtime.store import (
    InvalidValueError,
    NodeRun,
    Run,
    RunTrigger,
    Webhook,
    Workflow,
    WorkflowVersion,
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


def test_create_workflow_takes_name_and_description_from_the_document(session: Session, workspace: Workspace) -> None:
    workflow = create_workflow(session, workspace.id, make_document("  My flow  "), note="first")
    session.commit()

    assert workflow.id.startswith("wf_")
    assert (workflow.name, workflow.description) == ("My flow", "Fetch a page and summarise it")
    assert workflow.created_at.tzinfo is not None
    [version] = list_versions(session, workspace.id, workflow.id)
    assert (version.number, version.note, version.created_by) == (1, "first", None)
    assert version.id.startswith("wfv_")
    assert version.document == make_document("  My flow  ")


def test_create_workflow_in_unknown_workspace_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="ws_missing"):
        create_workflow(session, "ws_missing", make_document())


def test_versions_are_numbered_from_one_and_latest_is_the_highest(session: Session, workspace: Workspace) -> None:
    workflow = create_workflow(session, workspace.id, make_document(step=1))
    for step in (2, 3):
        save_version(session, workspace.id, workflow.id, make_document(step=step), note=f"step {step}")
    session.commit()

    versions = list_versions(session, workspace.id, workflow.id)
    assert [v.number for v in versions] == [3, 2, 1]
    assert [v.document["step"] for v in versions] == [3, 2, 1]
    latest = latest_version(session, workspace.id, workflow.id)
    assert (latest.number, latest.note) == (3, "step 3")
    assert get_version(session, workspace.id, versions[-1].id).document["step"] == 1


def test_saving_a_version_bumps_updated_at_and_keeps_the_name(session: Session, workspace: Workspace) -> None:
    workflow = create_workflow(session, workspace.id, make_document("Original"))
    session.commit()
    before = workflow.updated_at

    version = save_version(session, workspace.id, workflow.id, make_document("Renamed in the document"))
    session.commit()

    assert get_workflow(session, workspace.id, workflow.id).name == "Original"
    assert get_workflow(session, workspace.id, workflow.id).updated_at == version.created_at > before


def test_saved_versions_are_immutable(session: Session, workspace: Workspace) -> None:
    document = make_document(step=1)
    workflow = create_workflow(session, workspace.id, document)
    session.commit()
    # The store keeps its own copy: the caller mutating its dict changes nothing stored.
    document["step"] = 99
    save_version(session, workspace.id, workflow.id, make_document(step=2))
    session.commit()
    session.expire_all()

    first = list_versions(session, workspace.id, workflow.id)[-1]
    assert first.document["step"] == 1
    first.note = "rewritten history"
    with pytest.raises(WorkflowError, match=f"{first.id}.*immutable"):
        session.commit()
    session.rollback()
    assert get_version(session, workspace.id, first.id).note is None


def test_list_workflows_shows_most_recently_updated_first(session: Session, workspace: Workspace) -> None:
    older = create_workflow(session, workspace.id, make_document("Older"))
    newer = create_workflow(session, workspace.id, make_document("Newer"))
    session.commit()
    assert [w.id for w in list_workflows(session, workspace.id)] == [newer.id, older.id]

    save_version(session, workspace.id, older.id, make_document("Older"))
    session.commit()
    assert [w.id for w in list_workflows(session, workspace.id)] == [older.id, newer.id]


def test_rename_workflow_strips_and_stores_the_name(session: Session, workspace: Workspace) -> None:
    workflow = create_workflow(session, workspace.id, make_document("Old"))
    session.commit()

    renamed = rename_workflow(session, workspace.id, workflow.id, "  New name ")
    session.commit()
    session.expire_all()

    assert renamed.name == "New name"
    assert get_workflow(session, workspace.id, workflow.id).name == "New name"
    assert latest_version(session, workspace.id, workflow.id).document["name"] == "Old"


@pytest.mark.parametrize(
    ("name", "reason"),
    [("", "non-empty"), ("   ", "non-empty"), (None, "non-empty"), ("x" * 201, "at most 200")],
)
def test_bad_names_are_rejected_naming_field_and_value(
    session: Session, workspace: Workspace, name: str | None, reason: str
) -> None:
    workflow = create_workflow(session, workspace.id, make_document("Fine"))
    session.commit()

    with pytest.raises(InvalidValueError, match=reason) as rename_error:
        rename_workflow(session, workspace.id, workflow.id, name)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match=reason) as create_error:
        create_workflow(session, workspace.id, make_document(name))  # type: ignore[arg-type]

    for error in (rename_error.value, create_error.value):
        assert isinstance(error, WorkflowError)
        assert (error.field, error.value) == ("name", name)
        assert str(error).startswith(f"Invalid name {name!r}")
    session.rollback()
    assert [w.name for w in list_workflows(session, workspace.id)] == ["Fine"]


def test_a_name_of_exactly_200_characters_is_accepted(session: Session, workspace: Workspace) -> None:
    assert create_workflow(session, workspace.id, make_document("x" * 200)).name == "x" * 200


def test_duplicate_copies_the_latest_document_as_version_one(session: Session, workspace: Workspace) -> None:
    original = create_workflow(session, workspace.id, make_document("Report", step=1))
    save_version(session, workspace.id, original.id, make_document("Report", step=2))
    session.commit()

    copy = duplicate_workflow(session, workspace.id, original.id)
    session.commit()

    assert copy.id != original.id
    assert (copy.name, copy.description) == ("Report (copy)", original.description)
    [version] = list_versions(session, workspace.id, copy.id)
    assert (version.number, version.document) == (1, make_document("Report", step=2))
    assert len(list_versions(session, workspace.id, original.id)) == 2


def test_duplicate_of_a_200_character_name_stays_within_the_limit(session: Session, workspace: Workspace) -> None:
    original = create_workflow(session, workspace.id, make_document("y" * 200))

    copy = duplicate_workflow(session, workspace.id, original.id)

    assert len(copy.name) == 200
    assert copy.name.endswith("y (copy)")


def test_delete_workflow_cascades_to_versions_runs_node_runs_and_webhooks(
    session: Session, workspace: Workspace
) -> None:
    # Given a workflow with two versions, a run with a node run, and a webhook
    workflow = create_workflow(session, workspace.id, make_document())
    version = save_version(session, workspace.id, workflow.id, make_document())
    run = Run(
        workspace_id=workspace.id,
        workflow_id=workflow.id,
        workflow_version_id=version.id,
        trigger=RunTrigger.MANUAL,
    )
    session.add(run)
    session.flush()
    session.add(NodeRun(workspace_id=workspace.id, run_id=run.id, node_id="start"))
    save_version(session, workspace.id, workflow.id, make_document(nodes=[{"id": "hook", "type": "webhook_trigger"}]))
    keep = create_workflow(session, workspace.id, make_document("Keep me"))
    session.commit()

    # When it is deleted
    delete_workflow(session, workspace.id, workflow.id)
    session.commit()
    session.expunge_all()

    # Then everything hanging off it is gone, and other workflows are untouched
    with pytest.raises(NotFound):
        get_workflow(session, workspace.id, workflow.id)
    assert session.exec(select(Webhook)).all() == []
    for table in (WorkflowVersion, Run, NodeRun):
        rows = session.exec(select(table)).all()
        assert all(getattr(row, "workflow_id", keep.id) == keep.id for row in rows), table
    assert session.exec(select(Run)).all() == []
    assert session.exec(select(NodeRun)).all() == []
    assert [w.id for w in session.exec(select(Workflow)).all()] == [keep.id]


def test_unknown_ids_are_not_found(session: Session, workspace: Workspace) -> None:
    for call in (
        lambda: get_workflow(session, workspace.id, "wf_nope"),
        lambda: latest_version(session, workspace.id, "wf_nope"),
        lambda: list_versions(session, workspace.id, "wf_nope"),
        lambda: get_version(session, workspace.id, "wfv_nope"),
        lambda: delete_workflow(session, workspace.id, "wf_nope"),
    ):
        with pytest.raises(NotFound, match="_nope' not found"):
            call()
