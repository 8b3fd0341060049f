"""The secret canary: one row holding a known value encrypted under the key ring the database was first
started with, so a process started with the wrong keys stops at once with a clear message instead of
failing run after run on credentials it cannot open."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from runtime.store.columns import utcnow

CANARY_ROW_ID = 1


# One row: a Fernet token of a fixed text, re-encrypted by `trellis secrets rotate` like every secret.
class SecretCanary(SQLModel, table=True):
    __tablename__ = "secret_canary"

    id: int = Field(default=CANARY_ROW_ID, primary_key=True)
    ciphertext: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow)


def get_canary(session: Session) -> SecretCanary | None:
    """The canary row, or None before the first start with keys."""
    return session.get(SecretCanary, CANARY_ROW_ID)


def put_canary(session: Session, ciphertext: str) -> SecretCanary:
    """Store the canary ciphertext (creating the row on first use); flushes."""
    canary = get_canary(session) or SecretCanary()
    canary.ciphertext = ciphertext
    session.add(canary)
    session.flush()
    return canary
