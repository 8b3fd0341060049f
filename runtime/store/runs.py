"""Run records: one row per execution of a saved workflow version, one per node attempt."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Field, SQLModel

from runtime.store.columns import JSONType, id_field, ref_field, str_enum, utcnow


class RunStatus(StrEnum):
    """Where a run is in its life; `waiting` means paused on an approval."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    WAITING = "waiting"


class NodeRunStatus(StrEnum):
    """Where one node attempt is; `skipped` marks a node on a branch that was not taken."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    WAITING = "waiting"
    SKIPPED = "skipped"


class RunTrigger(StrEnum):
    """What started a run."""

    MANUAL = "manual"
    WEBHOOK = "webhook"
    API = "api"
    CLI = "cli"
    SCHEDULE = "schedule"


# One execution of the exact workflow version it names.
class Run(SQLModel, table=True):
    __tablename__ = "run"

    id: str = id_field("run")
    workspace_id: str = ref_field("workspace.id")
    workflow_id: str = ref_field("workflow.id")
    workflow_version_id: str = ref_field("workflow_version.id")
    status: RunStatus = Field(default=RunStatus.QUEUED, sa_type=str_enum(RunStatus), index=True)
    trigger: RunTrigger = Field(sa_type=str_enum(RunTrigger))
    input: Any = Field(default_factory=dict, sa_type=JSONType)
    output: Any | None = Field(default=None, sa_type=JSONType)
    error: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # The lease of the executor running it: a claim bumps the epoch; writes under an older one are refused.
    lease_owner: str | None = Field(default=None, max_length=200, index=True)
    lease_epoch: int = 0
    lease_expires_at: datetime | None = None
    attempts: int = 0
    """How many times an executor claimed the run (1 for a run that never had to be recovered)."""


# One attempt of one node within a run: what went in, what came out or what failed.
class NodeRun(SQLModel, table=True):
    __tablename__ = "node_run"

    id: str = id_field("nr")
    workspace_id: str = ref_field("workspace.id")
    run_id: str = ref_field("run.id")
    node_id: str = Field(max_length=200)
    status: NodeRunStatus = Field(default=NodeRunStatus.RUNNING, sa_type=str_enum(NodeRunStatus))
    attempt: int = 1
    input: Any | None = Field(default=None, sa_type=JSONType)
    output: Any | None = Field(default=None, sa_type=JSONType)
    error: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
