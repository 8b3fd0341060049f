"""The scripted server answers the real `openai` client the way OpenAI does, so other tests can trust it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import openai
import pytest

from tests.openai_server import JSON_WORD_MISSING, OpenAIServer, text_reply, tool_reply


def create(server: OpenAIServer, **arguments: Any) -> Any:
    """`chat.completions.create` through the real client, without streaming."""

    async def scenario() -> Any:
        async with httpx.AsyncClient() as http:
            client = openai.AsyncOpenAI(api_key="sk-test", base_url=server.base_url, http_client=http, max_retries=0)
            return await client.chat.completions.create(model="gpt-4o-mini", **arguments)

    return asyncio.run(scenario())


def test_a_plain_answer_carries_the_text_and_usage(openai_server):
    openai_server.queue(text_reply("Hello", " world", usage=(5, 2)))
    answer = create(openai_server, messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "Hello world"
    assert answer.choices[0].finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (5, 2)


def test_a_plain_answer_can_ask_for_tool_calls(openai_server):
    openai_server.queue(tool_reply(("weather", {"city": "Oslo"})))
    answer = create(openai_server, messages=[{"role": "user", "content": "weather?"}])
    call = answer.choices[0].message.tool_calls[0]
    assert (call.function.name, json.loads(call.function.arguments)) == ("weather", {"city": "Oslo"})
    assert answer.choices[0].finish_reason == "tool_calls"


def test_json_mode_needs_the_word_json_in_the_messages_as_at_openai(openai_server):
    openai_server.queue(text_reply("{}"), text_reply('{"a": 1}'))
    with pytest.raises(openai.BadRequestError) as caught:
        create(openai_server, messages=[{"role": "user", "content": "hi"}], response_format={"type": "json_object"})
    assert JSON_WORD_MISSING in str(caught.value)
    answer = create(
        openai_server, messages=[{"role": "user", "content": "answer in JSON"}], response_format={"type": "json_object"}
    )
    assert json.loads(answer.choices[0].message.content) == {"a": 1}


def test_every_request_is_recorded_with_headers_and_body(openai_server):
    openai_server.queue(text_reply("ok"))
    create(openai_server, messages=[{"role": "user", "content": "hi"}], extra_headers={"Idempotency-Key": "k1"})
    (request,) = openai_server.requests
    assert request.path.endswith("/v1/chat/completions")
    assert request.headers["idempotency-key"] == "k1"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body["messages"] == [{"role": "user", "content": "hi"}]


def test_a_request_with_nothing_scripted_gets_a_500(openai_server):
    with pytest.raises(openai.InternalServerError, match="scripted no reply"):
        create(openai_server, messages=[{"role": "user", "content": "hi"}])
