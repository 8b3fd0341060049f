"""First run: the owner account, created once, taking over the placeholder "Local" workspace.

`trellis migrate` creates the first workspace owned by a placeholder user who cannot sign in. Setup
renames that workspace, makes the new user its owner and drops the placeholder's membership, so
workflows made with the CLI stay. It is pending while no user can sign in (no password, no OIDC
identity). `trellis serve` makes a one-time token while it is pending and hands it to the web
process in `TRELLIS_SETUP_TOKEN`: setup is allowed from loopback, or from anywhere with that token.
"""

from __future__ import annotations

import os
import secrets

import sqlalchemy as sa
from sqlmodel import Session, select

from runtime.auth.signin import SignedIn, normalise_email, start_session
from runtime.store import (
    Membership,
    Role,
    User,
    Workspace,
    ensure_local_workspace,
    real_account_exists,
    record_audit,
)
from runtime.store.accounts import LOCAL_USER_EMAIL

SETUP_TOKEN_ENV = "TRELLIS_SETUP_TOKEN"
MAX_WORKSPACE_NAME_LENGTH = 200


class SetupDone(Exception):
    """Setup already happened; there is nothing to set up."""


def setup_pending(session: Session) -> bool:
    """Whether the first owner still has to be created."""
    return not real_account_exists(session)


def new_setup_token() -> str:
    """A fresh one-time setup token (256 random bits)."""
    return secrets.token_urlsafe(32)


def setup_token_matches(given: str | None) -> bool:
    """Whether `given` is the token `trellis serve` made for this run (compared in constant time)."""
    expected = os.environ.get(SETUP_TOKEN_ENV, "")
    return bool(expected and given) and secrets.compare_digest(expected.encode(), (given or "").encode())


def workspace_name_problem(name: str) -> str | None:
    """Why `name` cannot name a workspace, or None."""
    if not name.strip():
        return "The workspace needs a name."
    if len(name.strip()) > MAX_WORKSPACE_NAME_LENGTH:
        return f"The workspace name must be at most {MAX_WORKSPACE_NAME_LENGTH} characters long."
    return None


def complete_setup(session: Session, email: str, password_hash: str, workspace_name: str, address: str) -> SignedIn:
    """Create the owner, hand them the first workspace, and sign them in; `SetupDone` if it already happened.

    Flushes, no commit. Two setups racing: the workspace row is written first, so the second waits for
    the first to commit and then sees its owner.
    """
    workspace = ensure_local_workspace(session)
    session.execute(sa.update(Workspace).where(Workspace.id == workspace.id).values(name=workspace_name.strip()))  # type: ignore[arg-type]
    if not setup_pending(session):
        raise SetupDone("Trellis is already set up; sign in instead.")
    email = normalise_email(email)
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        user = User(email=email, display_name=email.split("@")[0])
    user.password_hash = password_hash
    session.add(user)
    session.flush()
    _drop_placeholder_membership(session, workspace.id)
    session.add(Membership(workspace_id=workspace.id, user_id=user.id, role=Role.OWNER))
    session.flush()
    signed_in = start_session(session, user, previous_token=None)
    assert signed_in is not None  # the membership was just added
    record_audit(session, workspace.id, user.id, "setup", ("workspace", workspace.id), email=email, address=address)
    return signed_in


def _drop_placeholder_membership(session: Session, workspace_id: str) -> None:
    placeholder = select(User.id).where(User.email == LOCAL_USER_EMAIL).scalar_subquery()
    session.execute(
        sa.delete(Membership).where(Membership.workspace_id == workspace_id, Membership.user_id == placeholder)  # type: ignore[arg-type]
    )
