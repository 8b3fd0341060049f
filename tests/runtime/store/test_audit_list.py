"""Listing the audit trail: newest first, filtered by action, actor and dates, paged, one workspace only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from runtime.store import User, Workspace, record_audit
from runtime.store.audit import AuditFilter, audit_choices, list_audit


def test_filters_paging_and_workspace_scope(session: Session) -> None:
    ours, theirs = Workspace(name="Ours"), Workspace(name="Theirs")
    alice, bob = User(email="alice@example.com", display_name="a"), User(email="bob@example.com", display_name="b")
    session.add_all([ours, theirs, alice, bob])
    session.flush()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for day, (actor, action) in enumerate([(alice, "workflow.deleted"), (bob, "workflow.exported"),
                                           (alice, "workflow.exported"), (None, "invite.accepted")]):  # fmt: skip
        event = record_audit(session, ours.id, actor.id if actor else None, action, ("workflow", f"wf_{day}"))
        event.created_at = start + timedelta(days=day)
        session.add(event)
    record_audit(session, theirs.id, bob.id, "workflow.deleted", ("workflow", "wf_theirs"))
    session.flush()

    everything = list_audit(session, ours.id, AuditFilter())
    assert [e.target_id for e, _ in everything] == ["wf_3", "wf_2", "wf_1", "wf_0"]
    assert [email for _, email in everything] == [None, "alice@example.com", "bob@example.com", "alice@example.com"]
    exports = list_audit(session, ours.id, AuditFilter(action="workflow.exported", actor_user_id=alice.id))
    assert [e.target_id for e, _ in exports] == ["wf_2"]
    middle = AuditFilter(since=start + timedelta(days=1), until=start + timedelta(days=3))
    assert [e.target_id for e, _ in list_audit(session, ours.id, middle)] == ["wf_2", "wf_1"]
    assert [e.target_id for e, _ in list_audit(session, ours.id, AuditFilter(), offset=1, limit=2)] == ["wf_2", "wf_1"]

    actions, actors = audit_choices(session, ours.id)
    assert actions == ["invite.accepted", "workflow.deleted", "workflow.exported"]
    assert [email for _, email in actors] == ["alice@example.com", "bob@example.com"]
