"""`/api/v1/workflows`: list, read, create, update (rename or save a new version) and delete workflows."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlmodel import Session, func, select

from builder.api.errors import ApiError
from builder.api.v1.auth import Caller, Reader, Writer
from builder.api.v1.db import workspace_session
from builder.api.v1.models import (
    Id,
    WorkflowCreate,
    WorkflowDetail,
    WorkflowList,
    WorkflowSummary,
    WorkflowUpdate,
    error_responses,
)
from runtime.graph.schema import dump_document
from runtime.graph.validate import validate_document
from runtime.store import (
    Workflow,
    WorkflowVersion,
    delete_workflow,
    get_workflow,
    latest_version,
    list_workflows,
    record_audit,
    rename_workflow,
    save_version,
)
from runtime.workflows import create_blank_workflow, import_workflow

router = APIRouter(prefix="/workflows", tags=["workflows"])


def audit_api(session: Session, caller: Caller, action: str, workflow_id: str, **details: str) -> None:
    """Record a workflow action done through the REST API, under the key's creator, naming the key."""
    record_audit(session, caller.workspace_id, caller.user_id, action, ("workflow", workflow_id),
                 api_key=caller.key_id, **details)  # fmt: skip


def workflow_summary(workflow: Workflow, latest: int) -> WorkflowSummary:
    """The listed form of a workflow whose latest version is number `latest`."""
    return WorkflowSummary(
        id=workflow.id, name=workflow.name, description=workflow.description, latest_version=latest,
        created_at=workflow.created_at, updated_at=workflow.updated_at,
    )  # fmt: skip


def workflow_detail(session: Session, workspace_id: str, workflow: Workflow) -> WorkflowDetail:
    """The workflow with its latest document."""
    version = latest_version(session, workspace_id, workflow.id)
    summary = workflow_summary(workflow, version.number)
    return WorkflowDetail(**summary.model_dump(), document=version.document)


@router.get("", response_model=WorkflowList, responses=error_responses(), summary="List workflows")
def list_all(caller: Reader) -> WorkflowList:
    """Every workflow of the key's workspace, most recently updated first."""
    with workspace_session() as session:
        workflows = list_workflows(session, caller.workspace_id)
        latest_numbers = select(WorkflowVersion.workflow_id, func.max(WorkflowVersion.number)).where(
            WorkflowVersion.workspace_id == caller.workspace_id
        )
        latest = dict(session.exec(latest_numbers.group_by(WorkflowVersion.workflow_id)).all())
    return WorkflowList(items=[workflow_summary(workflow, latest[workflow.id]) for workflow in workflows])


@router.post(
    "", status_code=201, response_model=WorkflowDetail, responses=error_responses(403), summary="Create a workflow"
)
def create(body: WorkflowCreate, caller: Writer, response: Response) -> WorkflowDetail:
    """A new workflow from `document` (validated; 422 lists every problem), or a starter one named `name`."""
    if body.document is None and body.name is None:
        raise ApiError(422, "invalid_request", "Give a `document`, a `name`, or both.")
    with workspace_session() as session:
        if body.document is None:
            workflow = create_blank_workflow(session, caller.workspace_id, body.name or "")
        else:
            document = body.document if body.name is None else {**body.document, "name": body.name}
            workflow = import_workflow(session, caller.workspace_id, document)
            audit_api(session, caller, "workflow.imported", workflow.id, name=workflow.name)
        detail = workflow_detail(session, caller.workspace_id, workflow)
    response.headers["Location"] = f"/api/v1/workflows/{detail.id}"
    return detail


@router.get("/{workflow_id}", response_model=WorkflowDetail, responses=error_responses(404), summary="Get a workflow")
def get_one(workflow_id: Id, caller: Reader) -> WorkflowDetail:
    """The workflow and its latest document."""
    with workspace_session() as session:
        return workflow_detail(session, caller.workspace_id, get_workflow(session, caller.workspace_id, workflow_id))


@router.patch(
    "/{workflow_id}", response_model=WorkflowDetail, responses=error_responses(403, 404), summary="Update a workflow"
)
def update(workflow_id: Id, body: WorkflowUpdate, caller: Writer) -> WorkflowDetail:
    """Rename the workflow (`name`) and/or save `document` as its new latest version (validated first)."""
    with workspace_session() as session:
        workflow = get_workflow(session, caller.workspace_id, workflow_id)
        if body.document is not None:
            document = dump_document(validate_document(body.document))
            save_version(session, caller.workspace_id, workflow_id, document, note=body.note)
        if body.name is not None:
            workflow = rename_workflow(session, caller.workspace_id, workflow_id, body.name)
        return workflow_detail(session, caller.workspace_id, workflow)


@router.delete(
    "/{workflow_id}", status_code=204, response_class=Response, responses=error_responses(403, 404),
    summary="Delete a workflow",
)  # fmt: skip
def delete(workflow_id: Id, caller: Writer) -> Response:
    """Delete the workflow with its versions, runs and webhooks."""
    with workspace_session() as session:
        name = get_workflow(session, caller.workspace_id, workflow_id).name
        delete_workflow(session, caller.workspace_id, workflow_id)
        audit_api(session, caller, "workflow.deleted", workflow_id, name=name)
    return Response(status_code=204)
