"""Build the `openai` client for one credential, on the run's egress-guarded HTTP client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import openai

from runtime.egress import MAX_TOTAL_TIMEOUT_S, TOTAL_TIMEOUT

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT_S = 120.0


class _GuardedOpenAI(openai.AsyncOpenAI):
    """`AsyncOpenAI` whose requests may use the egress guard's longest total time.

    The guard's default total (`TRELLIS_EGRESS_TIMEOUT_S`) suits plain HTTP calls, but a model
    streams its answer for minutes; stalls are caught by the per-read `timeout_s` instead.
    """

    async def _prepare_request(self, request: Any) -> None:
        await super()._prepare_request(request)
        request.extensions[TOTAL_TIMEOUT] = MAX_TOTAL_TIMEOUT_S


def base_url_of(credential: Mapping[str, Any]) -> str:
    """The server the credential points at, without a trailing slash (OpenAI's by default)."""
    return str(credential.get("base_url") or DEFAULT_BASE_URL).rstrip("/")


def openai_client(
    credential: Mapping[str, Any], http: httpx.AsyncClient, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> openai.AsyncOpenAI:
    """A client for `credential["api_key"]` at its `base_url`, sending through `http`.

    Build one per call or run, never at import: async clients are bound to their event loop.
    It never retries (`max_retries=0`): `runtime.llm` retries, so there is one retrying layer.
    Do not close it: that would close `http`, which belongs to the run.
    """
    return _GuardedOpenAI(
        api_key=str(credential["api_key"]),
        base_url=base_url_of(credential),
        http_client=http,
        max_retries=0,
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
    )
