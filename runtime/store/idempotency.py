"""Idempotency keys for starting runs: the same key and request give the first run again, not a new one.

A request claims its key (a row without a run) before it starts the run and fills the run in
after, so a concurrent duplicate sees the claim and is told the first request is still in flight.
Keys are kept `IDEMPOTENCY_TTL`; a claim never completed (its process died) is abandoned after
`ABANDONED_CLAIM`. Functions flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from runtime.store.columns import ID_MAX_LENGTH, as_utc, id_field, ref_field, utcnow

IDEMPOTENCY_TTL = timedelta(hours=24)
ABANDONED_CLAIM = timedelta(minutes=5)
KEY_MAX_LENGTH = 255


# One idempotency key used in one workspace: the hash of the request it came with and the run it started.
class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_key"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "key"),)

    id: str = id_field("idem")
    workspace_id: str = ref_field("workspace.id")
    key: str = Field(max_length=KEY_MAX_LENGTH)
    request_hash: str = Field(max_length=64)
    # CASCADE: when the run goes (its workflow was deleted), the key is free again instead of looking in flight.
    run_id: str | None = Field(
        default=None, foreign_key="run.id", ondelete="CASCADE", index=True, max_length=ID_MAX_LENGTH
    )
    created_at: datetime = Field(default_factory=utcnow)


class ClaimState(StrEnum):
    """What a claim found: the key is new (go ahead), or was used before."""

    NEW = "new"
    REPLAY = "replay"
    """Used with the same request and finished: answer with `run_id` again."""
    IN_FLIGHT = "in_flight"
    """Used with the same request, which has not finished starting its run yet."""
    MISMATCH = "mismatch"
    """Used with a different request."""


@dataclass(frozen=True)
class Claim:
    """The outcome of `claim_key`: its state, the key's row, and the run it started (for a replay)."""

    state: ClaimState
    row: IdempotencyKey
    run_id: str | None = None


def _current(session: Session, workspace_id: str, key: str) -> IdempotencyKey | None:
    """The key's row, after dropping it when it has expired or was abandoned mid-request."""
    row = session.exec(
        select(IdempotencyKey).where(IdempotencyKey.workspace_id == workspace_id, IdempotencyKey.key == key)
    ).first()
    if row is None:
        return None
    age = utcnow() - as_utc(row.created_at)
    if age > IDEMPOTENCY_TTL or (row.run_id is None and age > ABANDONED_CLAIM):
        session.delete(row)
        session.flush()
        return None
    return row


def claim_key(session: Session, workspace_id: str, key: str, request_hash: str) -> Claim:
    """Claim `key` for a request with `request_hash`, or say how it was used before.

    A concurrent claim of the same key makes the flush (or commit) raise `sqlalchemy.exc.IntegrityError`:
    retry in a new transaction and this answers `IN_FLIGHT` or `REPLAY`.
    """
    row = _current(session, workspace_id, key)
    if row is None:
        row = IdempotencyKey(workspace_id=workspace_id, key=key, request_hash=request_hash)
        session.add(row)
        session.flush()
        return Claim(ClaimState.NEW, row)
    if row.request_hash != request_hash:
        return Claim(ClaimState.MISMATCH, row)
    if row.run_id is None:
        return Claim(ClaimState.IN_FLIGHT, row)
    return Claim(ClaimState.REPLAY, row, row.run_id)


def complete_claim(session: Session, claim_id: str, run_id: str) -> None:
    """Record the run the claimed request started."""
    session.execute(sa.update(IdempotencyKey).where(IdempotencyKey.id == claim_id).values(run_id=run_id))  # type: ignore[arg-type]


def release_claim(session: Session, claim_id: str) -> None:
    """Drop a claim whose request failed, so the key may be used again."""
    session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.id == claim_id))  # type: ignore[arg-type]
