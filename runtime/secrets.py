"""Encryption of credentials at rest: a Fernet key ring from `TRELLIS_SECRET_KEYS` or a local key file."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from runtime.config import Settings, get_settings
from runtime.errors import WorkflowError

KEY_FILE_NAME = "secret.key"


class SecretsError(WorkflowError):
    """A credential cannot be encrypted or decrypted; the message says what to fix."""


def local_key_file(settings: Settings) -> Path:
    """The zero-setup key file, created with mode 0600 on first use."""
    path = settings.data_dir / KEY_FILE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as key_file:
            key_file.write(Fernet.generate_key())
    return path


def key_ring(settings: Settings) -> MultiFernet:
    """The configured keys, the first one encrypting; all of them decrypting."""
    raw = settings.secret_keys or local_key_file(settings).read_text()
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as error:
        raise SecretsError(f"TRELLIS_SECRET_KEYS holds a key that is not a Fernet key: {error}") from None


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
        raise SecretsError("A stored credential cannot be decrypted with the configured keys.") from None


def derived_key(settings: Settings, purpose: str) -> str:
    """A hex key for `purpose` (such as signing a cookie), derived from the newest secret key without revealing it."""
    raw = settings.secret_keys or local_key_file(settings).read_text()
    newest = raw.split(",")[0].strip()
    return hmac.new(newest.encode(), purpose.encode(), hashlib.sha256).hexdigest()
