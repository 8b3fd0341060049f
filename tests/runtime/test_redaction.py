"""Masking sensitive headers and scrubbing secret values out of what a run records."""

from __future__ import annotations

from runtime.redaction import MASK, mask_headers, scrub, secret_strings


def test_sensitive_and_named_headers_are_masked_whatever_their_case() -> None:
    headers = {"Authorization": "Bearer x", "cookie": "a=b", "X-API-KEY": "k", "X-Custom": "t", "Accept": "*/*"}
    assert mask_headers(headers, also=["x-custom"]) == {
        "Authorization": MASK, "cookie": MASK, "X-API-KEY": MASK, "X-Custom": MASK, "Accept": "*/*",
    }  # fmt: skip


def test_scrub_replaces_secrets_in_nested_values_and_keys_longest_first() -> None:
    secrets = {"abcd1234", "abcd1234-longer"}
    value = {"note": "key abcd1234-longer and abcd1234", "list": ["x abcd1234"], "abcd1234": 7, "n": 5}
    assert scrub(value, secrets) == {"note": f"key {MASK} and {MASK}", "list": [f"x {MASK}"], MASK: 7, "n": 5}
    assert scrub(value, set()) is value


def test_only_secret_fields_of_four_or_more_characters_count() -> None:
    fields = {"api_key": "sk-123456", "base_url": "http://x", "token": "abc", "secrets": ["whsec_1", "whsec_2"]}
    assert secret_strings(fields, ["api_key", "token", "secrets"]) == {"sk-123456", "whsec_1", "whsec_2"}
