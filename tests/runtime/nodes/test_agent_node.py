"""The `agent` node end to end: the model calls wired tools through the real `openai` client until it answers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime.errors import NodeError
from runtime.nodes import agent
from runtime.nodes.context import Tool
from tests.openai_server import text_reply, tool_reply

WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def params(**values: Any) -> agent.Params:
    return agent.Params(**({"model": "gpt-4o-mini", "prompt": "What should I wear in Paris?"} | values))


def weather_tool(calls: list[dict[str, Any]], *, fails: bool = False, keys: list[Any] | None = None) -> Tool:
    """A tool that records the arguments (and call keys) it is called with and answers with a forecast."""

    async def call(arguments: dict[str, Any], call_key: str | None = None) -> Any:
        calls.append(arguments)
        if keys is not None:
            keys.append(call_key)
        if fails:
            raise NodeError("Node 'weather': https://weather.example answered HTTP 503")
        return {"city": arguments["city"], "forecast": "rain", "celsius": 11}

    return Tool("weather", "Today's forecast for a city.", WEATHER_SCHEMA, call)


def test_the_agent_calls_a_tool_feeds_back_the_result_then_answers(openai_server, node_runner):
    calls: list[dict[str, Any]] = []
    openai_server.queue(
        tool_reply(("weather", {"city": "Paris"}), usage=(20, 5)),
        text_reply("Take", " an umbrella.", usage=(40, 4)),
    )
    output = node_runner(agent.run, params(instructions="Be brief."), tools=(weather_tool(calls),))

    assert calls == [{"city": "Paris"}]
    forecast = {"city": "Paris", "forecast": "rain", "celsius": 11}
    assert output == {
        "text": "Take an umbrella.",
        "steps": [{"tool": "weather", "arguments": {"city": "Paris"}, "result": forecast}],
        "usage": {"prompt_tokens": 60, "completion_tokens": 9},
    }
    assert node_runner.emitted("tool_call") == [{"tool": "weather", "arguments": {"city": "Paris"}}]
    assert node_runner.emitted("tool_result") == [{"tool": "weather", "result": forecast}]
    assert [event["text"] for event in node_runner.emitted("node_token")] == ["Take", " an umbrella."]

    first, second = (request.body for request in openai_server.requests)
    assert first["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "Today's forecast for a city.",
                "parameters": WEATHER_SCHEMA,
            },
        }
    ]
    assert first["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What should I wear in Paris?"},
    ]
    call_message, result_message = second["messages"][2:]
    assert call_message["tool_calls"][0]["function"] == {"name": "weather", "arguments": '{"city": "Paris"}'}
    assert result_message == {"role": "tool", "tool_call_id": "call_0", "content": json.dumps(forecast)}


def test_each_model_turn_has_its_own_stable_idempotency_key(openai_server, node_runner):
    openai_server.queue(tool_reply(("weather", {"city": "Oslo"})), text_reply("Wear a coat."))
    node_runner(agent.run, params(), run_id="run-9", node_id="planner", tools=(weather_tool([]),))
    keys = [request.headers["idempotency-key"] for request in openai_server.requests]
    assert keys == ["run-9:planner:turn1", "run-9:planner:turn2"]


def test_each_tool_call_has_its_own_key_the_same_on_every_run_of_the_agent(openai_server, node_runner):
    keys: list[Any] = []
    for _ in range(2):  # the agent node runs twice (a retry, or a run resumed after a crash)
        openai_server.queue(
            tool_reply(("weather", {"city": "Oslo"}), ("weather", {"city": "Bergen"})),
            tool_reply(("weather", {"city": "Oslo"})),
            text_reply("Wear a coat."),
        )
        node_runner(agent.run, params(), run_id="run-9", node_id="planner", tools=(weather_tool([], keys=keys),))

    assert keys == ["planner.call1", "planner.call2", "planner.call3"] * 2


def test_an_unknown_tool_goes_back_to_the_model_as_an_error(openai_server, node_runner):
    calls: list[dict[str, Any]] = []
    openai_server.queue(tool_reply(("stock_price", {"ticker": "ACME"})), text_reply("I cannot check stocks."))
    output = node_runner(agent.run, params(), tools=(weather_tool(calls),))

    assert output["text"] == "I cannot check stocks."
    error = "there is no tool named 'stock_price'; the tools are: weather"
    assert output["steps"] == [{"tool": "stock_price", "arguments": {"ticker": "ACME"}, "error": error}]
    assert node_runner.emitted("tool_result") == [{"tool": "stock_price", "error": error}]
    assert openai_server.requests[1].body["messages"][-1]["content"] == f"Error: {error}"
    assert calls == []


def test_arguments_that_are_not_a_json_object_go_back_to_the_model(openai_server, node_runner):
    calls: list[dict[str, Any]] = []
    openai_server.queue(tool_reply(("weather", '{"city": "Par')), text_reply("Sorry."))
    output = node_runner(agent.run, params(), tools=(weather_tool(calls),))

    assert output["steps"][0]["error"] == 'the arguments must be a JSON object, got \'{"city": "Par\''
    assert node_runner.emitted("tool_call") == [{"tool": "weather", "arguments": '{"city": "Par'}]
    assert calls == []


def test_a_failing_tool_goes_back_to_the_model_which_can_still_answer(openai_server, node_runner):
    openai_server.queue(tool_reply(("weather", {"city": "Rome"})), text_reply("The forecast is unavailable."))
    output = node_runner(agent.run, params(), tools=(weather_tool([], fails=True),))

    assert output["text"] == "The forecast is unavailable."
    assert output["steps"][0]["error"] == "Node 'weather': https://weather.example answered HTTP 503"
    assert openai_server.requests[1].body["messages"][-1]["content"].startswith("Error: Node 'weather'")


def test_an_agent_that_never_stops_calling_tools_fails_after_max_iterations(openai_server, node_runner):
    calls: list[dict[str, Any]] = []
    openai_server.always(tool_reply(("weather", {"city": "Paris"})))
    with pytest.raises(NodeError) as caught:
        node_runner(agent.run, params(max_iterations=3), tools=(weather_tool(calls),))

    assert str(caught.value).startswith("Node 'ask': the agent did not finish in 3 steps (max_iterations)")
    assert len(openai_server.requests) == 3
    assert len(calls) == 2  # the last turn's tool calls are not run: nothing could use their results


def test_an_agent_without_tools_just_answers(openai_server, node_runner):
    openai_server.queue(text_reply("A light jacket.", usage=(9, 3)))
    output = node_runner(agent.run, params())
    assert output == {"text": "A light jacket.", "steps": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}}
    assert "tools" not in openai_server.requests[0].body


def test_several_tool_calls_in_one_turn_all_run_in_order(openai_server, node_runner):
    calls: list[dict[str, Any]] = []
    openai_server.queue(
        tool_reply(("weather", {"city": "Paris"}), ("weather", {"city": "Lyon"})), text_reply("Both wet.")
    )
    output = node_runner(agent.run, params(), tools=(weather_tool(calls),))
    assert calls == [{"city": "Paris"}, {"city": "Lyon"}]
    tool_messages = [m for m in openai_server.requests[1].body["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == ["call_0", "call_1"]
    assert output["text"] == "Both wet."
