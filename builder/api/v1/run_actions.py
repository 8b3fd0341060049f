"""`/api/v1/runs/{id}/...`: decide an approval, list a run's approvals, resume a failed run, replay a run."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from builder.api.errors import ApiError
from builder.api.v1.auth import Caller, Reader, Writer
from builder.api.v1.db import workspace_session
from builder.api.v1.models import ApprovalOut, DecisionIn, Id, ReplayIn, RunAccepted, error_responses
from builder.api.v1.runs import accepted, get_run
from runtime.approvals.decide import AlreadyDecided, Decider, RunEnded, decide
from runtime.config import get_settings
from runtime.executor.replays import NotReplayable
from runtime.executor.reruns import NotResumable, resume_run, start_replay
from runtime.store.approvals import Approval, run_approvals

router = APIRouter(prefix="/runs", tags=["runs"])


def approval_out(approval: Approval) -> ApprovalOut:
    """The API form of an approval."""
    return ApprovalOut.model_validate(approval, from_attributes=True)


def api_decider(caller: Caller) -> Decider:
    """Who decided through the API: the key's creator, and the key named by its id (never its secret)."""
    return Decider(caller.user_id, f"api key {caller.key_id}")


@router.get(
    "/{run_id}/approvals", response_model=list[ApprovalOut], responses=error_responses(404),
    summary="List a run's approvals",
)  # fmt: skip
def list_approvals(run_id: Id, caller: Reader) -> list[ApprovalOut]:
    """Every approval node the run reached, oldest first; `pending` ones wait for a decision."""
    with workspace_session() as session:
        run = get_run(session, caller.workspace_id, run_id)
        return [approval_out(approval) for approval in run_approvals(session, caller.workspace_id, run.id)]


@router.post(
    "/{run_id}/approvals/{node_id}", response_model=ApprovalOut, responses=error_responses(403, 404, 409),
    summary="Approve or reject",
)  # fmt: skip
async def decide_approval(run_id: Id, node_id: Id, body: DecisionIn, caller: Writer) -> ApprovalOut:
    """Decide the run's pending approval at `node_id`; the run resumes from its checkpoint through the
    `approved` or `rejected` output. A second decision is refused with 409: the first one stands."""
    settings = get_settings()
    try:
        approval = await run_in_threadpool(
            decide, settings, caller.workspace_id, run_id, node_id, body.decision, body.comment, api_decider(caller)
        )
    except AlreadyDecided as error:
        taken = error.approval
        raise ApiError(
            409, "already_decided", str(error), decision=taken.status.value, decided_by=taken.decided_by
        ) from None
    except RunEnded as error:
        raise ApiError(409, "run_finished", str(error)) from None
    return approval_out(approval)


@router.post(
    "/{run_id}/resume", status_code=202, response_model=RunAccepted, responses=error_responses(403, 404, 409),
    summary="Resume a failed run",
)  # fmt: skip
async def resume(run_id: Id, caller: Writer) -> RunAccepted:
    """Queue the failed run again: it continues from its checkpoint, re-running the failed node (after a
    credential was fixed, say); nodes that finished are not run again. 409 unless the run failed."""
    try:
        await run_in_threadpool(resume_run, get_settings(), caller.workspace_id, run_id)
    except NotResumable as error:
        raise ApiError(409, "not_resumable", str(error)) from None
    return accepted(run_id)


@router.post(
    "/{run_id}/replay", status_code=202, response_model=RunAccepted, responses=error_responses(403, 404, 409),
    summary="Replay a run from a node",
)  # fmt: skip
async def replay(run_id: Id, body: ReplayIn, caller: Writer, response: Response) -> RunAccepted:
    """Start a new run (`replay_of` = this run) of the same version where the nodes before `from_node`
    are not executed (their original outputs are used) and `from_node` runs on `input`."""
    try:
        new_run = await run_in_threadpool(
            start_replay, get_settings(), caller.workspace_id, run_id, body.from_node, body.input
        )
    except NotReplayable as error:
        raise ApiError(409, "not_replayable", str(error)) from None
    except ValueError as error:
        raise ApiError(422, "invalid_value", str(error), field="from_node", value=body.from_node) from None
    response.headers["Location"] = f"/api/v1/runs/{new_run.id}"
    return accepted(new_run.id)
