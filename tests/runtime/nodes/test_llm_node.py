"""The `llm` node end to end: rendered prompt in, streamed tokens out, through the real `openai` client."""

from __future__ import annotations

import pytest

from runtime.config import Settings
from runtime.egress import EgressBlocked, egress_client
from runtime.errors import NodeError
from runtime.nodes import llm
from tests.openai_server import error_reply, text_reply


def params(**values) -> llm.Params:
    return llm.Params(**({"model": "gpt-4o-mini", "prompt": "What colour is the sky?"} | values))


def test_tokens_stream_as_events_in_order_and_make_up_the_text(openai_server, node_runner):
    openai_server.queue(text_reply("The", " sky", " is", " blue."))
    output = node_runner(llm.run, params())
    tokens = [event["text"] for event in node_runner.emitted("node_token")]
    assert tokens == ["The", " sky", " is", " blue."]
    assert output["text"] == "".join(tokens) == "The sky is blue."


def test_the_output_records_usage_and_model(openai_server, node_runner):
    openai_server.queue(text_reply("Blue.", usage=(12, 2)))
    output = node_runner(llm.run, params())
    assert output == {
        "text": "Blue.",
        "usage": {"prompt_tokens": 12, "completion_tokens": 2},
        "model": "gpt-4o-mini",
        "cached": False,
    }


def test_system_and_prompt_are_rendered_and_sent_with_the_options(openai_server, node_runner):
    openai_server.queue(text_reply("ok"))
    node_runner(
        llm.run,
        params(
            system="You write for {{ trigger.body.audience }}.",
            prompt="Summarise: {{ nodes.fetch.output.text }}",
            temperature=0.2,
            max_tokens=50,
        ),
        trigger={"body": {"audience": "children"}, "headers": {}, "query": {}},
        outputs={"fetch": {"text": "Rain falls."}},
    )
    body = openai_server.requests[0].body
    assert body["messages"] == [
        {"role": "system", "content": "You write for children."},
        {"role": "user", "content": "Summarise: Rain falls."},
    ]
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("gpt-4o-mini", 0.2, 50)
    assert "response_format" not in body


def test_an_empty_system_message_is_left_out(openai_server, node_runner):
    openai_server.queue(text_reply("ok"))
    node_runner(llm.run, params())
    assert openai_server.requests[0].body["messages"] == [{"role": "user", "content": "What colour is the sky?"}]


def test_json_mode_parses_the_answer_even_when_the_prompt_never_says_json(openai_server, node_runner):
    openai_server.queue(text_reply('{"colour": ', '"blue"}'))
    output = node_runner(llm.run, params(json_mode=True))
    assert output["json"] == {"colour": "blue"}
    assert output["text"] == '{"colour": "blue"}'
    assert openai_server.requests[0].body["response_format"] == {"type": "json_object"}


def test_json_mode_with_an_answer_that_is_not_json_fails_saying_so(openai_server, node_runner):
    openai_server.queue(text_reply("The sky is blue."))
    with pytest.raises(NodeError) as caught:
        node_runner(llm.run, params(json_mode=True, prompt="Answer in JSON"))
    assert str(caught.value).startswith("Node 'ask': json_mode is on but the model's answer is not valid JSON: ")
    assert "'The sky is blue.'" in str(caught.value)


def test_a_rate_limit_is_waited_out_with_the_same_idempotency_key(openai_server, node_runner):
    openai_server.queue(error_reply(429, "Rate limit reached", headers={"retry-after-ms": "50"}), text_reply("Blue."))
    output = node_runner(llm.run, params(), run_id="run-42", node_id="summary")
    assert output["text"] == "Blue."
    keys = [request.headers["idempotency-key"] for request in openai_server.requests]
    assert keys == ["run-42:summary", "run-42:summary"]


def test_inside_a_loop_the_idempotency_key_names_the_item(openai_server, node_runner):
    openai_server.queue(text_reply("a"), text_reply("b"))
    for index in (0, 1):
        node_runner(llm.run, params(), run_id="run-7", node_id="each", loop={"item": "x", "index": index})
    keys = [request.headers["idempotency-key"] for request in openai_server.requests]
    assert keys == ["run-7:each:0", "run-7:each:1"]


def test_a_refused_api_key_fails_the_node_telling_what_to_check(openai_server, node_runner):
    openai_server.queue(error_reply(401, "Incorrect API key provided", code="invalid_api_key"))
    with pytest.raises(NodeError) as caught:
        node_runner(llm.run, params())
    assert str(caught.value) == (
        f"Node 'ask': the API key was refused by {openai_server.base_url} (check the 'openai' credential)"
    )
    assert not caught.value.retryable


def test_an_unknown_model_fails_the_node_naming_it(openai_server, node_runner):
    openai_server.queue(error_reply(404, "The model `gpt-9` does not exist", code="model_not_found"))
    with pytest.raises(NodeError, match=f"model 'gpt-9' is not available at {openai_server.base_url}$"):
        node_runner(llm.run, params(model="gpt-9"))


def test_a_server_that_keeps_failing_is_reported_down_after_retries(openai_server, node_runner):
    openai_server.always(error_reply(500, "boom", headers={"retry-after-ms": "10"}))
    with pytest.raises(NodeError) as caught:
        node_runner(llm.run, params())
    assert (
        str(caught.value) == f"Node 'ask': {openai_server.base_url} is down or unreachable (HTTP 500) (tried 3 times)"
    )
    assert caught.value.retryable


def test_a_node_without_an_openai_credential_says_so(node_runner):
    with pytest.raises(NodeError, match="Node 'ask' needs a 'openai' credential"):
        node_runner(llm.run, params(), credential_ids={})


def test_an_opted_in_cache_answers_a_repeat_without_calling_the_model(openai_server, node_runner, redis_url):
    openai_server.queue(text_reply("Blue", "."), text_reply("Something else"))
    first = node_runner(llm.run, params(cache_ttl_s=60), redis_url=redis_url)
    second = node_runner(llm.run, params(cache_ttl_s=60), redis_url=redis_url)
    assert (first["text"], first["cached"]) == ("Blue.", False)
    assert (second["text"], second["cached"]) == ("Blue.", True)
    assert [event["text"] for event in node_runner.emitted("node_token")] == ["Blue", ".", "Blue."]
    assert len(openai_server.requests) == 1


def test_without_opting_in_every_run_calls_the_model(openai_server, node_runner, redis_url):
    openai_server.queue(text_reply("one"), text_reply("two"))
    outputs = [node_runner(llm.run, params(), redis_url=redis_url)["text"] for _ in range(2)]
    assert outputs == ["one", "two"]


def test_long_streams_pass_the_egress_guard_beyond_its_default_total_time(openai_server, node_runner):
    # The guard would cut any exchange at 0.3 s; the model takes about 0.6 s to stream its answer.
    port = int(openai_server.base_url.split(":")[2].split("/")[0])
    settings = Settings(ssrf_allowed_cidrs=["127.0.0.0/8"], egress_allowed_ports=[port], egress_timeout_s=0.3)
    openai_server.queue(text_reply("a", "b", "c", "d", token_delay_s=0.1))

    async def guarded_run(run_params, ctx):
        async with egress_client(settings) as http:
            ctx.services.http = http
            return await llm.run(run_params, ctx)

    assert node_runner(guarded_run, params())["text"] == "abcd"


def test_the_egress_guard_still_refuses_loopback_by_default(openai_server, node_runner):
    async def guarded_run(run_params, ctx):
        async with egress_client(Settings()) as http:
            ctx.services.http = http
            return await llm.run(run_params, ctx)

    with pytest.raises(EgressBlocked):
        node_runner(guarded_run, params())
    assert openai_server.requests == []
