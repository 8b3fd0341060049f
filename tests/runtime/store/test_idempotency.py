"""Idempotency keys: a key is claimed once, replayed with the same request, refused with another."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from runtime.store import Run, RunTrigger, Workspace, create_workflow, latest_version
from runtime.store.idempotency import (
    ABANDONED_CLAIM,
    IDEMPOTENCY_TTL,
    ClaimState,
    IdempotencyKey,
    claim_key,
    complete_claim,
    release_claim,
)
from tests.runtime.store.conftest import make_document

KEY = "0f6a8c1e-3b7d-4f2a-9c5e-1d2b3a4c5d6e"


def stored_run(session: Session, workspace: Workspace) -> str:
    """The id of a new run of a new workflow (what a completed claim points at)."""
    workflow = create_workflow(session, workspace.id, make_document())
    version = latest_version(session, workspace.id, workflow.id)
    run = Run(
        workspace_id=workspace.id, workflow_id=workflow.id, workflow_version_id=version.id, trigger=RunTrigger.API
    )
    session.add(run)
    session.flush()
    return run.id


def test_a_key_is_new_then_in_flight_then_replayed_and_refused_for_another_request(
    session: Session, workspace: Workspace
) -> None:
    claim = claim_key(session, workspace.id, KEY, "hash-a")
    session.commit()
    assert claim.state is ClaimState.NEW

    assert claim_key(session, workspace.id, KEY, "hash-a").state is ClaimState.IN_FLIGHT
    run_id = stored_run(session, workspace)
    complete_claim(session, claim.row.id, run_id)
    session.commit()

    replay = claim_key(session, workspace.id, KEY, "hash-a")
    assert (replay.state, replay.run_id) == (ClaimState.REPLAY, run_id)
    assert claim_key(session, workspace.id, KEY, "hash-b").state is ClaimState.MISMATCH


def test_keys_are_per_workspace_and_a_released_claim_frees_the_key(
    session: Session, workspace: Workspace, other_workspace: Workspace
) -> None:
    claim = claim_key(session, workspace.id, KEY, "hash-a")
    session.commit()

    assert claim_key(session, other_workspace.id, KEY, "hash-b").state is ClaimState.NEW
    release_claim(session, claim.row.id)
    session.commit()
    assert claim_key(session, workspace.id, KEY, "hash-b").state is ClaimState.NEW


def test_a_second_claim_of_the_same_key_in_another_transaction_is_refused_by_the_database(
    session: Session, workspace: Workspace
) -> None:
    session.add(IdempotencyKey(workspace_id=workspace.id, key=KEY, request_hash="hash-a"))
    session.commit()

    session.add(IdempotencyKey(workspace_id=workspace.id, key=KEY, request_hash="hash-a"))
    with pytest.raises(sa.exc.IntegrityError):
        session.flush()
    session.rollback()


@pytest.mark.parametrize(("age", "completed"), [(IDEMPOTENCY_TTL, True), (ABANDONED_CLAIM, False)])
def test_expired_and_abandoned_keys_may_be_used_again(
    session: Session, workspace: Workspace, age: timedelta, completed: bool
) -> None:
    claim = claim_key(session, workspace.id, KEY, "hash-a")
    if completed:
        complete_claim(session, claim.row.id, stored_run(session, workspace))
    claim.row.created_at -= age + timedelta(seconds=1)
    session.add(claim.row)
    session.commit()

    assert claim_key(session, workspace.id, KEY, "hash-b").state is ClaimState.NEW
