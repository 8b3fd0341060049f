"""Test accounts: users with a role in a workspace, and a signed-in session cookie for each."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import select

from builder.identity import SESSION_COOKIE
from runtime.store import Member, Membership, Role, User, Workspace, open_login_session, session_scope


@dataclass(frozen=True)
class SignedIn:
    """A member and the session token that signs them in (the value of the `trellis_session` cookie)."""

    member: Member
    token: str

    def cookie(self, url: str) -> dict[str, str]:
        """The cookie as Playwright's `context.add_cookies` takes it, for the app at `url`."""
        return {"name": SESSION_COOKIE, "value": self.token, "url": url}


def signed_in_member(engine: Engine, email: str, role: Role, workspace_id: str | None = None) -> SignedIn:
    """A user `email` (created if new) with `role` in `workspace_id` (a new workspace when None), signed in."""
    with session_scope(engine) as session:
        if workspace_id is None:
            workspace = Workspace(name=f"Workspace of {email}")
            session.add(workspace)
            session.flush()
            workspace_id = workspace.id
        user = session.exec(select(User).where(User.email == email)).first()
        if user is None:
            user = User(email=email, display_name=email.split("@")[0])
            session.add(user)
            session.flush()
        session.add(Membership(workspace_id=workspace_id, user_id=user.id, role=role))
        session.flush()
        token = open_login_session(session, user.id, workspace_id)
        member = Member(user_id=user.id, email=email, workspace_id=workspace_id, role=role)
    return SignedIn(member, token)
