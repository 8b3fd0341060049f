"""Request bodies: a size cap enforced before and while reading, and a parser chosen strictly by
Content-Type (JSON, URL-encoded form, text). Parsed values are plain data, never file paths."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

from runtime.webhooks.errors import HookError

MIB = 1024 * 1024
HARD_MAX_BODY_BYTES = 16 * MIB
"""No hook accepts more than this, whatever its node says."""
MAX_FORM_FIELDS = 1000
FORM_TYPE = "application/x-www-form-urlencoded"


def body_limit(max_body_bytes: int) -> int:
    """The hook's body limit, never above the hard maximum."""
    return min(max_body_bytes, HARD_MAX_BODY_BYTES)


def too_large(limit: int) -> HookError:
    return HookError(413, "payload_too_large", f"The request body is larger than this webhook's {limit}-byte limit.")


def check_declared_length(content_length: str | None, limit: int) -> None:
    """Refuse a `Content-Length` above `limit` before a byte of the body is read."""
    if content_length is None:
        return
    if not content_length.strip().isdigit():
        raise HookError(400, "invalid_request", f"Content-Length {content_length!r} is not a byte count.")
    if int(content_length) > limit:
        raise too_large(limit)


async def read_capped(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """The whole body, refused with 413 as soon as more than `limit` bytes arrived (chunked bodies too)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


def split_content_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """The lower-cased media type and its parameters (`charset`, ...); ("", {}) when absent."""
    if not content_type:
        return "", {}
    media_type, *rest = content_type.split(";")
    parameters = {}
    for item in rest:
        name, _, value = item.partition("=")
        parameters[name.strip().lower()] = value.strip().strip('"')
    return media_type.strip().lower(), parameters


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def check_media_type(content_type: str | None, has_body: bool) -> None:
    """415 unless the Content-Type names JSON, a URL-encoded form or text; a body without one is refused too."""
    media_type, _ = split_content_type(content_type)
    if not media_type and not has_body:
        return
    if _is_json(media_type) or media_type == FORM_TYPE or media_type.startswith("text/"):
        return
    shown = content_type or "(none)"
    raise HookError(
        415, "unsupported_media_type",
        f"Content-Type {shown!r} is not accepted; send application/json, {FORM_TYPE} or text/*.",
    )  # fmt: skip


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_body(content_type: str | None, raw: bytes) -> Any:
    """`trigger.body`: parsed JSON, a form as {name: value or [values]}, text as a string, or None when empty."""
    media_type, parameters = split_content_type(content_type)
    check_media_type(content_type, bool(raw))
    if not raw:
        return None
    if _is_json(media_type):
        try:
            return json.loads(raw, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as error:
            raise HookError(400, "invalid_body", f"The body is not valid JSON: {error}") from None
    text = _decode(raw, parameters.get("charset") or "utf-8")
    if media_type == FORM_TYPE:
        try:
            fields = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
        except ValueError as error:
            raise HookError(400, "invalid_body", f"The form body is invalid: {error}") from None
        return {name: values[0] if len(values) == 1 else values for name, values in fields.items()}
    return text


def _decode(raw: bytes, charset: str) -> str:
    try:
        return raw.decode(charset)
    except LookupError:
        raise HookError(415, "unsupported_media_type", f"Charset {charset!r} is not known.") from None
    except UnicodeDecodeError as error:
        raise HookError(400, "invalid_body", f"The body is not valid {charset}: {error.reason}") from None
