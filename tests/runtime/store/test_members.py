"""Members and invitations: the owner rules, hashed invite tokens, expiry, and the audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from runtime.auth.passwords import hash_password, verify_password
from runtime.errors import NotFound
from runtime.store import AuditEvent, Invite, Member, Membership, Role, User, Workspace, open_login_session
from runtime.store.invites import (
    accept_invite,
    accept_invites_for_email,
    create_invite,
    open_invite,
    register_through_invite,
)
from runtime.store.login_sessions import LoginSession
from runtime.store.members import MembershipRefused, change_role, list_members, remove_member


def member(session: Session, workspace: Workspace, email: str, role: Role) -> tuple[Member, Membership]:
    user = User(email=email, display_name=email.split("@")[0])
    session.add(user)
    session.flush()
    membership = Membership(workspace_id=workspace.id, user_id=user.id, role=role)
    session.add(membership)
    session.flush()
    return Member(user.id, email, workspace.id, role), membership


@pytest.fixture
def team(session: Session) -> Workspace:
    workspace = Workspace(name="Team")
    session.add(workspace)
    session.flush()
    return workspace


def actions(session: Session) -> list[str]:
    return [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.created_at)).all()]


def test_last_owner_cannot_be_demoted_or_removed(session: Session, team: Workspace) -> None:
    owner, owner_row = member(session, team, "owner@example.com", Role.OWNER)
    with pytest.raises(MembershipRefused, match="last owner"):
        change_role(session, owner, owner_row.id, Role.ADMIN)
    with pytest.raises(MembershipRefused, match="last owner"):
        remove_member(session, owner, owner_row.id)

    _, second_row = member(session, team, "second@example.com", Role.EDITOR)
    change_role(session, owner, second_row.id, Role.OWNER)
    change_role(session, owner, owner_row.id, Role.VIEWER)  # now there is another owner
    assert {m.email: m.role for m in list_members(session, team.id)} == {
        "owner@example.com": Role.VIEWER, "second@example.com": Role.OWNER,
    }  # fmt: skip
    assert actions(session) == ["member.role_changed", "member.role_changed"]


def test_an_admin_cannot_touch_owners_or_grant_owner(session: Session, team: Workspace) -> None:
    _, owner_row = member(session, team, "owner@example.com", Role.OWNER)
    member(session, team, "owner2@example.com", Role.OWNER)
    admin, _ = member(session, team, "admin@example.com", Role.ADMIN)
    _, editor_row = member(session, team, "editor@example.com", Role.EDITOR)

    with pytest.raises(MembershipRefused, match="Only an owner"):
        change_role(session, admin, owner_row.id, Role.VIEWER)
    with pytest.raises(MembershipRefused, match="Only an owner"):
        remove_member(session, admin, owner_row.id)
    with pytest.raises(MembershipRefused, match="Only an owner"):
        change_role(session, admin, editor_row.id, Role.OWNER)
    with pytest.raises(MembershipRefused, match="Only an owner"):
        create_invite(session, admin, "new@example.com", Role.OWNER)
    change_role(session, admin, editor_row.id, Role.VIEWER)
    assert session.get(Membership, editor_row.id).role is Role.VIEWER  # type: ignore[union-attr]


def test_removing_a_member_ends_their_sessions_in_that_workspace_only(session: Session, team: Workspace) -> None:
    owner, _ = member(session, team, "owner@example.com", Role.OWNER)
    gone, gone_row = member(session, team, "gone@example.com", Role.EDITOR)
    other = Workspace(name="Other")
    session.add(other)
    session.flush()
    session.add(Membership(workspace_id=other.id, user_id=gone.user_id, role=Role.OWNER))
    open_login_session(session, gone.user_id, team.id)
    open_login_session(session, gone.user_id, other.id)

    remove_member(session, owner, gone_row.id)

    left = session.exec(select(LoginSession).where(LoginSession.user_id == gone.user_id)).all()
    assert [s.workspace_id for s in left] == [other.id]
    assert [m.email for m in list_members(session, team.id)] == ["owner@example.com"]
    with pytest.raises(NotFound):
        remove_member(session, owner, gone_row.id)


def test_another_workspaces_member_is_not_found(session: Session, team: Workspace) -> None:
    owner, _ = member(session, team, "owner@example.com", Role.OWNER)
    other = Workspace(name="Other")
    session.add(other)
    session.flush()
    _, stranger_row = member(session, other, "stranger@example.com", Role.VIEWER)
    with pytest.raises(NotFound):
        change_role(session, owner, stranger_row.id, Role.ADMIN)


def test_invite_token_is_stored_hashed_and_registration_joins_with_the_role(session: Session, team: Workspace) -> None:
    owner, _ = member(session, team, "owner@example.com", Role.OWNER)
    token = create_invite(session, owner, "  New@Example.com ", Role.EDITOR)

    [invite] = session.exec(select(Invite)).all()
    assert token not in invite.token_hash and len(invite.token_hash) == 64
    assert invite.email == "new@example.com"
    assert open_invite(session, token).workspace_name == "Team"

    membership = register_through_invite(session, token, "New Person", hash_password("correct horse battery"))
    user = session.get(User, membership.user_id)
    assert user is not None and verify_password(user.password_hash, "correct horse battery").matches
    assert not verify_password(user.password_hash, "wrong").matches
    assert (membership.workspace_id, membership.role) == (team.id, Role.EDITOR)
    with pytest.raises(NotFound, match="already used"):
        open_invite(session, token)
    assert actions(session) == ["invite.created", "invite.accepted"]


def test_expired_or_other_email_invites_are_refused(session: Session, team: Workspace) -> None:
    owner, _ = member(session, team, "owner@example.com", Role.OWNER)
    token = create_invite(session, owner, "late@example.com", Role.VIEWER)
    invite = session.exec(select(Invite)).one()
    invite.expires_at = invite.expires_at - timedelta(days=8)
    session.add(invite)
    session.flush()
    with pytest.raises(NotFound, match="expired"):
        open_invite(session, token)

    token = create_invite(session, owner, "someone@example.com", Role.VIEWER)
    intruder = User(email="intruder@example.com", display_name="x")
    session.add(intruder)
    session.flush()
    with pytest.raises(NotFound, match="another email"):
        accept_invite(session, token, intruder)
    with pytest.raises(ValueError, match="not an email"):
        create_invite(session, owner, "not-an-address", Role.VIEWER)


def test_signing_in_accepts_every_live_invite_of_the_email(session: Session, team: Workspace) -> None:
    owner, _ = member(session, team, "owner@example.com", Role.OWNER)
    create_invite(session, owner, "oidc@example.com", Role.ADMIN)
    user = User(email="oidc@example.com", display_name="OIDC")
    session.add(user)
    session.flush()

    [joined] = accept_invites_for_email(session, user.id, "OIDC@example.com")
    assert (joined.workspace_id, joined.role) == (team.id, Role.ADMIN)
    assert accept_invites_for_email(session, user.id, "oidc@example.com") == []
