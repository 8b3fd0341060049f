"""Login sessions: a token signs its member in until it idles out, expires, is closed or loses its membership."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from runtime.store import LoginSession, Membership, Role, close_login_session, member_for_token
from tests.accounts import signed_in_member


def _age(session: Session, **delta: float) -> None:
    row = session.exec(select(LoginSession)).one()
    row.last_seen_at -= timedelta(**delta)
    row.expires_at -= timedelta(**delta)
    session.add(row)
    session.flush()


def test_a_token_signs_in_its_member_and_only_its_hash_is_stored(session: Session) -> None:
    signed = signed_in_member(session.get_bind(), "ana@example.com", Role.EDITOR)
    assert member_for_token(session, signed.token) == signed.member
    assert member_for_token(session, signed.token + "x") is None
    stored = session.exec(select(LoginSession)).one()
    assert signed.token not in stored.token_hash


def test_an_idle_session_ends(session: Session) -> None:
    signed = signed_in_member(session.get_bind(), "ana@example.com", Role.EDITOR)
    _age(session, hours=23)
    assert member_for_token(session, signed.token) == signed.member
    _age(session, hours=25)
    assert member_for_token(session, signed.token) is None
    assert session.exec(select(LoginSession)).first() is None


def test_a_session_ends_after_its_absolute_limit_even_when_busy(session: Session) -> None:
    signed = signed_in_member(session.get_bind(), "ana@example.com", Role.EDITOR)
    row = session.exec(select(LoginSession)).one()
    row.expires_at -= timedelta(days=7)
    session.add(row)
    session.flush()
    assert member_for_token(session, signed.token) is None


def test_logout_and_removal_from_the_workspace_end_the_session(session: Session) -> None:
    first = signed_in_member(session.get_bind(), "ana@example.com", Role.EDITOR)
    second = signed_in_member(session.get_bind(), "bo@example.com", Role.VIEWER, first.member.workspace_id)
    close_login_session(session, first.token)
    assert member_for_token(session, first.token) is None
    membership = session.exec(select(Membership).where(Membership.user_id == second.member.user_id)).one()
    session.delete(membership)
    session.flush()
    assert member_for_token(session, second.token) is None
