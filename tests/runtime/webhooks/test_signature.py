"""Standard Webhooks signatures: the published test vector, the ±300 s window, rotation."""

from __future__ import annotations

import pytest

from runtime.webhooks.auth import check_auth, visible_headers
from runtime.webhooks.errors import HookError
from runtime.webhooks.signature import sign, verify

# The example from the Standard Webhooks specification / Svix documentation.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
OTHER_SECRET = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24="


def headers(signature: str = SPEC_SIGNATURE, timestamp: int = SPEC_TIMESTAMP) -> dict[str, str]:
    return {"webhook-id": SPEC_ID, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def refusal(secrets: list[str], sent: dict[str, str], body: bytes, now: float) -> str:
    with pytest.raises(HookError) as caught:
        verify(secrets, sent, body, now)
    assert caught.value.status == 401
    return caught.value.code


def test_sign_matches_the_specification_example() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_the_window_is_300_seconds_either_way() -> None:
    verify([SPEC_SECRET], headers(), SPEC_BODY, SPEC_TIMESTAMP + 299)
    verify([SPEC_SECRET], headers(), SPEC_BODY, SPEC_TIMESTAMP - 299)
    assert refusal([SPEC_SECRET], headers(), SPEC_BODY, SPEC_TIMESTAMP + 301) == "stale_timestamp"
    assert refusal([SPEC_SECRET], headers(), SPEC_BODY, SPEC_TIMESTAMP - 301) == "stale_timestamp"


def test_either_of_two_active_secrets_verifies_and_any_listed_signature_may_match() -> None:
    now = SPEC_TIMESTAMP
    verify([OTHER_SECRET, SPEC_SECRET], headers(), SPEC_BODY, now)
    several = f"v1,bm90LWl0 {SPEC_SIGNATURE}"
    verify([SPEC_SECRET], headers(several), SPEC_BODY, now)
    assert refusal([OTHER_SECRET], headers(), SPEC_BODY, now) == "bad_signature"
    # Only two secrets are active: a third one listed is ignored.
    third = [OTHER_SECRET, OTHER_SECRET, SPEC_SECRET]
    assert refusal(third, headers(), SPEC_BODY, now) == "bad_signature"


def test_a_changed_body_id_or_timestamp_breaks_the_signature() -> None:
    now = SPEC_TIMESTAMP
    assert refusal([SPEC_SECRET], headers(), SPEC_BODY + b" ", now) == "bad_signature"
    assert refusal([SPEC_SECRET], {**headers(), "webhook-id": "msg_other"}, SPEC_BODY, now) == "bad_signature"
    assert refusal([SPEC_SECRET], headers(timestamp=now + 1), SPEC_BODY, now) == "bad_signature"
    assert refusal([SPEC_SECRET], {}, SPEC_BODY, now) == "missing_signature"
    assert refusal([SPEC_SECRET], {**headers(), "webhook-timestamp": "12.5"}, SPEC_BODY, now) == "bad_signature"


def test_header_token_auth_compares_the_configured_header() -> None:
    credential = {"token": "s3cret-token", "header": "X-Hook-Key"}
    check_auth("header_token", credential, {"x-hook-key": "s3cret-token"}, b"", 0)
    for sent in ({}, {"x-hook-key": "s3cret-tokeN"}, {"x-webhook-token": "s3cret-token"}):
        with pytest.raises(HookError) as caught:
            check_auth("header_token", credential, sent, b"", 0)
        assert (caught.value.status, caught.value.code) == (401, "bad_token")


def test_a_hook_demanding_auth_without_its_credential_refuses_everyone() -> None:
    for auth, credential in (("header_token", None), ("hmac", {"secrets": []}), ("hmac", {"secrets": ["plain"]})):
        with pytest.raises(HookError) as caught:
            check_auth(auth, credential, headers(), SPEC_BODY, SPEC_TIMESTAMP)
        assert (caught.value.status, caught.value.code) == (401, "auth_not_configured")


def test_secret_headers_are_not_passed_to_the_run() -> None:
    sent = {"authorization": "Bearer x", "cookie": "c", "x-hook-key": "t", "webhook-signature": "v1,x", "a": "1",
            "webhook-id": "msg_1"}  # fmt: skip
    assert visible_headers(sent, {"header": "X-Hook-Key"}) == {"a": "1", "webhook-id": "msg_1"}
