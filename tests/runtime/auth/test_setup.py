"""First run: the owner takes over the placeholder workspace, once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session, select

from runtime.auth.passwords import hash_password
from runtime.auth.setup import SetupDone, complete_setup, setup_pending
from runtime.store import (
    AuditEvent,
    Membership,
    Role,
    User,
    Workspace,
    ensure_local_workspace,
    make_engine,
    member_for_token,
    session_scope,
    upgrade_database,
)
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


def test_two_setups_at_once_make_one_owner(make_pg_database) -> None:  # type: ignore[no-untyped-def]
    url = make_pg_database()
    upgrade_database(url)
    engine = make_engine(url)
    with Session(engine) as session:
        ensure_local_workspace(session)
        session.commit()
    password_hash = hash_password("a long password")
    start = threading.Barrier(2)

    def set_up(email: str) -> str:
        start.wait()
        try:
            with session_scope(engine) as session:
                complete_setup(session, email, password_hash, email, "127.0.0.1")
            return "owner"
        except SetupDone:
            return "refused"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(set_up, ["first@example.com", "second@example.com"]))
    with Session(engine) as session:
        owners = session.exec(select(Membership).where(Membership.role == Role.OWNER)).all()
    engine.dispose()
    assert outcomes == ["owner", "refused"] and len(owners) == 1
