"""`/api/v1/runs`: start a saved workflow, list runs with filters and paging, read one, cancel it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, col, select

from builder.api.errors import ApiError
from builder.api.v1.auth import Reader, Writer
from builder.api.v1.db import workspace_session
from builder.api.v1.idempotency import start_api_run, start_once
from builder.api.v1.models import (
    ApprovalOut,
    Id,
    IsoDateTime,
    NodeRunOut,
    RunAccepted,
    RunDetail,
    RunPage,
    RunStart,
    RunSummary,
    error_responses,
)
from builder.api.v1.run_query import encode_cursor, runs_query
from runtime.config import get_settings
from runtime.errors import NotFound
from runtime.executor.dispatch import cancel_run, run_status_url
from runtime.store import NodeRun, Run, RunStatus, RunTrigger
from runtime.store.approvals import run_approvals

router = APIRouter(prefix="/runs", tags=["runs"])

FINISHED = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})
MAX_PAGE = 200


def run_url(run_id: str, suffix: str = "") -> str:
    """The absolute URL of the run (or of `suffix` under it) at the app's public address."""
    return run_status_url(get_settings(), run_id) + suffix


def get_run(session: Session, workspace_id: str, run_id: str) -> Run:
    """The run of this workspace, or `NotFound` (also for another workspace's run)."""
    run = session.exec(select(Run).where(Run.id == run_id, Run.workspace_id == workspace_id)).first()
    if run is None:
        raise NotFound(f"Run {run_id!r} not found")
    return run


def run_summary(run: Run) -> RunSummary:
    """The listed form of a run."""
    return RunSummary.model_validate(run, from_attributes=True)


def run_detail(session: Session, run: Run) -> RunDetail:
    """The run with its node runs in the order they started."""
    query = (
        select(NodeRun)
        .where(NodeRun.run_id == run.id, NodeRun.workspace_id == run.workspace_id)
        .order_by(col(NodeRun.started_at), col(NodeRun.id))
    )
    node_runs = [NodeRunOut.model_validate(row, from_attributes=True) for row in session.exec(query).all()]
    approvals = [
        ApprovalOut.model_validate(row, from_attributes=True)
        for row in run_approvals(session, run.workspace_id, run.id)
    ]
    return RunDetail(
        **run_summary(run).model_dump(), input=run.input, output=run.output, error=run.error, node_runs=node_runs,
        approvals=approvals,
    )  # fmt: skip


def accepted(run_id: str) -> RunAccepted:
    """The 202 answer for a stored, dispatched run."""
    return RunAccepted(
        run_id=run_id, status=RunStatus.QUEUED, status_url=run_url(run_id), events_url=run_url(run_id, "/events")
    )


@router.post(
    "", status_code=202, response_model=RunAccepted, responses=error_responses(403, 404, 409),
    summary="Start a run",
)  # fmt: skip
async def start(
    body: RunStart,
    caller: Writer,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> RunAccepted:
    """Start the latest version of workflow `workflow_id` with `input` as `trigger.body`.

    Answers once the run is stored; follow it at `status_url` or as events at `events_url`. With an
    `Idempotency-Key` (22-255 characters, e.g. a UUID), retrying the same request within 24 hours
    answers the same run again (`Idempotent-Replayed: true`) instead of starting another.
    """
    if idempotency_key is None:
        run_id = await run_in_threadpool(start_api_run, caller, body)
    else:
        run_id, replayed = await run_in_threadpool(start_once, caller, idempotency_key, body)
        response.headers["Idempotent-Replayed"] = "true" if replayed else "false"
    response.headers["Location"] = f"/api/v1/runs/{run_id}"
    return accepted(run_id)


@router.get("", response_model=RunPage, responses=error_responses(), summary="List runs")
def list_page(
    caller: Reader,
    workflow_id: Annotated[str | None, Query(max_length=64)] = None,
    status: RunStatus | None = None,
    trigger: RunTrigger | None = None,
    created_after: IsoDateTime | None = None,
    created_before: IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> RunPage:
    """The workspace's runs matching every filter given, newest first, `limit` at a time."""
    query = runs_query(
        caller.workspace_id, workflow_id=workflow_id, status=status, trigger=trigger,
        created_after=created_after, created_before=created_before, cursor=cursor,
    )  # fmt: skip
    with workspace_session() as session:
        runs = list(session.exec(query.limit(limit + 1)).all())
    page = runs[:limit]
    next_cursor = encode_cursor(page[-1]) if len(runs) > limit else None
    return RunPage(items=[run_summary(run) for run in page], next_cursor=next_cursor)


@router.get("/{run_id}", response_model=RunDetail, responses=error_responses(404), summary="Get a run")
def get_one(run_id: Id, caller: Reader) -> RunDetail:
    """The run with its input, output, error and node runs."""
    with workspace_session() as session:
        return run_detail(session, get_run(session, caller.workspace_id, run_id))


@router.post(
    "/{run_id}/cancel", status_code=202, response_model=RunSummary, responses=error_responses(403, 404, 409),
    summary="Cancel a run",
)  # fmt: skip
def cancel(run_id: Id, caller: Writer) -> RunSummary:
    """Cancel the run: a queued one ends at once, a running one stops at its current node (409 if finished)."""
    with workspace_session() as session:
        run = get_run(session, caller.workspace_id, run_id)
        if run.status in FINISHED:
            raise ApiError(409, "run_finished", f"Run {run_id!r} already finished ({run.status.value}).")
        return run_summary(cancel_run(session, get_settings(), caller.workspace_id, run_id))
