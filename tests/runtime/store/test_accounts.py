"""The zero-setup local workspace and the account tables' constraints."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from runtime.store import Membership, Role, User, Workspace, ensure_local_workspace


def test_ensure_local_workspace_creates_workspace_owner_and_membership_once(session: Session) -> None:
    first = ensure_local_workspace(session)
    session.commit()
    again = ensure_local_workspace(session)
    session.commit()

    assert again.id == first.id
    assert first.id.startswith("ws_") and first.name == "Local"
    [user] = session.exec(select(User)).all()
    assert (user.email, user.password_hash) == ("local@trellis.localhost", None)
    assert user.id.startswith("usr_")
    [membership] = session.exec(select(Membership)).all()
    assert (membership.workspace_id, membership.user_id, membership.role) == (first.id, user.id, Role.OWNER)
    assert len(session.exec(select(Workspace)).all()) == 1


def test_ensure_local_workspace_returns_the_first_existing_workspace(session: Session) -> None:
    existing = Workspace(name="Team")
    session.add(existing)
    session.commit()

    assert ensure_local_workspace(session).id == existing.id
    assert session.exec(select(User)).all() == []


def test_ensure_local_workspace_reuses_the_local_user(session: Session) -> None:
    user = User(email="local@trellis.localhost", display_name="Me")
    session.add(user)
    session.commit()

    workspace = ensure_local_workspace(session)
    session.commit()

    assert session.exec(select(Membership.user_id).where(Membership.workspace_id == workspace.id)).all() == [user.id]


def test_role_is_stored_as_its_value(session: Session) -> None:
    workspace = ensure_local_workspace(session)
    session.commit()

    query = sa.text("SELECT role FROM membership WHERE workspace_id = :ws")
    assert session.connection().execute(query, {"ws": workspace.id}).scalar_one() == "owner"


def test_a_user_has_one_membership_per_workspace(session: Session) -> None:
    workspace = ensure_local_workspace(session)
    session.commit()
    user_id = session.exec(select(User.id)).one()

    session.add(Membership(workspace_id=workspace.id, user_id=user_id, role=Role.VIEWER))
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()


def test_emails_are_unique(session: Session) -> None:
    session.add(User(email="a@example.com", display_name="A"))
    session.commit()

    session.add(User(email="a@example.com", display_name="Also A"))
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()
