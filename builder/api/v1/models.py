"""Request and response bodies of `/api/v1`, so the OpenAPI document says exactly what is sent and returned."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from runtime.store import ApprovalStatus, NodeRunStatus, Role, RunStatus, RunTrigger

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
Id = Annotated[str, Path(pattern=ID_PATTERN, description="A resource id, e.g. `wf_3kTq...`.")]
"""A path parameter holding an id; anything else cannot name a resource and is refused with 422."""


def _iso_only(value: Any) -> Any:
    # pydantic also reads numbers as Unix timestamps; the schema (and users) mean ISO 8601 text.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value.strip())):
        raise ValueError(f"{value!r} is not an ISO 8601 date-time such as 2026-01-31T09:00:00Z")
    return value


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|[-+]?(inf|infinity|nan)", re.IGNORECASE)
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]
"""A date-time given as ISO 8601 text (a timezone-less one is taken as UTC)."""
Document = dict[str, Any]
DOCUMENT_DESCRIPTION = (
    "A workflow document (`format: trellis.workflow`); its JSON Schema is runtime/graph/workflow.schema.json."
)


class ErrorBody(BaseModel):
    """Every error answer: a stable machine code and a message for people, plus details for some codes."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="Machine-readable code, e.g. `not_found`, `unauthorized`, `workflow_invalid`.")
    message: str = Field(description="What went wrong, for people.")
    issues: list[dict[str, Any]] | None = Field(
        None, description="Every problem found, for `workflow_invalid` and `invalid_request`."
    )


ERROR_DESCRIPTIONS = {
    400: "Malformed request: a body that is not JSON, or a bad header, cursor or idempotency key.",
    401: "Missing, malformed, unknown or revoked API key.",
    403: "The key's role may read but not change or run.",
    404: "No such resource in the key's workspace.",
    409: "Conflicts with the resource's current state.",
    422: "The request or the workflow document is invalid; `issues` lists every problem.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry declaring these error statuses with the error body (400, 401 and 422 always)."""
    return {
        status: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[status]}
        for status in sorted({400, 401, 422, *statuses})
    }


class WorkflowSummary(BaseModel):
    """A workflow as listed: its identity and latest version number, without the document."""

    id: str
    name: str
    description: str
    latest_version: int
    created_at: datetime
    updated_at: datetime


class WorkflowDetail(WorkflowSummary):
    """A workflow with the document of its latest version."""

    document: Document = Field(description=DOCUMENT_DESCRIPTION)


class WorkflowList(BaseModel):
    """Every workflow of the workspace, most recently updated first."""

    items: list[WorkflowSummary]


class WorkflowCreate(BaseModel):
    """A new workflow: from a document, or a starter document (trigger -> output) named `name`."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200, description="Overrides the document's name.")
    document: Document | None = Field(None, description=DOCUMENT_DESCRIPTION)


class WorkflowUpdate(BaseModel):
    """Rename a workflow and/or save a new version of it; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    document: Document | None = Field(None, description=DOCUMENT_DESCRIPTION + " Saved as a new version.")
    note: str | None = Field(None, max_length=2000, description="Why this version was saved.")


class VersionSummary(BaseModel):
    """One saved version of a workflow (versions never change)."""

    id: str
    workflow_id: str
    number: int
    note: str | None
    created_at: datetime


class VersionDetail(VersionSummary):
    """A saved version with its document."""

    document: Document = Field(description=DOCUMENT_DESCRIPTION)


class VersionList(BaseModel):
    """Every version of a workflow, newest first."""

    items: list[VersionSummary]


class RunStart(BaseModel):
    """Start the latest version of a saved workflow; `input` is what expressions see as `trigger.body`."""

    model_config = ConfigDict(extra="forbid")

    workflow_id: str = Field(min_length=1, max_length=64)
    input: Any = Field(default_factory=dict, description="Any JSON value; `{}` when left out.")


class RunAccepted(BaseModel):
    """A run stored and handed to an executor; follow it at `status_url` or `events_url`."""

    run_id: str
    status: RunStatus
    status_url: str
    events_url: str


class RunSummary(BaseModel):
    """A run as listed."""

    id: str
    workflow_id: str
    workflow_version_id: str
    status: RunStatus
    trigger: RunTrigger
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    replay_of: str | None = Field(None, description="The run this one replays, if it is a replay.")


class NodeRunOut(BaseModel):
    """One attempt of one node."""

    id: str
    node_id: str
    status: NodeRunStatus
    attempt: int
    input: Any | None
    output: Any | None
    error: dict[str, Any] | None
    started_at: datetime
    finished_at: datetime | None


class RunDetail(RunSummary):
    """A run with its input, output, error and every node run, in start order."""

    input: Any
    output: Any | None
    error: dict[str, Any] | None
    node_runs: list[NodeRunOut]
    approvals: list[ApprovalOut] = Field(description="Every approval the run reached; `pending` ones await a decision.")


class ApprovalOut(BaseModel):
    """One approval node a run reached, and its decision once made."""

    node_id: str
    status: ApprovalStatus
    message: str
    comment: str | None
    decided_by: str | None
    decided_at: datetime | None
    due_at: datetime | None = Field(description="When it times out (`timed_out`); null without a timeout.")
    created_at: datetime


class DecisionIn(BaseModel):
    """A decision on a pending approval; the first decision wins."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    comment: str | None = Field(None, max_length=4000, description="Shown with the decision and in the node output.")


class ReplayIn(BaseModel):
    """Replay a finished run from `from_node`, which runs on `input` instead of what reached it originally."""

    model_config = ConfigDict(extra="forbid")

    from_node: str = Field(min_length=1, max_length=200)
    input: Any = Field(None, description="The input `from_node` gets (`input` in its expressions).")


class RunPage(BaseModel):
    """One page of runs, newest first; pass `next_cursor` as `cursor` for the next page (null: no more)."""

    items: list[RunSummary]
    next_cursor: str | None


class CallerOut(BaseModel):
    """Who the API key is."""

    key_id: str
    workspace_id: str
    role: Role
