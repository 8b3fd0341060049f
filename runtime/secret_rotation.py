"""`trellis secrets rotate`: re-encrypt every stored Fernet ciphertext under the primary key.

Batched (one commit per batch), so a large database is never locked for long; idempotent and
resumable, because a value the primary key already opens is skipped. After it, keys other than the
primary one can be removed from TRELLIS_SECRET_KEYS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import select

from runtime.config import Settings
from runtime.secrets import configured_keys, key_fingerprint, key_ring, primary_key, reencrypted
from runtime.store import Approval, Credential, SecretCanary, Webhook, Workspace, record_audit, session_scope

DEFAULT_BATCH_SIZE = 200
ENCRYPTED_COLUMNS: tuple[tuple[str, sa.Table, str], ...] = (
    ("credentials", Credential.__table__, "ciphertext"),  # type: ignore[attr-defined]
    ("webhook tokens", Webhook.__table__, "token_ciphertext"),  # type: ignore[attr-defined]
    ("secret canary", SecretCanary.__table__, "ciphertext"),  # type: ignore[attr-defined]
    ("approval links", Approval.__table__, "token_ciphertext"),  # type: ignore[attr-defined]
)
"""Every column holding a Fernet token: (what it is, its table, the column)."""


@dataclass
class RotationReport:
    """How many values were re-encrypted and how many already were under the primary key, per kind."""

    rotated: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


def rotate_secrets(
    engine: sa.Engine, settings: Settings, *, batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[str], None] = lambda _line: None,
) -> RotationReport:  # fmt: skip
    """Re-encrypt every secret under the primary key, committing per batch; records one audit event per
    workspace. SecretsError when a value opens with none of the keys (nothing after it is touched)."""
    ring, primary = key_ring(settings), primary_key(settings)
    report = RotationReport()
    for kind, table, column in ENCRYPTED_COLUMNS:
        rotated = skipped = 0
        last_id: object = None
        while True:
            with session_scope(engine) as session:
                query = sa.select(table.c.id, table.c[column]).order_by(table.c.id).limit(batch_size)
                if last_id is not None:
                    query = query.where(table.c.id > last_id)
                rows = session.connection().execute(query).all()
                changes = [{"row_id": row_id, "fresh": fresh} for row_id, ciphertext in rows
                           if (fresh := reencrypted(ciphertext, ring, primary)) is not None]  # fmt: skip
                if changes:  # one executemany per batch
                    update = table.update().where(table.c.id == sa.bindparam("row_id"))
                    session.connection().execute(update.values({column: sa.bindparam("fresh")}), changes)
            if not rows:
                break
            rotated, skipped = rotated + len(changes), skipped + len(rows) - len(changes)
            last_id = rows[-1][0]
            progress(f"{kind}: {rotated} re-encrypted, {skipped} already under the primary key")
        report.rotated[kind], report.skipped[kind] = rotated, skipped
    _audit(engine, settings, report)
    return report


def _audit(engine: sa.Engine, settings: Settings, report: RotationReport) -> None:
    primary = key_fingerprint(configured_keys(settings)[0])
    with session_scope(engine) as session:
        for workspace_id in session.exec(select(Workspace.id)).all():
            record_audit(
                session, workspace_id, None, "secrets.rotated", ("key_ring", primary),
                rotated=report.rotated, skipped=report.skipped,
            )  # fmt: skip
