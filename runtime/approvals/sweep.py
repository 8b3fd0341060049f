"""Timing out approvals: a due one is decided `timed_out` and its run resumes through that handle."""

from __future__ import annotations

import logging
from datetime import datetime

from runtime.approvals.decide import requeue_waiting
from runtime.config import Settings
from runtime.store import get_engine, record_audit, session_scope
from runtime.store.approvals import ApprovalStatus, due_approvals, record_decision

log = logging.getLogger(__name__)

TIMEOUT_DECIDER = "timeout"


def time_out_due(settings: Settings, now: datetime) -> list[str]:
    """Decide every approval due at `now` as timed out and resume its run; returns the runs resumed.

    Safe with several schedulers: the decision is a conditional UPDATE, so one of them records it.
    """
    timed_out: list[str] = []
    with session_scope(get_engine()) as session:
        for approval in due_approvals(session, now):
            if record_decision(session, approval, ApprovalStatus.TIMED_OUT, None, TIMEOUT_DECIDER):
                record_audit(
                    session, approval.workspace_id, None, "approval.timed_out", ("run", approval.run_id),
                    node_id=approval.node_id,
                )  # fmt: skip
                timed_out.append(approval.run_id)
    resumed = [run_id for run_id in timed_out if requeue_waiting(settings, run_id)]
    if timed_out:
        log.info("timed out approvals of %d run(s); resumed %d", len(timed_out), len(resumed))
    return resumed
