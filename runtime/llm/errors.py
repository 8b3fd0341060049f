"""Turn what the `openai` client raises into `LlmError`s a user can act on."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import openai

from runtime.errors import NodeError


class LlmError(NodeError):
    """A failed model call.

    `retry_after` is the wait the server asked for, in seconds (None when it named none);
    `transient` says whether calling again soon may succeed (we retry those ourselves); `outage`
    says the server looked down, which counts towards opening its circuit breaker.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        transient: bool = False,
        outage: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, retryable=retryable)
        self.transient = transient
        self.outage = outage
        self.retry_after = retry_after


@dataclass(frozen=True)
class Target:
    """Who asked whom for what: the words every error message is built from."""

    node_id: str
    base_url: str
    model: str
    timeout_s: float

    def error(self, message: str, **flags: Any) -> LlmError:
        """An `LlmError` whose message names the node first; `flags` are `LlmError`'s keywords."""
        return LlmError(f"Node {self.node_id!r}: {message}", **flags)


def translate(error: openai.APIError, target: Target) -> LlmError:
    """The `LlmError` for an error raised by the `openai` client while calling `target`."""
    url = target.base_url
    if isinstance(error, openai.APITimeoutError):
        return _outage(target, f"no answer from {url} within {target.timeout_s:g} s")
    if isinstance(error, openai.APIConnectionError):
        return _outage(target, f"{url} is down or unreachable (connection failed)")
    if isinstance(error, openai.APIStatusError):
        return _from_status(error, target)
    return target.error(f"{url} broke off the answer: {error.message}", retryable=True, transient=True)


def _outage(target: Target, message: str, retry_after: float | None = None) -> LlmError:
    return target.error(message, retryable=True, transient=True, outage=True, retry_after=retry_after)


def _from_status(error: openai.APIStatusError, target: Target) -> LlmError:
    url, status, said = target.base_url, error.status_code, _server_message(error)
    wait = retry_after_s(error.response.headers)
    if status >= 500:
        return _outage(target, f"{url} is down or unreachable (HTTP {status})", wait)
    if status == 429 and error.code != "insufficient_quota":
        asked = f"; it asks to wait {wait:g} s" if wait is not None else ""
        message = f"{url} is rate limiting requests (HTTP 429{asked})"
        return target.error(message, retryable=True, transient=True, retry_after=wait)
    return target.error(_refusal(error, target, said), retryable=False)


def _refusal(error: openai.APIStatusError, target: Target, said: str) -> str:
    """What to tell the user when the server refused the request for good (a 4xx other than 429)."""
    url, status = target.base_url, error.status_code
    if status == 401:
        return f"the API key was refused by {url} (check the 'openai' credential)"
    if status == 403:
        return f"{url} does not let this API key use model {target.model!r}: {said}"
    if status == 404 and (error.code == "model_not_found" or "model" in said.lower()):
        return f"model {target.model!r} is not available at {url}"
    if status == 404:
        return f"{url} has no chat completions endpoint (HTTP 404); check the base_url of the 'openai' credential"
    if status == 429:
        return f"the account behind the 'openai' credential has no quota left at {url}"
    return f"{url} rejected the request (HTTP {status}): {said}"


def _server_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return error.message


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks us to wait (`retry-after-ms`, then `Retry-After`), or None."""
    millis = _number(headers.get("retry-after-ms"))
    if millis is not None:
        return max(millis / 1000, 0.0)
    value = headers.get("retry-after")
    seconds = _number(value)
    if seconds is None and value:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return None if seconds is None else max(seconds, 0.0)


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None
