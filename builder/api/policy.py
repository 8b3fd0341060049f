"""How a route declares who may call it, for the routes that take no API key.

`/api/v1` routes declare theirs through their caller parameter (`Reader`, `Writer`); a route open
to anyone says why with `openapi_extra=public("...")`. tests/api/test_route_policies.py fails for a
route that declares neither.
"""

from __future__ import annotations

ACCESS_EXTENSION = "x-trellis-access"


def public(reason: str) -> dict[str, str]:
    """The `openapi_extra` of a route anyone may call, and the reason (e.g. "the hook token is the credential")."""
    return {ACCESS_EXTENSION: f"public: {reason}"}
