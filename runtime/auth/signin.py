"""Opening a login session for a user: by password, or after another check (setup, OIDC) vouched for them."""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from runtime.auth.passwords import verify_password
from runtime.store import (
    Member,
    Membership,
    User,
    close_login_session,
    ensure_local_workspace,
    member_for_token,
    open_login_session,
    record_audit,
    session_scope,
)

EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_EMAIL_LENGTH = 320


@dataclass(frozen=True)
class SignedIn:
    """A new login session: the token for the cookie, and who it signs in."""

    token: str
    member: Member


def normalise_email(email: str) -> str:
    """The form emails are stored and compared in: trimmed, lower case."""
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    """Why `email` is not a usable address, or None."""
    if len(email) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.fullmatch(email):
        return f"'{email[:80]}' is not an email address."
    return None


def user_by_email(session: Session, email: str) -> User | None:
    """The user with this (normalised) email, or None."""
    return session.exec(select(User).where(User.email == normalise_email(email))).first()


def first_membership(session: Session, user_id: str) -> Membership | None:
    """The workspace membership a new session of this user acts in: the oldest one."""
    query = select(Membership).where(Membership.user_id == user_id)
    return session.exec(query.order_by(Membership.created_at, Membership.id).limit(1)).first()  # type: ignore[arg-type]


def start_session(session: Session, user: User, previous_token: str | None) -> SignedIn | None:
    """A new login session for `user` in their first workspace, closing the browser's previous one;
    None when the user belongs to no workspace."""
    if previous_token:
        close_login_session(session, previous_token)
    membership = first_membership(session, user.id)
    if membership is None:
        return None
    token = open_login_session(session, user.id, membership.workspace_id)
    return SignedIn(token, Member(user.id, user.email, membership.workspace_id, membership.role))


def audit_workspace_id(session: Session, user_id: str | None) -> str:
    """Where a sign-in event is recorded: the user's first workspace, else the first workspace."""
    membership = first_membership(session, user_id) if user_id else None
    return membership.workspace_id if membership else ensure_local_workspace(session).id


def password_login(
    engine: sa.Engine, email: str, password: str, address: str, previous_token: str | None
) -> SignedIn | None:
    """Check the password and open a session, or record the failure and return None.

    The same work is done for an unknown email as for a wrong password. Blocks on the hash
    (~150 ms); run it off the event loop.
    """
    email = normalise_email(email)
    with session_scope(engine) as session:
        user = user_by_email(session, email)
        user_id, stored_hash = (user.id, user.password_hash) if user else (None, None)
    verdict = verify_password(stored_hash, password)
    with session_scope(engine) as session:
        signed_in = None
        if verdict.matches and user_id is not None:
            user = session.get_one(User, user_id)
            if verdict.upgraded_hash:
                user.password_hash = verdict.upgraded_hash
                session.add(user)
            signed_in = start_session(session, user, previous_token)
        if signed_in is None:
            workspace_id = audit_workspace_id(session, user_id)
            record_audit(session, workspace_id, None, "login.failed", ("user", user_id or "-"),
                         email=email, address=address)  # fmt: skip
            return None
        record_audit(session, signed_in.member.workspace_id, user_id, "login", ("user", signed_in.member.user_id),
                     method="password", address=address)  # fmt: skip
        return signed_in


def log_out(engine: sa.Engine, token: str, address: str) -> None:
    """End the session `token` opened and record it; an unknown token is ignored."""
    with session_scope(engine) as session:
        member = member_for_token(session, token)
        close_login_session(session, token)
        if member is not None:
            record_audit(session, member.workspace_id, member.user_id, "logout", ("user", member.user_id),
                         address=address)  # fmt: skip
