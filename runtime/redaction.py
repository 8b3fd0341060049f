"""Keeping secrets out of what a run records: masked header values and scrubbed secret strings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[redacted]"
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
"""Headers whose values are never recorded, whatever credential is in use."""
SHORTEST_SCRUBBED = 4
"""Shorter values are not scrubbed: replacing every "ab" in a run's output would mangle it, not protect it."""


def mask_headers(headers: Mapping[str, str], also: Iterable[str] = ()) -> dict[str, str]:
    """`headers` with the values of sensitive ones (and of the headers named in `also`) masked."""
    hidden = SENSITIVE_HEADERS | {name.lower() for name in also}
    return {name: MASK if name.lower() in hidden else value for name, value in headers.items()}


def secret_strings(fields: Mapping[str, Any], secret_names: Iterable[str]) -> set[str]:
    """The string values (list entries included) of the fields named in `secret_names`."""
    found: set[str] = set()
    for name in secret_names:
        value = fields.get(name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and len(item) >= SHORTEST_SCRUBBED:
                found.add(item)
    return found


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """`value` with every occurrence of a secret in its strings (keys included) replaced by the mask."""
    ordered = sorted(secrets, key=len, reverse=True)  # a secret containing another goes first
    if not ordered:
        return value
    return _scrub(value, ordered)


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, Mapping):
        return {_scrub(key, secrets): _scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item, secrets) for item in value]
    return value
