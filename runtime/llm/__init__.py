"""Talking to language models over the OpenAI protocol, for the `llm` and `agent` nodes.

`open_session(ctx, timeout_s=...)` gives a node an `LlmSession`; `session.complete(request, on_token,
idempotency_key=...)` streams one answer, retrying transient failures with backoff (honouring
`Retry-After`), failing fast while the server's circuit breaker is open, and optionally answering
from a Redis cache. Every failure is an `LlmError` (a `NodeError`) naming the node and the server.
"""

from runtime.llm.breaker import BREAKERS, Breakers, CircuitBreaker
from runtime.llm.chat_types import ChatRequest, Completion, ToolCall
from runtime.llm.client import DEFAULT_BASE_URL, DEFAULT_TIMEOUT_S, base_url_of, openai_client
from runtime.llm.errors import LlmError
from runtime.llm.session import DEFAULT_POLICY, LlmPolicy, LlmSession, TokenSink, open_session

__all__ = [
    "BREAKERS",
    "DEFAULT_BASE_URL",
    "DEFAULT_POLICY",
    "DEFAULT_TIMEOUT_S",
    "Breakers",
    "ChatRequest",
    "CircuitBreaker",
    "Completion",
    "LlmError",
    "LlmPolicy",
    "LlmSession",
    "TokenSink",
    "ToolCall",
    "base_url_of",
    "open_session",
    "openai_client",
]
