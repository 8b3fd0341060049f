"""Password hashes: Argon2id with argon2-cffi's defaults, at most four computed at once per process."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
MAX_CONCURRENT_HASHES = 4
"""Each hash takes 64 MiB and ~150 ms of CPU: more at once would only queue on the cores and memory."""

_hasher = PasswordHasher()
_hash_slots = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking a password: whether it matched, and a stronger hash to store if one is due."""

    matches: bool
    upgraded_hash: str | None = None


def password_problem(password: str) -> str | None:
    """Why `password` may not be chosen, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password must be at most {MAX_PASSWORD_LENGTH} characters long."
    return None


def hash_password(password: str) -> str:
    """The Argon2id hash to store for `password` (blocks ~150 ms; call it off the event loop)."""
    with _hash_slots:
        return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> Verdict:
    """Check `password` against `stored_hash`; with no hash (unknown user) the same work is done against
    a dummy hash, so the answer takes as long either way. Blocks; call it off the event loop."""
    with _hash_slots:
        if stored_hash is None:
            with contextlib.suppress(VerificationError):
                _hasher.verify(dummy_hash(), password)
            return Verdict(matches=False)
        try:
            _hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return Verdict(matches=False)
        if _hasher.check_needs_rehash(stored_hash):
            return Verdict(matches=True, upgraded_hash=_hasher.hash(password))
        return Verdict(matches=True)


@cache
def dummy_hash() -> str:
    """The hash an unknown user's password is checked against: real parameters, matching no chosen password."""
    return _hasher.hash("trellis-dummy-password-for-unknown-users")
