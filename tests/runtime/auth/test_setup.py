"""First run: the owner takes over the placeholder workspace, once."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from runtime.auth.passwords import hash_password
from runtime.auth.setup import SetupDone, complete_setup, setup_pending
from runtime.store import AuditEvent, Membership, Role, User, Workspace, ensure_local_workspace, member_for_token
from runtime.store.accounts import LOCAL_USER_EMAIL
from runtime.workflows import create_blank_workflow


def test_setup_takes_over_the_first_workspace_with_its_workflows(session: Session) -> None:
    workspace = ensure_local_workspace(session)
    workflow = create_blank_workflow(session, workspace.id, "Made with the CLI")
    session.commit()
    assert setup_pending(session)

    signed_in = complete_setup(session, " Owner@Example.com ", hash_password("a long password"), "Acme", "127.0.0.1")
    session.commit()

    assert not setup_pending(session)
    assert signed_in.member.email == "owner@example.com" and signed_in.member.role is Role.OWNER
    assert signed_in.member.workspace_id == workspace.id == workflow.workspace_id
    assert session.get(Workspace, workspace.id).name == "Acme"  # type: ignore[union-attr]
    members = session.exec(select(User.email, Membership.role).join(Membership)).all()
    assert members == [("owner@example.com", Role.OWNER)]  # the placeholder's membership is gone
    assert member_for_token(session, signed_in.token) == signed_in.member
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "setup")).one()
    assert audit.actor_user_id == signed_in.member.user_id and "password" not in str(audit.details)


def test_setup_happens_only_once(session: Session) -> None:
    ensure_local_workspace(session)
    complete_setup(session, "owner@example.com", hash_password("a long password"), "Acme", "127.0.0.1")
    session.commit()
    with pytest.raises(SetupDone):
        complete_setup(session, "intruder@example.com", hash_password("another password"), "Mine", "10.0.0.9")
    session.rollback()
    assert session.exec(select(User).where(User.email == "intruder@example.com")).first() is None
    assert session.exec(select(User).where(User.email == LOCAL_USER_EMAIL)).one().password_hash is None
