"""Credential types: which fields each holds, which are secret, and what the forms and API accept."""

from __future__ import annotations

import pytest

from runtime.credential_types import (
    CREDENTIAL_TYPES,
    CredentialFieldsInvalid,
    checked_fields,
    masked_hint,
    types_for_slot,
)
from runtime.nodes import REGISTRY


def test_every_node_credential_slot_accepts_declared_types() -> None:
    slots = {slot for node_type in REGISTRY for slot in node_type.credentials}
    assert slots == {"openai", "webhook", "auth"}
    for slot in slots:
        assert set(types_for_slot(slot)) <= set(CREDENTIAL_TYPES)
    assert types_for_slot("auth") == ("http_header", "basic_auth")


def test_fields_are_checked_against_their_type() -> None:
    assert checked_fields("openai", {"api_key": " sk-abc ", "base_url": ""}) == {"api_key": "sk-abc"}
    assert checked_fields("webhook", {"secrets": "whsec_a\n\nwhsec_b\n"}) == {"secrets": ["whsec_a", "whsec_b"]}

    with pytest.raises(CredentialFieldsInvalid) as missing:
        checked_fields("basic_auth", {"username": "ada"})
    assert missing.value.field == "fields.password"

    with pytest.raises(CredentialFieldsInvalid) as unknown:
        checked_fields("openai", {"api_key": "sk-1", "organisation": "x"})
    assert unknown.value.field == "fields.organisation" and "api_key, base_url" in str(unknown.value)

    with pytest.raises(CredentialFieldsInvalid) as bad_type:
        checked_fields("ftp", {})
    assert bad_type.value.field == "type" and "openai" in str(bad_type.value)


def test_a_secret_of_the_wrong_shape_is_refused_without_repeating_it() -> None:
    with pytest.raises(CredentialFieldsInvalid) as error:
        checked_fields("openai", {"api_key": 12345678901234})
    assert "12345678901234" not in str(error.value) and "(hidden)" in str(error.value)


def test_blank_secret_keeps_the_stored_one_and_blank_plain_field_clears() -> None:
    stored = {"api_key": "sk-stored-1234", "base_url": "http://old"}
    assert checked_fields("openai", {"api_key": "", "base_url": ""}, stored) == {"api_key": "sk-stored-1234"}


def test_masked_hint_shows_only_the_last_four_of_long_secrets() -> None:
    assert masked_hint("openai", {"api_key": "sk-live-abcdef9876"}) == "…9876"
    assert masked_hint("basic_auth", {"username": "ada", "password": "short"}) == "…"
    assert masked_hint("webhook", {"secrets": ["whsec_0123456789"]}) == "…6789"
