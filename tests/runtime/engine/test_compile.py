"""Compile-time problems, agent tools and sub-workflows through the real engine."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from runtime.engine import compile_workflow
from runtime.errors import WorkflowInvalid
from runtime.graph.schema import WorkflowDocument
from runtime.nodes import set_node
from tests.runtime.engine.helpers import TEST_REGISTRY, document, edge, execute, node

TRIGGER = node("start", "manual_trigger")


def problems(raw: dict[str, Any]) -> list[tuple[str | None, str]]:
    with pytest.raises(WorkflowInvalid) as caught:
        compile_workflow(WorkflowDocument.model_validate(raw), TEST_REGISTRY)
    return [(issue.node_id, issue.code) for issue in caught.value.issues]


def test_every_problem_is_reported_at_once_by_node_id():
    raw = document(
        [
            TRIGGER,
            node("no_back", "loop", params={"items": "{{ [1] }}"}),
            node("a", "set"),
            node("far_back", "loop", params={"items": "{{ [1] }}"}),
            node("b", "set"),
            node("c", "set"),
            node("tool", "set"),
            node("agent", "call_tools"),
            node("typo", "sett"),
        ],
        [
            edge("e1", "start", "no_back"),
            edge("e2", "no_back", "a", source_handle="item"),
            edge("e3", "start", "far_back"),
            edge("e4", "far_back", "b", source_handle="item"),
            edge("e5", "start", "c"),
            edge("e6", "c", "far_back", target_handle="back"),
            edge("e7", "tool", "agent", target_handle="tools"),
            edge("e8", "tool", "c"),
            edge("e9", "start", "agent"),
        ],
    )
    assert sorted(problems(raw), key=str) == sorted(
        [
            ("typo", "unknown_type"),
            ("no_back", "loop_without_back"),
            ("far_back", "back_not_in_loop"),
            ("tool", "tool_in_flow"),
        ],
        key=str,
    )


def test_a_node_in_two_loops_and_a_branch_wired_from_outside_are_refused():
    raw = document(
        [
            TRIGGER,
            node("one", "loop", params={"items": "{{ [1] }}"}),
            node("two", "loop", params={"items": "{{ [2] }}"}),
            node("shared", "set"),
            node("inside", "set"),
        ],
        [
            edge("e1", "start", "one"),
            edge("e2", "start", "two"),
            edge("e3", "one", "shared", source_handle="item"),
            edge("e4", "two", "shared", source_handle="item"),
            edge("e5", "shared", "one", target_handle="back"),
            edge("e6", "shared", "two", target_handle="back"),
            edge("e7", "one", "inside", source_handle="item"),
            edge("e8", "start", "inside"),
            edge("e9", "inside", "one", target_handle="back"),
        ],
    )
    assert problems(raw) == [("shared", "in_two_loops"), ("inside", "wired_into_loop")]


def test_a_branch_that_returns_through_the_loops_in_input_is_a_cycle():
    raw = document(
        [TRIGGER, node("each", "loop", params={"items": "{{ [1] }}"}), node("a", "set")],
        [
            edge("e1", "start", "each"),
            edge("e2", "each", "a", source_handle="item"),
            edge("e3", "a", "each"),
        ],
    )
    assert ("each", "loop_cycle") in problems(raw)


def test_a_tool_node_is_not_run_by_the_flow_but_offered_to_the_agent_as_a_tool():
    raw = document(
        [
            TRIGGER,
            node("agent", "call_tools", params={"calls": [{"fields": {"twice": "{{ input.n * 2 }}"}}, {}]}),
            node("lookup", "set", title="Look up", params={"fields": {"found": "yes"}}),
        ],
        [edge("e1", "start", "agent"), edge("e2", "lookup", "agent", target_handle="tools")],
    )
    run = execute(raw, {"n": 21})
    assert run.outcome.status == "succeeded"
    tool = run.outcome.output["tools"][0]
    assert tool["name"] == "lookup"
    assert tool["description"] == f"Look up: {set_node.NODE.description}"
    assert tool["parameters"]["properties"] == set_node.Params.model_json_schema()["properties"]
    assert "fields" not in tool["parameters"].get("required", [])
    # The model's arguments replace the node's params; with none, the node's own params apply.
    assert run.outcome.output["results"] == [{"twice": 42}, {"found": "yes"}]
    assert run.kinds("lookup") == ["node_started", "node_finished"] * 2
    assert run.skipped() == []


def test_an_unused_tool_is_not_reported_skipped():
    raw = document(
        [TRIGGER, node("agent", "call_tools"), node("lookup", "set")],
        [edge("e1", "start", "agent"), edge("e2", "lookup", "agent", target_handle="tools")],
    )
    run = execute(raw, {})
    assert run.kinds("lookup") == [] and run.skipped() == []


def test_a_sub_workflow_runs_through_the_services_on_its_input_or_the_nodes_input():
    calls = []

    async def run_workflow(workflow_id: str, data: Any) -> Any:
        calls.append((workflow_id, data))
        return {"from": workflow_id, "at": dt.date(2024, 5, 1)}

    raw = document(
        [
            TRIGGER,
            node("given", "sub_workflow", params={"workflow_id": "wf_a", "input": "{{ {'n': trigger.body.n + 1} }}"}),
            node("passed", "sub_workflow", params={"workflow_id": "wf_b"}),
        ],
        [edge("e1", "start", "given"), edge("e2", "given", "passed")],
    )
    run = execute(raw, {"n": 1}, run_workflow=run_workflow)
    assert calls == [("wf_a", {"n": 2}), ("wf_b", {"from": "wf_a", "at": dt.date(2024, 5, 1)})]
    # Values that are not JSON reach events and the result as text.
    assert run.of("given")[-1][1]["output"] == {"from": "wf_a", "at": "2024-05-01"}
    assert run.outcome.output == {"from": "wf_b", "at": "2024-05-01"}


def test_a_tool_called_with_arguments_its_params_refuse_fails_in_words_the_model_can_act_on():
    raw = document(
        [TRIGGER, node("agent", "call_tools", params={"calls": [{"fields": 5}]}), node("lookup", "set")],
        [edge("e1", "start", "agent"), edge("e2", "lookup", "agent", target_handle="tools")],
    )
    run = execute(raw, {})
    assert run.outcome.error["node_id"] == "agent"
    assert run.outcome.error["message"].startswith("Tool 'lookup' got invalid arguments: fields: ")
    assert run.kinds("lookup") == []
