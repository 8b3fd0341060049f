"""The LLM client layer through the real `openai` client against the scripted OpenAI-protocol server."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import redis.asyncio

from runtime.llm import Breakers, ChatRequest, Completion, LlmError, LlmPolicy, LlmSession, ToolCall, openai_client
from tests.openai_server import OpenAIServer, error_reply, text_reply, tool_reply

# Backoff far longer than any test may take: a test that finishes proves the wait came from Retry-After.
SLOW_BACKOFF = LlmPolicy(attempts=3, backoff_s=30, backoff_max_s=30)
FAST = LlmPolicy(attempts=3, backoff_s=0.01, backoff_max_s=0.02)
REQUEST = ChatRequest(model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}])


def call(
    server: OpenAIServer | str,
    request: ChatRequest = REQUEST,
    *,
    tokens: list[str] | None = None,
    redis_url: str | None = None,
    cache_ttl_s: int = 0,
    **options: Any,
) -> Completion:
    """One `complete` call on a fresh session, as a node makes it; streamed text goes to `tokens`."""
    base_url = server if isinstance(server, str) else server.base_url
    received = tokens if tokens is not None else []

    async def scenario() -> Completion:
        cache = redis.asyncio.Redis.from_url(redis_url) if redis_url else None
        async with httpx.AsyncClient() as http:
            credential = {"api_key": "sk-test", "base_url": base_url}
            session = LlmSession.create(credential, http, node_id="ask", redis=cache, **({"policy": FAST} | options))
            try:
                return await session.complete(
                    request, _collect(received), idempotency_key="run-1:ask", cache_ttl_s=cache_ttl_s
                )
            finally:
                if cache is not None:
                    await cache.aclose()

    return asyncio.run(asyncio.wait_for(scenario(), timeout=20))


def _collect(tokens: list[str]) -> Callable[[str], Awaitable[None]]:
    async def on_token(text: str) -> None:
        tokens.append(text)

    return on_token


def test_the_answer_streams_token_by_token_with_usage(openai_server):
    openai_server.queue(text_reply("Hel", "lo", " there", usage=(7, 3)))
    tokens: list[str] = []
    answer = call(openai_server, tokens=tokens)
    assert tokens == ["Hel", "lo", " there"]
    assert answer.text == "Hello there"
    assert answer.usage == {"prompt_tokens": 7, "completion_tokens": 3}
    body = openai_server.requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert openai_server.requests[0].headers["authorization"] == "Bearer sk-test"


def test_streamed_tool_call_fragments_are_joined_into_whole_calls(openai_server):
    openai_server.queue(tool_reply(("weather", {"city": "Paris"}), ("time", {"zone": "CET"})))
    answer = call(openai_server)
    assert answer.tool_calls == (
        ToolCall("call_0", "weather", '{"city": "Paris"}'),
        ToolCall("call_1", "time", '{"zone": "CET"}'),
    )
    assert answer.finish_reason == "tool_calls"


def test_a_429_is_retried_after_the_wait_the_server_asks_for(openai_server):
    openai_server.queue(error_reply(429, "Rate limit reached", headers={"retry-after-ms": "300"}), text_reply("ok"))
    started = time.monotonic()
    answer = call(openai_server, policy=SLOW_BACKOFF)
    elapsed = time.monotonic() - started
    assert answer.text == "ok"
    assert 0.3 <= elapsed < 5
    keys = [request.headers["idempotency-key"] for request in openai_server.requests]
    assert keys == ["run-1:ask", "run-1:ask"]


def test_a_rate_limit_wait_beyond_the_cap_fails_at_once_saying_how_long(openai_server):
    openai_server.queue(error_reply(429, "Rate limit reached", headers={"Retry-After": "120"}))
    with pytest.raises(LlmError) as caught:
        call(openai_server, policy=SLOW_BACKOFF)
    assert str(caught.value) == (
        f"Node 'ask': {openai_server.base_url} is rate limiting requests (HTTP 429; it asks to wait 120 s)"
    )
    assert caught.value.retryable
    assert len(openai_server.requests) == 1


def test_an_exhausted_quota_is_not_retried(openai_server):
    openai_server.queue(error_reply(429, "You exceeded your current quota", code="insufficient_quota"))
    with pytest.raises(LlmError, match="has no quota left at") as caught:
        call(openai_server)
    assert not caught.value.retryable
    assert len(openai_server.requests) == 1


def test_a_server_error_is_retried_then_reported_as_down(openai_server):
    openai_server.always(error_reply(503, "overloaded"))
    with pytest.raises(LlmError) as caught:
        call(openai_server)
    assert str(caught.value) == (
        f"Node 'ask': {openai_server.base_url} is down or unreachable (HTTP 503) (tried 3 times)"
    )
    assert caught.value.retryable
    assert len(openai_server.requests) == 3


def test_a_server_error_then_success_returns_the_answer(openai_server):
    openai_server.queue(error_reply(500), text_reply("recovered"))
    assert call(openai_server).text == "recovered"


def test_a_refused_api_key_names_the_credential_and_is_not_retried(openai_server):
    openai_server.queue(error_reply(401, "Incorrect API key provided: sk-test", code="invalid_api_key"))
    with pytest.raises(LlmError) as caught:
        call(openai_server)
    message = f"Node 'ask': the API key was refused by {openai_server.base_url} (check the 'openai' credential)"
    assert str(caught.value) == message
    assert not caught.value.retryable
    assert len(openai_server.requests) == 1


def test_an_unknown_model_is_named(openai_server):
    openai_server.queue(error_reply(404, "The model `gpt-9` does not exist", code="model_not_found"))
    with pytest.raises(LlmError) as caught:
        call(openai_server, ChatRequest(model="gpt-9", messages=[{"role": "user", "content": "hi"}]))
    assert str(caught.value) == f"Node 'ask': model 'gpt-9' is not available at {openai_server.base_url}"
    assert not caught.value.retryable


def test_a_wrong_base_url_is_told_apart_from_an_unknown_model(openai_server):
    openai_server.queue(error_reply(404, "Not Found"))
    with pytest.raises(LlmError, match="has no chat completions endpoint .* check the base_url"):
        call(openai_server)


def test_a_bad_request_passes_the_servers_reason_on(openai_server):
    openai_server.queue(error_reply(400, "max_tokens is too large: 999999"))
    with pytest.raises(LlmError, match=r"rejected the request \(HTTP 400\): max_tokens is too large: 999999"):
        call(openai_server)


def test_a_server_that_does_not_answer_times_out_with_the_limit_named(openai_server):
    openai_server.always(text_reply("late", delay_s=2))
    started = time.monotonic()
    with pytest.raises(LlmError) as caught:
        call(openai_server, timeout_s=0.2, policy=LlmPolicy(attempts=2, backoff_s=0.01))
    assert time.monotonic() - started < 1.5
    assert str(caught.value) == f"Node 'ask': no answer from {openai_server.base_url} within 0.2 s (tried 2 times)"
    assert caught.value.retryable
    assert len(openai_server.requests) == 2


def test_a_closed_port_is_reported_as_unreachable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(LlmError, match=rf"http://127.0.0.1:{port}/v1 is down or unreachable \(connection failed\)"):
        call(f"http://127.0.0.1:{port}/v1")


def test_the_circuit_opens_after_repeated_outages_then_lets_a_trial_through(openai_server):
    breakers = Breakers(threshold=2, cooldown_s=0.5)
    openai_server.always(error_reply(503))
    once = LlmPolicy(attempts=1)
    for _ in range(2):
        with pytest.raises(LlmError, match="HTTP 503"):
            call(openai_server, policy=once, breakers=breakers)

    started = time.monotonic()
    with pytest.raises(LlmError) as caught:
        call(openai_server, policy=once, breakers=breakers)
    assert time.monotonic() - started < 0.4
    assert "failed 2 times in a row, so it gets no calls for the next 1 s" in str(caught.value)
    assert caught.value.retryable
    assert len(openai_server.requests) == 2  # failed fast: the server never saw the third call

    time.sleep(0.6)
    openai_server.queue(text_reply("back"), text_reply("still here"))
    assert call(openai_server, policy=once, breakers=breakers).text == "back"
    assert call(openai_server, policy=once, breakers=breakers).text == "still here"


def test_an_open_circuit_stops_the_remaining_retries(openai_server):
    breakers = Breakers(threshold=2, cooldown_s=30)
    openai_server.always(error_reply(502))
    with pytest.raises(LlmError, match="failed 2 times in a row"):
        call(openai_server, policy=LlmPolicy(attempts=5, backoff_s=0.01), breakers=breakers)
    assert len(openai_server.requests) == 2


def test_a_cached_answer_is_returned_without_asking_the_server_again(openai_server, redis_url):
    openai_server.queue(text_reply("Bonjour", " !"), text_reply("something else"))
    first = call(openai_server, redis_url=redis_url, cache_ttl_s=60)
    tokens: list[str] = []
    second = call(openai_server, tokens=tokens, redis_url=redis_url, cache_ttl_s=60)
    assert (first.text, first.cached) == ("Bonjour !", False)
    assert (second.text, second.cached) == ("Bonjour !", True)
    assert tokens == ["Bonjour !"]
    assert second.usage == {"prompt_tokens": 0, "completion_tokens": 0}
    assert len(openai_server.requests) == 1


def test_the_cache_tells_requests_apart_and_is_off_by_default(openai_server, redis_url):
    openai_server.queue(text_reply("a"), text_reply("b"), text_reply("c"))
    call(openai_server, redis_url=redis_url, cache_ttl_s=60)
    warmer = ChatRequest(model=REQUEST.model, messages=REQUEST.messages, temperature=1.5)
    assert call(openai_server, warmer, redis_url=redis_url, cache_ttl_s=60).text == "b"
    assert call(openai_server, redis_url=redis_url).text == "c"
    assert len(openai_server.requests) == 3


def test_invalid_json_in_json_mode_is_not_cached(openai_server, redis_url):
    request = ChatRequest(model="m", messages=[{"role": "user", "content": "Reply in JSON"}], json_mode=True)
    openai_server.queue(text_reply('{"broken": '), text_reply('{"ok": true}'))
    call(openai_server, request, redis_url=redis_url, cache_ttl_s=60)
    assert call(openai_server, request, redis_url=redis_url, cache_ttl_s=60).text == '{"ok": true}'
    assert len(openai_server.requests) == 2


def test_the_client_defaults_to_openai_and_never_retries_by_itself():
    async def scenario() -> tuple[str, int]:
        async with httpx.AsyncClient() as http:
            client = openai_client({"api_key": "sk-test"}, http)
            return str(client.base_url), client.max_retries

    assert asyncio.run(scenario()) == ("https://api.openai.com/v1/", 0)


@pytest.mark.parametrize(
    ("credential", "problem"),
    [
        ({"base_url": "http://127.0.0.1:1/v1"}, "the 'openai' credential has no api_key"),
        ({"api_key": "k", "base_url": "ftp://models.example"}, "base_url 'ftp://models.example' is not an http"),
    ],
)
def test_an_unusable_credential_is_reported_before_any_call(credential, problem):
    async def scenario() -> None:
        async with httpx.AsyncClient() as http:
            LlmSession.create(credential, http, node_id="ask")

    with pytest.raises(Exception, match=problem):
        asyncio.run(scenario())
