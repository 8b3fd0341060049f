"""Workflows, their immutable versions and the functions that manage them; every saved version
also brings the workflow's webhooks in step with its `webhook_trigger` nodes.

Every function acts inside one workspace: it filters each query by `workspace_id`, and a row of
another workspace is reported as `NotFound`, exactly like a missing one. Functions flush but never
commit; the caller owns the transaction (see `runtime.store.engine.session_scope`). Documents are
stored as given: the caller validates them first.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapper
from sqlmodel import Field, Session, SQLModel, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from runtime.errors import NotFound, WorkflowError
from runtime.store.accounts import Workspace
from runtime.store.columns import JSONType, id_field, ref_field, utcnow
from runtime.store.schedules import sync_schedules
from runtime.store.webhooks import sync_webhooks

NAME_MAX_LENGTH = 200
COPY_SUFFIX = " (copy)"


class InvalidValueError(WorkflowError):
    """A value the store refuses; `field` and `value` say which one."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        super().__init__(f"Invalid {field} {value!r}: {reason}")


# A saved workflow; its graph lives in its versions, its name and description here.
class Workflow(SQLModel, table=True):
    __tablename__ = "workflow"

    id: str = id_field("wf")
    workspace_id: str = ref_field("workspace.id")
    name: str = Field(max_length=NAME_MAX_LENGTH)
    description: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# One immutable saved document of a workflow, numbered 1, 2, 3... per workflow.
class WorkflowVersion(SQLModel, table=True):
    __tablename__ = "workflow_version"
    __table_args__ = (sa.UniqueConstraint("workflow_id", "number"),)

    id: str = id_field("wfv")
    workspace_id: str = ref_field("workspace.id")
    workflow_id: str = ref_field("workflow.id")
    number: int
    document: dict[str, Any] = Field(sa_type=JSONType)
    created_by: str | None = ref_field("user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    note: str | None = Field(default=None, sa_type=sa.Text)


@event.listens_for(WorkflowVersion, "before_update")
def _refuse_version_update(mapper: Mapper[Any], connection: sa.Connection, target: WorkflowVersion) -> None:
    """Versions are history: changing one would change what past runs say they executed."""
    if any(attribute.history.has_changes() for attribute in sa.inspect(target).attrs):
        raise WorkflowError(f"Workflow version {target.id!r} is immutable; save a new version instead")


def _clean_name(name: object) -> str:
    """The name stripped of surrounding spaces, or `InvalidValueError` naming the field and value."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidValueError("name", name, "a workflow name must be a non-empty string")
    cleaned = name.strip()
    if len(cleaned) > NAME_MAX_LENGTH:
        raise InvalidValueError("name", name, f"a workflow name has at most {NAME_MAX_LENGTH} characters")
    return cleaned


def _add_version(
    session: Session, workflow: Workflow, document: dict[str, Any], created_by: str | None, note: str | None
) -> WorkflowVersion:
    """Append the next-numbered version of `workflow` holding a private copy of `document`."""
    last = select(func.max(WorkflowVersion.number)).where(WorkflowVersion.workflow_id == workflow.id)
    number = (session.exec(last).one() or 0) + 1
    version = WorkflowVersion(
        workspace_id=workflow.workspace_id,
        workflow_id=workflow.id,
        number=number,
        document=copy.deepcopy(document),
        created_by=created_by,
        note=note,
    )
    workflow.updated_at = version.created_at
    session.add_all([workflow, version])
    session.flush()
    sync_schedules(session, workflow.workspace_id, workflow.id, version.document)
    sync_webhooks(session, workflow.workspace_id, workflow.id, version.document)
    return version


def create_workflow(
    session: Session,
    workspace_id: str,
    document: dict[str, Any],
    *,
    created_by: str | None = None,
    note: str | None = None,
) -> Workflow:
    """A new workflow named after `document["name"]`, with `document` saved as its version 1."""
    name = _clean_name(document.get("name"))
    if session.get(Workspace, workspace_id) is None:
        raise NotFound(f"Workspace {workspace_id!r} not found")
    workflow = Workflow(workspace_id=workspace_id, name=name, description=document.get("description") or "")
    _add_version(session, workflow, document, created_by, note)
    return workflow


def get_workflow(session: Session, workspace_id: str, workflow_id: str, *, for_update: bool = False) -> Workflow:
    """The workflow `workflow_id` of this workspace, or `NotFound`.

    `for_update` locks the row until the transaction ends (PostgreSQL; SQLite serialises writers).
    """
    query = select(Workflow).where(Workflow.id == workflow_id, Workflow.workspace_id == workspace_id)
    if for_update:
        query = query.with_for_update()
    workflow = session.exec(query).first()
    if workflow is None:
        raise NotFound(f"Workflow {workflow_id!r} not found")
    return workflow


def list_workflows(session: Session, workspace_id: str) -> list[Workflow]:
    """Every workflow of this workspace, most recently updated first."""
    query = (
        select(Workflow)
        .where(Workflow.workspace_id == workspace_id)
        .order_by(col(Workflow.updated_at).desc(), col(Workflow.id).desc())
    )
    return list(session.exec(query).all())


def save_version(
    session: Session,
    workspace_id: str,
    workflow_id: str,
    document: dict[str, Any],
    *,
    created_by: str | None = None,
    note: str | None = None,
) -> WorkflowVersion:
    """The new latest version of the workflow, holding `document`; `NotFound` if not in this workspace."""
    workflow = get_workflow(session, workspace_id, workflow_id, for_update=True)
    return _add_version(session, workflow, document, created_by, note)


def get_version(session: Session, workspace_id: str, version_id: str) -> WorkflowVersion:
    """The workflow version `version_id` of this workspace, or `NotFound`."""
    query = select(WorkflowVersion).where(
        WorkflowVersion.id == version_id, WorkflowVersion.workspace_id == workspace_id
    )
    version = session.exec(query).first()
    if version is None:
        raise NotFound(f"Workflow version {version_id!r} not found")
    return version


def _versions_newest_first(workspace_id: str, workflow_id: str) -> SelectOfScalar[WorkflowVersion]:
    return (
        select(WorkflowVersion)
        .where(WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.workspace_id == workspace_id)
        .order_by(col(WorkflowVersion.number).desc())
    )


def list_versions(session: Session, workspace_id: str, workflow_id: str) -> list[WorkflowVersion]:
    """Every version of the workflow, newest (highest number) first; `NotFound` if not in this workspace."""
    get_workflow(session, workspace_id, workflow_id)
    return list(session.exec(_versions_newest_first(workspace_id, workflow_id)).all())


def latest_version(session: Session, workspace_id: str, workflow_id: str) -> WorkflowVersion:
    """The highest-numbered version of the workflow; `NotFound` if not in this workspace."""
    get_workflow(session, workspace_id, workflow_id)
    return session.exec(_versions_newest_first(workspace_id, workflow_id).limit(1)).one()


def rename_workflow(session: Session, workspace_id: str, workflow_id: str, name: str) -> Workflow:
    """The workflow renamed to `name` (stripped); versions keep their documents as saved."""
    cleaned = _clean_name(name)
    workflow = get_workflow(session, workspace_id, workflow_id)
    workflow.name = cleaned
    workflow.updated_at = utcnow()
    session.add(workflow)
    session.flush()
    return workflow


def duplicate_workflow(
    session: Session, workspace_id: str, workflow_id: str, *, created_by: str | None = None
) -> Workflow:
    """A new workflow "<name> (copy)" whose version 1 is a copy of the original's latest document."""
    original = get_workflow(session, workspace_id, workflow_id)
    source = latest_version(session, workspace_id, workflow_id)
    name = original.name[: NAME_MAX_LENGTH - len(COPY_SUFFIX)] + COPY_SUFFIX
    duplicate = Workflow(workspace_id=workspace_id, name=name, description=original.description)
    note = f"Copied from {original.id} version {source.number}"
    _add_version(session, duplicate, source.document, created_by, note)
    return duplicate


def delete_workflow(session: Session, workspace_id: str, workflow_id: str) -> None:
    """Delete the workflow; the database cascades to its versions, runs, node runs, webhooks and schedules."""
    workflow = get_workflow(session, workspace_id, workflow_id)
    session.delete(workflow)
    session.flush()
