"""Encryption of secrets at rest: a Fernet key ring from `TRELLIS_SECRET_KEYS`, `TRELLIS_SECRET_KEYS_FILE`,
or (zero-setup SQLite only) a generated local key file. The first key encrypts; every key decrypts."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from runtime.config import Settings, get_settings
from runtime.errors import WorkflowError

KEY_FILE_NAME = "secret.key"
log = logging.getLogger(__name__)


class SecretsError(WorkflowError):
    """A secret cannot be encrypted or decrypted, or the keys are missing; the message says what to fix."""


def local_key_file(settings: Settings) -> Path:
    """The zero-setup key file, created with mode 0600 (and a warning) on first use."""
    path = settings.data_dir / KEY_FILE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as key_file:
            key_file.write(Fernet.generate_key())
        log.warning(
            "Generated the secret key file %s: back it up, losing it loses every stored credential. "
            "Set TRELLIS_SECRET_KEYS for production.", path.resolve(),
        )  # fmt: skip
    return path


def key_source(settings: Settings) -> str:
    """The setting the keys come from, as messages name it."""
    if settings.secret_keys:
        return "TRELLIS_SECRET_KEYS"
    if settings.secret_keys_file:
        return f"TRELLIS_SECRET_KEYS_FILE ({settings.secret_keys_file})"
    return f"the local key file {settings.data_dir / KEY_FILE_NAME} (TRELLIS_SECRET_KEYS is unset)"


def _raw_keys(settings: Settings) -> str:
    if settings.secret_keys:
        return settings.secret_keys
    if settings.secret_keys_file:
        try:
            return settings.secret_keys_file.read_text()
        except OSError as error:
            raise SecretsError(f"TRELLIS_SECRET_KEYS_FILE cannot be read: {error}") from None
    if settings.is_production:
        raise SecretsError(
            "TRELLIS_SECRET_KEYS (or TRELLIS_SECRET_KEYS_FILE) must be set in production (a PostgreSQL database "
            "or TRELLIS_ENV=production): credentials are encrypted with it. Create a key with "
            '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.'
        )
    return local_key_file(settings).read_text()


def configured_keys(settings: Settings) -> list[str]:
    """The key ring's keys, primary first; SecretsError when production has none configured."""
    keys = [key.strip() for key in _raw_keys(settings).split(",") if key.strip()]
    if not keys:
        raise SecretsError(f"{key_source(settings)} holds no key.")
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            message = f"{key_source(settings)} holds a value that is not a Fernet key (32 url-safe base64 bytes)."
            raise SecretsError(message) from None
    return keys


def key_ring(settings: Settings) -> MultiFernet:
    """The configured keys, the first one encrypting; all of them decrypting."""
    return MultiFernet([Fernet(key) for key in configured_keys(settings)])


def primary_key(settings: Settings) -> Fernet:
    """The key new secrets are encrypted with; rotation re-encrypts everything under it."""
    return Fernet(configured_keys(settings)[0])


def key_fingerprint(key: str) -> str:
    """A short, non-secret name for a key (first 8 hex digits of its SHA-256), for messages."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


@lru_cache(maxsize=1)
def _default_ring() -> MultiFernet:
    return key_ring(get_settings())


def encrypt_fields(fields: dict[str, Any], ring: MultiFernet | None = None) -> str:
    """The ciphertext of a credential's fields, safe to store."""
    return (ring or _default_ring()).encrypt(json.dumps(fields).encode()).decode()


def decrypt_fields(ciphertext: str, ring: MultiFernet | None = None) -> dict[str, Any]:
    """A credential's fields; SecretsError when no configured key opens it."""
    try:
        return dict(json.loads((ring or _default_ring()).decrypt(ciphertext.encode())))
    except InvalidToken:
        raise SecretsError("A stored secret cannot be decrypted with the keys in TRELLIS_SECRET_KEYS.") from None


def reencrypted(ciphertext: str, ring: MultiFernet, primary: Fernet) -> str | None:
    """`ciphertext` under the primary key, or None when it already is (rotation skips it)."""
    token = ciphertext.encode()
    try:
        primary.decrypt(token)
        return None
    except InvalidToken:
        pass
    try:
        return ring.rotate(token).decode()
    except InvalidToken:
        raise SecretsError("A stored secret cannot be decrypted with any key in TRELLIS_SECRET_KEYS.") from None


def derived_key(settings: Settings, purpose: str) -> str:
    """A hex key for `purpose` (such as signing a cookie), derived from the newest secret key without revealing it."""
    newest = configured_keys(settings)[0]
    return hmac.new(newest.encode(), purpose.encode(), hashlib.sha256).hexdigest()
