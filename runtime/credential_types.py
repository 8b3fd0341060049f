"""Credential types, declared once: the fields each type holds, which of them are secret, and which
types a node's credential slot accepts. The credentials page, the REST API and the store read this."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from runtime.errors import WorkflowError

FieldKind = Literal["text", "list"]


class CredentialFieldsInvalid(WorkflowError):
    """Fields that do not fit their credential type; `field` and `value` say which one (a secret value is
    never repeated: `value` is then "(hidden)")."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field, self.value = field, value
        super().__init__(f"Invalid {field} {value!r}: {reason}")


@dataclass(frozen=True)
class CredentialField:
    """One field of a credential type."""

    name: str
    label: str
    secret: bool
    required: bool = False
    kind: FieldKind = "text"
    """`list`: several strings (one per line on the page, a JSON list over the API)."""
    help: str = ""


@dataclass(frozen=True)
class CredentialType:
    """A kind of credential, e.g. an OpenAI API key; `hint_field` is the secret whose last four characters
    are shown masked (`…1234`)."""

    id: str
    title: str
    fields: tuple[CredentialField, ...]
    hint_field: str

    def field(self, name: str) -> CredentialField | None:
        """The field called `name`, or None."""
        return next((item for item in self.fields if item.name == name), None)


CREDENTIAL_TYPES: dict[str, CredentialType] = {
    kind.id: kind
    for kind in (
        CredentialType("openai", "OpenAI-compatible API key", (
            CredentialField("api_key", "API key", secret=True, required=True),
            CredentialField("base_url", "Base URL", secret=False, help="Empty means https://api.openai.com/v1."),
        ), hint_field="api_key"),
        CredentialType("http_header", "HTTP header token", (
            CredentialField("header", "Header name", secret=False, required=True, help="e.g. Authorization"),
            CredentialField("token", "Header value", secret=True, required=True, help="e.g. Bearer abc123"),
        ), hint_field="token"),
        CredentialType("basic_auth", "HTTP basic auth", (
            CredentialField("username", "User name", secret=False, required=True),
            CredentialField("password", "Password", secret=True, required=True),
        ), hint_field="password"),
        CredentialType("webhook", "Webhook token or signing secrets", (
            CredentialField("header", "Token header", secret=False, help="Empty means X-Webhook-Token."),
            CredentialField("token", "Token", secret=True, help="For a webhook with auth header_token."),
            CredentialField("secrets", "Signing secrets", secret=True, kind="list",
                            help="whsec_... secrets (one or two) for a webhook with auth hmac."),
        ), hint_field="token"),
    )
}  # fmt: skip

SECRET_FIELD_NAMES = frozenset(item.name for kind in CREDENTIAL_TYPES.values() for item in kind.fields if item.secret)
"""Field names that are secret in some type: their values are scrubbed from whatever a run records."""

SLOT_TYPES: dict[str, tuple[str, ...]] = {
    "openai": ("openai",),
    "webhook": ("webhook",),
    "auth": ("http_header", "basic_auth"),
}
"""Node credential slot -> the credential types it accepts."""


def credential_type(type_id: str) -> CredentialType:
    """The declared type `type_id`; CredentialFieldsInvalid naming the known ones otherwise."""
    kind = CREDENTIAL_TYPES.get(type_id)
    if kind is None:
        raise CredentialFieldsInvalid("type", type_id, f"the credential types are {', '.join(CREDENTIAL_TYPES)}")
    return kind


def types_for_slot(slot: str) -> tuple[str, ...]:
    """The credential types a node's credential slot accepts (the slot name itself when undeclared)."""
    return SLOT_TYPES.get(slot, (slot,))


def checked_fields(type_id: str, given: Mapping[str, Any], stored: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The fields to store for `given` over `stored` (an edit): an empty or missing secret keeps its stored
    value, an empty plain field clears it. CredentialFieldsInvalid names the first bad field."""
    kind = credential_type(type_id)
    unknown = sorted(set(given) - {item.name for item in kind.fields})
    if unknown:
        names = ", ".join(item.name for item in kind.fields)
        raise CredentialFieldsInvalid(f"fields.{unknown[0]}", unknown[0], f"{type_id} credentials have {names}")
    result: dict[str, Any] = {}
    for item in kind.fields:
        value = _field_value(item, given.get(item.name))
        if not value and item.secret and stored:
            value = stored.get(item.name)
        if value:
            result[item.name] = value
        elif item.required:
            raise CredentialFieldsInvalid(f"fields.{item.name}", "", f"a {type_id} credential needs a {item.label}")
    return result


def _field_value(item: CredentialField, value: Any) -> str | list[str] | None:
    """The cleaned value of one field; lists accept a JSON list or text with one entry per line."""
    if value is None:
        return None
    shown = "(hidden)" if item.secret else value
    if item.kind == "list":
        entries = value.splitlines() if isinstance(value, str) else value
        if not isinstance(entries, list) or not all(isinstance(entry, str) for entry in entries):
            raise CredentialFieldsInvalid(f"fields.{item.name}", shown, "must be a list of strings")
        return [entry.strip() for entry in entries if entry.strip()] or None
    if not isinstance(value, str):
        raise CredentialFieldsInvalid(f"fields.{item.name}", shown, "must be a string")
    return value.strip() or None


def masked_hint(type_id: str, fields: Mapping[str, Any]) -> str:
    """`…1234`: the last four characters of the type's main secret, or of its first secret that is set
    (just `…` for a secret under 8 characters, empty when none is set)."""
    kind = credential_type(type_id)
    names = [kind.hint_field, *(item.name for item in kind.fields if item.secret)]
    value = next((fields[name] for name in names if fields.get(name)), "")
    text = str(value[0] if isinstance(value, list) else value)
    return f"…{text[-4:]}" if len(text) >= 8 else ("…" if text else "")
