"""The start-up check of the key ring: `trellis serve`, `worker` and `scheduler` refuse to start when
production has no keys, or when the keys cannot open what this database already holds."""

from __future__ import annotations

import sqlalchemy as sa

from runtime.config import Settings
from runtime.secrets import (
    SecretsError,
    configured_keys,
    decrypt_fields,
    encrypt_fields,
    key_fingerprint,
    key_ring,
    key_source,
)
from runtime.store import get_engine, session_scope
from runtime.store.secret_canary import get_canary, put_canary

CANARY_FIELDS = {"canary": "trellis-secret-canary"}


def check_secret_keys(settings: Settings, engine: sa.Engine | None = None) -> None:
    """Return when the key ring is configured and opens this database's canary (written on the first
    start); SecretsError with one message naming the setting otherwise."""
    ring = key_ring(settings)
    try:
        with session_scope(engine or get_engine()) as session:
            canary = get_canary(session)
            if canary is None:
                put_canary(session, encrypt_fields(CANARY_FIELDS, ring))
                return
            ciphertext = canary.ciphertext
    except sa.exc.IntegrityError:  # another process wrote it first: check theirs
        with session_scope(engine or get_engine()) as session:
            ciphertext = get_canary(session).ciphertext  # type: ignore[union-attr]
    try:
        decrypt_fields(ciphertext, ring)
    except SecretsError:
        fingerprints = ", ".join(key_fingerprint(key) for key in configured_keys(settings))
        raise SecretsError(
            f"The secret keys from {key_source(settings)} (fingerprints {fingerprints}) cannot open the secrets "
            "already stored in this database: it was encrypted with another key. Set TRELLIS_SECRET_KEYS to "
            "the key(s) this database was started with (a new key goes first, the old ones after it)."
        ) from None
