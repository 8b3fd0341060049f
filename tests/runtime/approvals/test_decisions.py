"""An approval pauses a stored run (no process holds it) and a decision resumes it from its checkpoint."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

import pytest

from runtime.approvals.decide import AlreadyDecided, Decider, RunEnded, decide, decide_by_token
from runtime.approvals.sweep import time_out_due
from runtime.config import get_settings
from runtime.errors import NotFound
from runtime.store import RunStatus, get_engine, session_scope, utcnow
from runtime.store.approvals import Approval
from tests.runtime.approvals.flows import (
    approval,
    audit_actions,
    event_types,
    latest,
    node_runs,
    refund_flow,
    run_row,
    start,
    wait_until_finished,
)

ADA = Decider(None, "ada@example.com")


def test_the_run_waits_after_the_request_branch_ran_and_approve_continues_through_approved(configured: str) -> None:
    _, run_id, status = start(configured, refund_flow(), {"amount": 40})

    assert status is RunStatus.WAITING and run_row(run_id).status is RunStatus.WAITING
    before = latest(run_id)
    assert before["ask"].status == "waiting"
    request = before["ask"].output
    assert request["message"] == "Refund 40 EUR?"
    assert request["approve_url"].startswith(get_settings().resolved_public_url + "/approvals/")
    assert (
        before["notify"].status == "succeeded" and before["notify"].output == f"Please decide: {request['approve_url']}"
    )
    assert "pay" not in before and "refuse" not in before
    assert approval(run_id).status == "pending"
    assert "run_waiting" in event_types(run_id) and "run_finished" not in event_types(run_id)

    decide(get_settings(), configured, run_id, "ask", "approve", "fine by me", ADA)

    run = wait_until_finished(run_id)
    assert run.status is RunStatus.SUCCEEDED
    after = latest(run_id)
    decision = after["ask"].output
    assert after["ask"].status == "succeeded"
    assert (decision["decision"], decision["comment"], decision["decided_by"]) == ("approved", "fine by me", ADA.label)
    assert decision["decided_at"]
    assert after["pay"].output == {"paid": 40, "by": "ada@example.com"}
    assert after["refuse"].status == "skipped"
    assert [row.node_id for row in node_runs(run_id)].count("notify") == 1  # finished nodes did not run again
    assert "approval.approved" in audit_actions(run_id)


def test_reject_continues_through_rejected_and_a_second_decision_is_refused(configured: str) -> None:
    _, run_id, _ = start(configured, refund_flow(), {"amount": 5})
    decide(get_settings(), configured, run_id, "ask", "reject", None, ADA)
    assert wait_until_finished(run_id).status is RunStatus.SUCCEEDED
    with pytest.raises(AlreadyDecided, match="already rejected by ada@example.com"):
        decide(get_settings(), configured, run_id, "ask", "approve", None, Decider(None, "bob@example.com"))
    after = latest(run_id)
    assert after["ask"].output["decision"] == "rejected"
    assert after["refuse"].output == {"refused": "yes"} and after["pay"].status == "skipped"


def test_the_signed_link_decides_once_and_an_unknown_or_expired_link_does_nothing(configured: str) -> None:
    _, run_id, _ = start(configured, refund_flow(), {"amount": 7})
    token = urlparse(latest(run_id)["ask"].output["approve_url"]).path.rsplit("/", 1)[1]
    with pytest.raises(NotFound):
        decide_by_token(get_settings(), token[:-1] + ("A" if token[-1] != "A" else "B"), "approve", None, ADA)
    assert approval(run_id).status == "pending"
    decide_by_token(get_settings(), token, "approve", "via chat", Decider(None, "link"))
    assert wait_until_finished(run_id).status is RunStatus.SUCCEEDED
    assert approval(run_id).decided_by == "link"

    _, second, _ = start(configured, refund_flow(), {"amount": 8})
    second_token = urlparse(latest(second)["ask"].output["reject_url"]).path.rsplit("/", 1)[1]
    with session_scope(get_engine()) as session:
        row = session.get(Approval, approval(second).id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(NotFound, match="expired"):
        decide_by_token(get_settings(), second_token, "reject", None, ADA)


def test_an_undecided_approval_times_out_through_its_timed_out_handle(configured: str) -> None:
    _, run_id, status = start(configured, refund_flow(timeout_s=60), {"amount": 9})
    assert status is RunStatus.WAITING
    assert time_out_due(get_settings(), utcnow()) == []  # not due yet
    assert time_out_due(get_settings(), utcnow() + timedelta(seconds=61)) == [run_id]
    assert wait_until_finished(run_id).status is RunStatus.SUCCEEDED
    after = latest(run_id)
    assert after["ask"].output["decision"] == "timed_out" and after["ask"].output["decided_by"] == "timeout"
    assert after["late"].output == {"late": "yes"}
    assert after["pay"].status == "skipped" and after["refuse"].status == "skipped"
    assert "approval.timed_out" in audit_actions(run_id)
    with pytest.raises(AlreadyDecided):
        decide(get_settings(), configured, run_id, "ask", "approve", None, ADA)


def test_a_decision_names_a_real_approval_of_the_callers_workspace(configured: str) -> None:
    from runtime.store import Workspace

    _, run_id, _ = start(configured, refund_flow(), {"amount": 1})
    with session_scope(get_engine()) as session:
        other = Workspace(name="Other")
        session.add(other)
    for workspace_id, node_id in ((other.id, "ask"), (configured, "pay")):
        with pytest.raises(NotFound):
            decide(get_settings(), workspace_id, run_id, node_id, "approve", None, ADA)
    with pytest.raises(ValueError, match="decision must be one of"):
        decide(get_settings(), configured, run_id, "ask", "maybe", None, ADA)
    assert run_row(run_id).status is RunStatus.WAITING and approval(run_id).status == "pending"


def test_a_waiting_run_is_cancelled_at_once_and_its_approval_can_no_longer_be_decided(configured: str) -> None:
    from runtime.executor.dispatch import cancel_run

    _, run_id, _ = start(configured, refund_flow(), {"amount": 4})
    with session_scope(get_engine()) as session:
        cancel_run(session, get_settings(), configured, run_id)
    run = run_row(run_id)
    assert run.status is RunStatus.CANCELLED and "waited for an approval" in run.error["message"]
    assert latest(run_id)["ask"].status == "cancelled"
    with pytest.raises(RunEnded, match="can no longer be decided"):
        decide(get_settings(), configured, run_id, "ask", "approve", None, ADA)
    assert run_row(run_id).status is RunStatus.CANCELLED and approval(run_id).status == "pending"
