"""Sign-in identities from an OpenID Connect issuer, and whether anyone can sign in at all yet."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from runtime.store.accounts import User
from runtime.store.columns import id_field, ref_field, utcnow


# One (issuer, subject) pair an OIDC provider vouches for, tied to the user it signs in.
class UserIdentity(SQLModel, table=True):
    __tablename__ = "user_identity"
    __table_args__ = (sa.UniqueConstraint("issuer", "subject"),)

    id: str = id_field("idn")
    user_id: str = ref_field("user.id")
    issuer: str = Field(max_length=500)
    subject: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow)


def user_for_identity(session: Session, issuer: str, subject: str) -> User | None:
    """The user this issuer's subject signed in before, or None."""
    query = select(User).join(UserIdentity, UserIdentity.user_id == User.id)
    return session.exec(query.where(UserIdentity.issuer == issuer, UserIdentity.subject == subject)).first()


def link_identity(session: Session, user_id: str, issuer: str, subject: str) -> UserIdentity:
    """Remember that `issuer`'s `subject` is `user_id`; flushes, no commit."""
    identity = UserIdentity(user_id=user_id, issuer=issuer, subject=subject)
    session.add(identity)
    session.flush()
    return identity


def real_account_exists(session: Session) -> bool:
    """Whether any user can sign in: one with a password or an OIDC identity (first-run setup is done)."""
    with_password = select(User.id).where(User.password_hash.is_not(None)).limit(1)  # type: ignore[union-attr]
    if session.exec(with_password).first() is not None:
        return True
    return session.exec(select(UserIdentity.id).limit(1)).first() is not None
