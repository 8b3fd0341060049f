"""Body limits and the Content-Type-driven parser."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from runtime.webhooks.body import HARD_MAX_BODY_BYTES, body_limit, check_declared_length, parse_body, read_capped
from runtime.webhooks.errors import HookError


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def status_of(call) -> int:  # type: ignore[no-untyped-def]
    with pytest.raises(HookError) as caught:
        call()
    return caught.value.status


def test_the_limit_never_exceeds_16_mib() -> None:
    assert body_limit(1024) == 1024
    assert body_limit(64 * 1024 * 1024) == HARD_MAX_BODY_BYTES == 16 * 1024 * 1024


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    check_declared_length("100", 100)
    check_declared_length(None, 100)
    assert status_of(lambda: check_declared_length("101", 100)) == 413
    assert status_of(lambda: check_declared_length("-5", 100)) == 400


def test_a_streamed_body_is_cut_off_as_soon_as_it_passes_the_limit() -> None:
    assert asyncio.run(read_capped(chunks(b"ab", b"cd"), 4)) == b"abcd"
    assert status_of(lambda: asyncio.run(read_capped(chunks(b"ab", b"cd", b"e"), 4))) == 413


@pytest.mark.parametrize(
    ("content_type", "raw", "parsed"),
    [
        ("application/json", b'{"a": [1, 2]}', {"a": [1, 2]}),
        ("application/cloudevents+json; charset=utf-8", b'{"a": 1}', {"a": 1}),
        ("application/x-www-form-urlencoded", b"a=1&b=2&b=3&c=", {"a": "1", "b": ["2", "3"], "c": ""}),
        ("text/plain; charset=latin-1", "café".encode("latin-1"), "café"),
        ("text/csv", b"a,b\n1,2", "a,b\n1,2"),
        (None, b"", None),
        ("application/json", b"", None),
    ],
)
def test_bodies_are_parsed_by_their_content_type(content_type: str | None, raw: bytes, parsed: object) -> None:
    assert parse_body(content_type, raw) == parsed


@pytest.mark.parametrize(
    ("content_type", "raw", "status", "code"),
    [
        ("application/xml", b"<a/>", 415, "unsupported_media_type"),
        ("multipart/form-data; boundary=x", b"--x--", 415, "unsupported_media_type"),
        (None, b'{"a": 1}', 415, "unsupported_media_type"),
        ("text/plain; charset=no-such-charset", b"x", 415, "unsupported_media_type"),
        ("application/json", b'{"a": NaN}', 400, "invalid_body"),
        ("application/json", b"[" * 100_000, 400, "invalid_body"),
        ("text/plain", b"\xff\xfe\xfa", 400, "invalid_body"),
    ],
)
def test_other_bodies_get_a_clear_refusal(content_type: str | None, raw: bytes, status: int, code: str) -> None:
    with pytest.raises(HookError) as caught:
        parse_body(content_type, raw)
    assert (caught.value.status, caught.value.code) == (status, code)
