"""Standard Webhooks signatures: `webhook-signature: v1,<base64>` = HMAC-SHA256, keyed by the
`whsec_` secret, over `{webhook-id}.{webhook-timestamp}.{body}`, within ±300 s of now."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence

from runtime.webhooks.errors import HookError

TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"
MAX_ACTIVE_SECRETS = 2
ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = "webhook-id", "webhook-timestamp", "webhook-signature"


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret; ValueError when it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error:
        raise ValueError("a webhook secret is whsec_ followed by base64") from None


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value (`v1,<base64>`) a sender puts on this message."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _unauthorized(code: str, message: str) -> HookError:
    return HookError(401, code, message)


def verify(secrets: Sequence[str], headers: Mapping[str, str], body: bytes, now: float) -> None:
    """Accept the call when one `v1` signature matches one of the (at most two) secrets; 401 otherwise.

    The timestamp is checked first: outside ±300 s the answer is `stale_timestamp`, so a captured
    delivery cannot be replayed later even with a valid signature.
    """
    message_id, timestamp, signatures = (headers.get(h) for h in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER))
    if not (message_id and timestamp and signatures):
        raise _unauthorized("missing_signature", "webhook-id, webhook-timestamp and webhook-signature are required.")
    if not timestamp.isdigit():
        raise _unauthorized("bad_signature", "webhook-timestamp must be whole seconds since 1970.")
    if abs(now - int(timestamp)) > TOLERANCE_S:
        raise _unauthorized("stale_timestamp", f"webhook-timestamp is more than {TOLERANCE_S} s away from now.")
    expected = [sign(secret, message_id, int(timestamp), body) for secret in secrets[:MAX_ACTIVE_SECRETS]]
    offered = [item for item in signatures.split(" ") if item.startswith("v1,")]
    # Every pair is compared (no early exit) in constant time.
    matches = [hmac.compare_digest(mine.encode(), theirs.encode()) for mine in expected for theirs in offered]
    if not any(matches):
        raise _unauthorized("bad_signature", "No webhook-signature matches this webhook's secrets.")
