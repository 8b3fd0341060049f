"""`/api/v1/workflows/{id}/versions`: the saved versions of a workflow."""

from __future__ import annotations

from fastapi import APIRouter, Path
from sqlmodel import select

from builder.api.v1.auth import Reader
from builder.api.v1.db import workspace_session
from builder.api.v1.models import Id, VersionDetail, VersionList, VersionSummary, error_responses
from runtime.errors import NotFound
from runtime.store import WorkflowVersion, get_workflow, list_versions

router = APIRouter(prefix="/workflows/{workflow_id}/versions", tags=["versions"])


def version_summary(version: WorkflowVersion) -> VersionSummary:
    """The listed form of a version."""
    return VersionSummary(
        id=version.id, workflow_id=version.workflow_id, number=version.number, note=version.note,
        created_at=version.created_at,
    )  # fmt: skip


@router.get("", response_model=VersionList, responses=error_responses(404), summary="List versions")
def list_all(workflow_id: Id, caller: Reader) -> VersionList:
    """Every saved version of the workflow, newest first."""
    with workspace_session() as session:
        versions = list_versions(session, caller.workspace_id, workflow_id)
    return VersionList(items=[version_summary(version) for version in versions])


@router.get("/{number}", response_model=VersionDetail, responses=error_responses(404), summary="Get a version")
def get_one(workflow_id: Id, caller: Reader, number: int = Path(ge=1, le=2**31 - 1)) -> VersionDetail:
    """Version `number` (1 is the first saved) of the workflow, with its document."""
    with workspace_session() as session:
        get_workflow(session, caller.workspace_id, workflow_id)
        query = select(WorkflowVersion).where(
            WorkflowVersion.workspace_id == caller.workspace_id,
            WorkflowVersion.workflow_id == workflow_id,
            WorkflowVersion.number == number,
        )
        version = session.exec(query).first()
    if version is None:
        raise NotFound(f"Workflow {workflow_id!r} has no version {number}")
    return VersionDetail(**version_summary(version).model_dump(), document=version.document)
