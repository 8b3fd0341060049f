"""Password sign-in: a new session each time, the previous one closed, failures audited without the password."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import Session, select

from runtime.auth.login_limits import TooManyFailures, check_not_locked_out, count_failure
from runtime.auth.passwords import hash_password
from runtime.auth.setup import complete_setup
from runtime.auth.signin import log_out, password_login
from runtime.store import AuditEvent, ensure_local_workspace, make_engine, member_for_token


@pytest.fixture
def engine(db_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    with Session(engine) as session:
        ensure_local_workspace(session)
        complete_setup(session, "owner@example.com", hash_password("a long password"), "Acme", "127.0.0.1")
        session.commit()
    yield engine
    engine.dispose()


def test_login_opens_a_new_session_and_closes_the_old_one(engine) -> None:  # type: ignore[no-untyped-def]
    first = password_login(engine, "Owner@Example.com", "a long password", "10.0.0.1", None)
    assert first is not None and first.member.email == "owner@example.com"
    second = password_login(engine, "owner@example.com", "a long password", "10.0.0.1", first.token)
    assert second is not None and second.token != first.token
    with Session(engine) as session:
        assert member_for_token(session, first.token) is None
        assert member_for_token(session, second.token) == second.member
    log_out(engine, second.token, "10.0.0.1")
    with Session(engine) as session:
        assert member_for_token(session, second.token) is None
        actions = session.exec(select(AuditEvent.action).order_by(AuditEvent.created_at)).all()
    assert actions == ["setup", "login", "login", "logout"]


def test_wrong_password_and_unknown_email_fail_alike_and_are_audited(engine) -> None:  # type: ignore[no-untyped-def]
    assert password_login(engine, "owner@example.com", "not the password", "10.0.0.2", None) is None
    assert password_login(engine, "nobody@example.com", "not the password", "10.0.0.2", None) is None
    with Session(engine) as session:
        failures = session.exec(select(AuditEvent).where(AuditEvent.action == "login.failed")).all()
    assert [(f.actor_user_id, f.details["email"], f.details["address"]) for f in failures] == [
        (None, "owner@example.com", "10.0.0.2"),
        (None, "nobody@example.com", "10.0.0.2"),
    ]
    assert all("not the password" not in str(f.details) for f in failures)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_the_sixth_failure_in_15_minutes_is_refused_for_that_account_and_address(backend: str, request) -> None:  # type: ignore[no-untyped-def]
    storage = request.getfixturevalue("redis_url") if backend == "redis" else None
    email = f"{uuid.uuid4().hex}@example.com"
    for _ in range(5):
        check_not_locked_out(storage, email, "10.0.0.3")
        count_failure(storage, email, "10.0.0.3")
    with pytest.raises(TooManyFailures) as refused:
        check_not_locked_out(storage, email, "10.0.0.3")
    assert 1 <= refused.value.retry_after <= 15 * 60
    check_not_locked_out(storage, email, "10.0.0.4")  # another address is counted apart
    check_not_locked_out(storage, f"other-{email}", "10.0.0.3")  # and so is another account
