"""Who an OIDC sign-in lets in: allowed domains only, after setup, linked by (issuer, subject)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from runtime.auth.oidc_accounts import OidcRefused, email_domain_allowed, user_for_claims
from runtime.auth.passwords import hash_password
from runtime.auth.setup import complete_setup
from runtime.config import Settings
from runtime.store import Membership, Role, ensure_local_workspace

ISSUER = "https://id.example.com"
SETTINGS = Settings(oidc_allowed_domains="example.com,Corp.Example", oidc_default_role="editor")  # type: ignore[arg-type]


@pytest.fixture
def set_up(session: Session) -> Session:
    ensure_local_workspace(session)
    complete_setup(session, "owner@example.com", hash_password("a long password"), "Acme", "127.0.0.1")
    session.commit()
    return session


def test_nobody_signs_in_with_oidc_before_the_owner_is_set_up(session: Session) -> None:
    ensure_local_workspace(session)
    with pytest.raises(OidcRefused, match="not set up"):
        user_for_claims(session, SETTINGS, ISSUER, {"sub": "1", "email": "ada@example.com", "email_verified": True})


def test_a_new_user_joins_the_first_workspace_with_the_default_role_once(set_up: Session) -> None:
    claims = {"sub": "ada-1", "email": "Ada@Example.com", "email_verified": True, "name": "Ada"}
    ada = user_for_claims(set_up, SETTINGS, ISSUER, claims)
    assert (ada.email, ada.display_name) == ("ada@example.com", "Ada")
    assert set_up.exec(select(Membership.role).where(Membership.user_id == ada.id)).all() == [Role.EDITOR]
    # The same subject later, even with a new email, is the same user.
    again = user_for_claims(set_up, SETTINGS, ISSUER, {**claims, "email": "ada.l@corp.example"})
    assert again.id == ada.id


def test_domains_outside_the_list_and_unverified_emails_are_refused(set_up: Session) -> None:
    with pytest.raises(OidcRefused, match="elsewhere.example"):
        user_for_claims(set_up, SETTINGS, ISSUER, {"sub": "2", "email": "eve@elsewhere.example"})
    with pytest.raises(OidcRefused, match="verified"):
        user_for_claims(set_up, SETTINGS, ISSUER, {"sub": "3", "email": "bob@example.com", "email_verified": False})
    # An existing account is linked only when the provider vouches for the email.
    with pytest.raises(OidcRefused, match="verified"):
        user_for_claims(set_up, SETTINGS, ISSUER, {"sub": "4", "email": "owner@example.com"})
    owner = user_for_claims(
        set_up, SETTINGS, ISSUER, {"sub": "4", "email": "owner@example.com", "email_verified": True}
    )
    assert owner.password_hash is not None  # the owner's own account, now also reachable through OIDC


def test_domain_matching_is_exact() -> None:
    assert email_domain_allowed("a@corp.example", ["Corp.Example"])
    assert not email_domain_allowed("a@evilcorp.example", ["corp.example"])
    assert not email_domain_allowed("a@corp.example.evil", ["corp.example"])
