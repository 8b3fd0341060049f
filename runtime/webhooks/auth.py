"""Who may call a hook, per its node's `auth` param, with the secrets of its `webhook` credential.

Credential fields (`trellis credential add NAME --type webhook`, JSON on stdin):
- `header_token`: `{"token": "<long random string>", "header": "X-Webhook-Token"}` (`header` optional,
  that is its default); the call must carry the token in that header.
- `hmac`: `{"secrets": ["whsec_<base64>", "whsec_<base64>"]}`: one or two active secrets (two while
  rotating); the call must carry a Standard Webhooks signature made with either.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from runtime.webhooks import signature
from runtime.webhooks.errors import HookError

DEFAULT_TOKEN_HEADER = "x-webhook-token"
ALWAYS_HIDDEN_HEADERS = frozenset({"authorization", "cookie", signature.SIGNATURE_HEADER})


def token_header(credential: Mapping[str, Any] | None) -> str:
    """The lower-cased header a `header_token` hook reads its token from."""
    return str((credential or {}).get("header") or DEFAULT_TOKEN_HEADER).lower()


def _not_configured(auth: str) -> HookError:
    message = f"This webhook requires {auth} authentication but its webhook credential is missing or incomplete."
    return HookError(401, "auth_not_configured", message)


def check_auth(
    auth: str, credential: Mapping[str, Any] | None, headers: Mapping[str, str], body: bytes, now: float
) -> None:
    """Return when the call may start the workflow; raise a 401 `HookError` saying why not."""
    if auth == "none":
        return
    if auth == "header_token":
        token = (credential or {}).get("token")
        if not isinstance(token, str) or not token:
            raise _not_configured(auth)
        offered = headers.get(token_header(credential), "")
        if not hmac.compare_digest(offered.encode(), token.encode()):
            message = f"The {token_header(credential)} header does not hold this webhook's token."
            raise HookError(401, "bad_token", message)
        return
    secrets = (credential or {}).get("secrets")
    if not isinstance(secrets, list) or not secrets or not all(isinstance(s, str) for s in secrets):
        raise _not_configured(auth)
    try:
        signature.verify(secrets, headers, body, now)
    except ValueError:
        raise _not_configured(auth) from None


def visible_headers(headers: Mapping[str, str], credential: Mapping[str, Any] | None) -> dict[str, str]:
    """The headers `trigger.headers` shows and the run stores: without tokens, signatures or cookies."""
    hidden = ALWAYS_HIDDEN_HEADERS | {token_header(credential)}
    return {name: value for name, value in headers.items() if name not in hidden}
