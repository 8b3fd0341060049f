"""Accounts behind an OpenID Connect sign-in: the verified claims of an id_token, turned into a user.

A returning (issuer, subject) is the user it was linked to. A new one is linked to the user with the
same email if the provider says it is verified, or becomes a new user who joins the first workspace
with `oidc_default_role`.
Only emails in `oidc_allowed_domains` are let in, every time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from runtime.auth.setup import setup_pending
from runtime.auth.signin import SignedIn, audit_workspace_id, normalise_email, start_session, user_by_email
from runtime.config import Settings
from runtime.store import (
    Membership,
    Role,
    User,
    ensure_local_workspace,
    link_identity,
    record_audit,
    session_scope,
    user_for_identity,
)
from runtime.store.invites import accept_invites_for_email


class OidcRefused(Exception):
    """The provider vouched for someone Trellis does not let in; the message says why."""


def email_domain_allowed(email: str, allowed_domains: list[str]) -> bool:
    """Whether `email` is at one of `allowed_domains` (exact domain, case-insensitive)."""
    domain = email.rpartition("@")[2].lower()
    return domain in {allowed.strip().lower() for allowed in allowed_domains}


def user_for_claims(session: Session, settings: Settings, issuer: str, claims: Mapping[str, Any]) -> User:
    """The user these verified id_token claims sign in, created and given a workspace if new.

    Raises `OidcRefused` for a missing or unverified email, a domain not allowed, or while first-run
    setup is pending (the first owner must be created with a password). Flushes, no commit.
    """
    if setup_pending(session):
        raise OidcRefused("Trellis is not set up yet: its owner must finish setup before anyone signs in.")
    email = normalise_email(str(claims.get("email") or ""))
    if not email or claims.get("email_verified") is False:
        raise OidcRefused("The identity provider did not give a verified email address.")
    if not email_domain_allowed(email, settings.oidc_allowed_domains):
        raise OidcRefused(f"Accounts at {email.rpartition('@')[2]} may not sign in to this Trellis.")
    subject = str(claims["sub"])
    user = user_for_identity(session, issuer, subject)
    if user is not None:
        return user
    user = user_by_email(session, email)
    if user is not None and claims.get("email_verified") is not True:
        # Linking to an existing account on an email the provider does not vouch for would let anyone
        # who can register that address there take the account over.
        raise OidcRefused("An account with this email exists; the provider must confirm the email is verified.")
    if user is None:
        user = User(email=email, display_name=str(claims.get("name") or email.split("@")[0])[:200])
        session.add(user)
        session.flush()
        join_workspaces(session, settings, user)
    link_identity(session, user.id, issuer, subject)
    return user


def join_workspaces(session: Session, settings: Settings, user: User) -> list[Membership]:
    """A new user's memberships: those their pending invites grant, else the first workspace with the default role."""
    invited = accept_invites_for_email(session, user.id, user.email)
    if invited:
        return invited
    workspace = ensure_local_workspace(session)
    membership = Membership(workspace_id=workspace.id, user_id=user.id, role=Role(settings.oidc_default_role))
    session.add(membership)
    session.flush()
    return [membership]


def oidc_login(
    engine: sa.Engine, settings: Settings, issuer: str, claims: Mapping[str, Any], address: str, previous: str | None
) -> SignedIn:
    """Open a session for the user verified `claims` name, closing the browser's previous one.

    Raises `OidcRefused` (and records `login.failed`) when they may not sign in.
    """
    try:
        with session_scope(engine) as session:
            user = user_for_claims(session, settings, issuer, claims)
            signed_in = start_session(session, user, previous)
            if signed_in is None:
                raise OidcRefused("Your account belongs to no workspace; ask an admin to invite you.")
            record_audit(session, signed_in.member.workspace_id, user.id, "login", ("user", user.id),
                         method="oidc", issuer=issuer, address=address)  # fmt: skip
            return signed_in
    except OidcRefused as refused:
        with session_scope(engine) as session:
            email = str(claims.get("email") or "")
            record_audit(session, audit_workspace_id(session, None), None, "login.failed", ("user", "-"),
                         email=email, address=address, method="oidc", reason=str(refused))  # fmt: skip
        raise
