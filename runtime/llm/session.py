"""Call a model for a node: streamed, retried with backoff, behind a circuit breaker, optionally cached."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import openai
from openai.types.chat import ChatCompletionChunk
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from runtime.errors import NodeError
from runtime.llm import cache
from runtime.llm.breaker import BREAKERS, Breakers
from runtime.llm.chat_types import ChatRequest, Completion, ToolCall
from runtime.llm.client import DEFAULT_TIMEOUT_S, base_url_of, openai_client
from runtime.llm.errors import LlmError, Target, translate
from runtime.metrics import count_llm_tokens

if TYPE_CHECKING:
    from runtime.nodes.context import NodeContext

TokenSink = Callable[[str], Awaitable[None]]
"""Receives each piece of answer text as it streams in."""


@dataclass(frozen=True)
class LlmPolicy:
    """How hard to try: attempts per call, exponential backoff, and the longest server-asked wait we honour."""

    attempts: int = 3
    backoff_s: float = 0.5
    backoff_max_s: float = 8.0
    retry_after_max_s: float = 30.0


DEFAULT_POLICY = LlmPolicy()


@dataclass
class LlmSession:
    """Model calls for one node run: one credential, one server, one HTTP client."""

    client: openai.AsyncOpenAI
    node_id: str
    base_url: str
    api_key: str
    timeout_s: float = DEFAULT_TIMEOUT_S
    policy: LlmPolicy = DEFAULT_POLICY
    breakers: Breakers = BREAKERS
    redis: Any | None = None

    @classmethod
    def create(
        cls,
        credential: Mapping[str, Any],
        http: httpx.AsyncClient,
        *,
        node_id: str,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        **options: Any,
    ) -> LlmSession:
        """A session for `credential` (`api_key`, optional `base_url`); NodeError when it is unusable.

        `options` are the remaining fields: `policy`, `breakers`, `redis` (None: no cache).
        """
        base_url = base_url_of(credential)
        if not credential.get("api_key"):
            raise NodeError(f"Node {node_id!r}: the 'openai' credential has no api_key; add one to it.")
        if not base_url.startswith(("http://", "https://")):
            raise NodeError(f"Node {node_id!r}: the 'openai' credential's base_url {base_url!r} is not an http(s) URL.")
        client = openai_client(credential, http, timeout_s=timeout_s)
        return cls(client, node_id, base_url, str(credential["api_key"]), timeout_s, **options)

    async def complete(
        self, request: ChatRequest, on_token: TokenSink, *, idempotency_key: str, cache_ttl_s: int = 0
    ) -> Completion:
        """The model's answer to `request`, its text streamed to `on_token` as it arrives.

        Every attempt carries `Idempotency-Key: idempotency_key`. With `cache_ttl_s` > 0 and Redis,
        an identical earlier request's answer is returned (and sent to `on_token` whole) instead.
        Raises `LlmError` in words a user can act on.
        """
        key = None
        if cache_ttl_s > 0 and self.redis is not None:
            key = cache.cache_key(self.base_url, self.api_key, request)
            hit = await cache.read(self.redis, key)
            if hit is not None:
                if hit.text:
                    await on_token(hit.text)
                return hit
        completion = await self._with_retries(request, on_token, idempotency_key)
        if key is not None and cache.worth_keeping(request, completion):
            await cache.write(self.redis, key, completion, cache_ttl_s)
        return completion

    async def _with_retries(self, request: ChatRequest, on_token: TokenSink, idempotency_key: str) -> Completion:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.policy.attempts),
            wait=self._wait,
            retry=retry_if_exception(self._worth_retrying),
            reraise=True,
        )
        target = Target(self.node_id, self.base_url, request.model, self.timeout_s)
        try:
            return await retrying(self._attempt, request, on_token, idempotency_key, target)
        except LlmError as error:
            attempts = retrying.statistics.get("attempt_number", 1)
            if attempts > 1 and error.transient:
                raise LlmError(f"{error} (tried {attempts} times)", retryable=error.retryable) from error
            raise

    def _worth_retrying(self, error: BaseException) -> bool:
        if not isinstance(error, LlmError) or not error.transient:
            return False
        return error.retry_after is None or error.retry_after <= self.policy.retry_after_max_s

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, LlmError) and error.retry_after is not None:
            return error.retry_after
        policy = self.policy
        backoff = wait_exponential_jitter(
            multiplier=policy.backoff_s, max=policy.backoff_max_s, jitter=policy.backoff_s / 2
        )
        return backoff(state)

    async def _attempt(
        self, request: ChatRequest, on_token: TokenSink, idempotency_key: str, target: Target
    ) -> Completion:
        breaker = self.breakers(self.base_url)
        closed_for = breaker.admit()
        if closed_for > 0:
            message = (
                f"{self.base_url} is down or unreachable: it failed {breaker.failures} times in a row, "
                f"so it gets no calls for the next {math.ceil(closed_for)} s"
            )
            raise target.error(message, retryable=True)
        answer = _Answer(request.model)
        try:
            await self._stream(request, on_token, idempotency_key, answer)
        except openai.APIError as raw:
            error = translate(raw, target)
            breaker.record(outage=error.outage)
            # Tokens already reached the canvas; retrying here would show them twice.
            error.transient = error.transient and not answer.text
            raise error from raw
        breaker.record(outage=False)
        completion = answer.completion()
        count_llm_tokens(completion.model, completion.prompt_tokens, completion.completion_tokens)
        return completion

    async def _stream(self, request: ChatRequest, on_token: TokenSink, idempotency_key: str, answer: _Answer) -> None:
        stream = await self.client.chat.completions.create(
            **request.to_openai(),
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"Idempotency-Key": idempotency_key},
        )
        async with stream:
            async for chunk in stream:
                text = answer.add(chunk)
                if text:
                    await on_token(text)


class _Answer:
    """Collects a streamed answer: text, tool-call fragments, usage and the model that answered."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.text = ""
        self.finish_reason = ""
        self.usage = (0, 0)
        self.calls: dict[int, list[str]] = {}

    def add(self, chunk: ChatCompletionChunk) -> str:
        """Take in one chunk; returns its new answer text ("" for none)."""
        self.model = chunk.model or self.model
        if chunk.usage is not None:
            self.usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
        if not chunk.choices:
            return ""
        choice = chunk.choices[0]
        self.finish_reason = choice.finish_reason or self.finish_reason
        for part in choice.delta.tool_calls or []:
            call = self.calls.setdefault(part.index, ["", "", ""])
            call[0] = part.id or call[0]
            if part.function is not None:
                call[1] = part.function.name or call[1]
                call[2] += part.function.arguments or ""
        text = choice.delta.content or ""
        self.text += text
        return text

    def completion(self) -> Completion:
        calls = tuple(ToolCall(*self.calls[index]) for index in sorted(self.calls))
        prompt, completion = self.usage
        return Completion(self.text, self.model, prompt, completion, calls, finish_reason=self.finish_reason)


async def open_session(ctx: NodeContext, *, timeout_s: float) -> LlmSession:
    """The session for a node's `openai` credential, on the run's HTTP client and Redis (for the cache)."""
    credential = await ctx.credential("openai")
    return LlmSession.create(
        credential, ctx.services.http, node_id=ctx.node_id, timeout_s=timeout_s, redis=ctx.services.redis
    )
