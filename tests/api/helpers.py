"""Small helpers for webhook tests: signing like a Standard Webhooks sender, reading SSE answers."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx

from runtime.webhooks.signature import sign

ECHO_VALUE = "{{ {'body': trigger.body, 'query': trigger.query, 'headers': trigger.headers} }}"
ECHO = {"id": "result", "type": "output", "params": {"value": ECHO_VALUE}}
"""An output node answering with what the trigger saw."""


def echo() -> dict[str, Any]:
    return json.loads(json.dumps(ECHO))


def signed_headers(secret: str, body: bytes, *, age_s: int = 0, message_id: str | None = None) -> dict[str, str]:
    """Standard Webhooks headers for `body`, timestamped `age_s` seconds ago."""
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time()) - age_s
    return {
        "content-type": "application/json", "webhook-id": message_id, "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }  # fmt: skip


def sse_events(response: httpx.Response) -> list[dict[str, Any]]:
    """The `data` of every SSE frame of a finished streaming answer, in order."""
    return [json.loads(line[len("data: ") :]) for line in response.text.splitlines() if line.startswith("data: ")]
