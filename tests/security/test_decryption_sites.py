"""Where secrets are decrypted, read from the source: a credential only where a node asks for it (the run's
credential resolver) and for a webhook's own check; nothing under builder/ decrypts anything."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DECRYPTING = {"decrypt_fields", "open_credential", "reencrypted", "decrypt", "rotate"}
ALLOWED = {
    "open_credential": {
        "runtime/executor/services.py",  # credential_resolver: what ctx.credential(slot) calls, in the run
        "runtime/webhooks/lookup.py",  # a hook's own `webhook` credential, to check a call's token or signature
    },
    "decrypt_fields": {
        "runtime/credentials.py",  # open_credential itself
        "runtime/webhooks/urls.py",  # the hook's URL token (not a credential), shown to its editor
        "runtime/secret_canary.py",  # the start-up canary
        "runtime/store/approvals.py",  # an approval's link token (not a credential), handed on by its request step
    },
    "reencrypted": {"runtime/secret_rotation.py"},
    "decrypt": {"runtime/secrets.py"},
    "rotate": {"runtime/secrets.py"},
}


def called_names(path: Path) -> set[str]:
    """The decrypting functions and methods `path` calls."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in DECRYPTING:
                names.add(name)
    return names


def test_only_the_known_places_decrypt() -> None:
    found: dict[str, set[str]] = {name: set() for name in DECRYPTING}
    for package in ("runtime", "builder", "components"):
        for path in (ROOT / package).rglob("*.py"):
            for name in called_names(path):
                found[name].add(str(path.relative_to(ROOT)))

    assert found == ALLOWED
    assert not any(place.startswith("builder/") for places in found.values() for place in places)
