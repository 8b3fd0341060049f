"""The trigger, data and flow nodes run in a real NodeContext: outputs, routed handles, errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from runtime.errors import NodeError
from runtime.nodes import if_node, manual_trigger, merge, output, set_node, switch_node, template, webhook_trigger
from runtime.nodes.spec import Routed
from tests.runtime.nodes.factory import make_context

BODY = {"name": "Ada", "amount": 250, "items": [1, 2, 3], "kind": "refund", "level": 1}


def run(module: Any, params: dict[str, Any], **context: Any) -> Any:
    """The node's output for these raw params, in a context with `BODY` as the trigger body."""
    context.setdefault("trigger", {"body": BODY, "headers": {"x-id": "7"}, "query": {"page": "2"}})
    return asyncio.run(module.run(module.Params.model_validate(params), make_context(**context)))


def fails(module: Any, params: dict[str, Any], **context: Any) -> NodeError:
    with pytest.raises(NodeError) as raised:
        run(module, params, **context)
    assert raised.value.retryable is False
    return raised.value


# --- triggers ----------------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "amount": {"type": "integer", "minimum": 0}},
    "required": ["name", "amount"],
}


def test_manual_trigger_outputs_the_run_input():
    assert run(manual_trigger, {}) == BODY
    assert run(manual_trigger, {}, trigger={"body": [1, "two"]}) == [1, "two"]


def test_manual_trigger_accepts_input_matching_its_schema():
    assert run(manual_trigger, {"input_schema": SCHEMA}) == BODY


def test_manual_trigger_refuses_input_breaking_its_schema_listing_every_problem():
    error = fails(manual_trigger, {"input_schema": SCHEMA}, node_id="start", trigger={"body": {"amount": -5}})
    message = str(error)
    assert message.startswith("node 'start': the run input does not match its input schema")
    assert "at $: 'name' is a required property" in message
    assert "at $.amount: -5 is less than the minimum of 0" in message


def test_manual_trigger_reports_an_invalid_schema():
    error = fails(manual_trigger, {"input_schema": {"type": "no-such-type"}})
    assert "the input schema itself is invalid" in str(error)


def test_input_problems_is_empty_for_matching_input():
    assert manual_trigger.input_problems(SCHEMA, {"name": "x", "amount": 1}) == []
    assert manual_trigger.input_problems(SCHEMA, "text") == ["at $: 'text' is not of type 'object'"]


def test_webhook_trigger_outputs_body_headers_and_query():
    assert run(webhook_trigger, {}) == {"body": BODY, "headers": {"x-id": "7"}, "query": {"page": "2"}}


# --- set, template, output ----------------------------------------------------------------------


def test_set_builds_an_object_of_native_values():
    params = {
        "fields": {
            "who": "{{ trigger.body.name }}",
            "double": "{{ trigger.body.amount * 2 }}",
            "items": "{{ trigger.body.items }}",
            "greeting": "Hello {{ trigger.body.name }}",
            "constant": "fixed",
        }
    }
    assert run(set_node, params) == {
        "who": "Ada",
        "double": 500,
        "items": [1, 2, 3],
        "greeting": "Hello Ada",
        "constant": "fixed",
    }


def test_set_reads_earlier_node_outputs():
    params = {"fields": {"answer": "{{ nodes.summary.output.text }}"}}
    assert run(set_node, params, outputs={"summary": {"text": "Blue."}}) == {"answer": "Blue."}


def test_set_names_node_and_field_when_an_expression_fails():
    error = fails(set_node, {"fields": {"ok": "{{ 1 }}", "total": "{{ trigger.body.price * 2 }}"}}, node_id="calc")
    assert str(error).startswith("node 'calc', param 'fields.total': Expression")
    assert "has no attribute 'price'" in str(error)


def test_template_renders_text():
    params = {"template": "{% for i in trigger.body.items %}{{ i }};{% endfor %} {{ trigger.body.amount }}"}
    assert run(template, params) == "1;2;3; 250"


def test_template_output_is_always_a_string():
    assert run(template, {"template": "{{ trigger.body.items }}"}) == "[1, 2, 3]"


def test_template_data_containing_expressions_stays_literal():
    trigger = {"body": {"comment": "{{ 7*7 }}"}}
    assert run(template, {"template": "Said: {{ trigger.body.comment }}"}, trigger=trigger) == "Said: {{ 7*7 }}"


def test_template_names_node_and_param_when_rendering_fails():
    error = fails(template, {"template": "{{ ''.__class__ }}"}, node_id="mail")
    assert str(error).startswith("node 'mail', param 'template': Expression")
    assert "not allowed" in str(error)


def test_output_without_a_value_passes_its_input_on():
    assert run(output, {}, inputs={"set": {"answer": 42}}) == {"answer": 42}
    assert run(output, {"value": "  "}, inputs={"set": [1]}) == [1]


def test_output_evaluates_its_value_natively():
    assert run(output, {"value": "{{ nodes.set.output.answer + 1 }}"}, outputs={"set": {"answer": 41}}) == 42
    assert run(output, {"value": "{{ input }}"}, inputs={"set": {"a": 1}}) == {"a": 1}


def test_output_names_node_and_param_when_its_value_fails():
    error = fails(output, {"value": "{{ result }}"}, node_id="out")
    assert str(error) == "node 'out', param 'value': Expression '{{ result }}' failed: 'result' is undefined"


# --- if and switch ------------------------------------------------------------------------------


def test_if_routes_to_true_or_false_and_passes_the_input_unchanged():
    inputs = {"fetch": {"status": 200}}
    assert run(if_node, {"condition": "{{ trigger.body.amount > 100 }}"}, inputs=inputs) == Routed(
        output={"status": 200}, handles=("true",)
    )
    assert run(if_node, {"condition": "{{ trigger.body.amount > 1000 }}"}, inputs=inputs) == Routed(
        output={"status": 200}, handles=("false",)
    )


@pytest.mark.parametrize(
    ("condition", "handle"),
    [
        ("false", "false"),
        ("FALSE", "false"),
        ("0", "false"),
        (" no ", "false"),
        ("None", "false"),
        ("{{ '' }}", "false"),
        ("{{ trigger.body.amount > 1000 }} ", "false"),
        ("{{ [] }}", "false"),
        ("{{ 0 }}", "false"),
        ("{{ trigger.body.missing is defined }}", "false"),
        ("yes", "true"),
        ("{{ trigger.body.items }}", "true"),
        ("{{ trigger.body.name }}", "true"),
        ("True", "true"),
    ],
)
def test_if_counts_false_looking_texts_as_false(condition, handle):
    assert run(if_node, {"condition": condition}).handles == (handle,)


def test_if_without_inputs_passes_the_trigger_body_on():
    assert run(if_node, {"condition": "true"}).output == BODY


def test_if_names_node_and_param_when_the_condition_fails():
    error = fails(if_node, {"condition": "{{ trigger.body.amount > }}"}, node_id="check")
    assert str(error).startswith("node 'check', param 'condition': Expression")
    assert "syntax error" in str(error)


def switch_params(value: str) -> dict[str, Any]:
    cases = [
        {"name": "order", "equals": "order"},
        {"name": "refund", "equals": "refund"},
        {"name": "first", "equals": 1},
        {"name": "yes", "equals": True},
        {"name": "nothing", "equals": None},
        {"name": "again", "equals": "refund"},
    ]
    return {"value": value, "cases": cases}


@pytest.mark.parametrize(
    ("value", "handle"),
    [
        ("{{ trigger.body.kind }}", "refund"),
        ("refund", "refund"),
        ("{{ trigger.body.level }}", "first"),
        ("1", "first"),
        ("{{ 1.0 }}", "first"),
        ("{{ true }}", "yes"),
        ("true", "yes"),
        ("{{ none }}", "nothing"),
        ("{{ trigger.body.name }}", "default"),
        ("{{ 2 }}", "default"),
    ],
)
def test_switch_routes_to_the_first_matching_case_else_default(value, handle):
    result = run(switch_node, switch_params(value), inputs={"prev": "payload"})
    assert result == Routed(output="payload", handles=(handle,))


def test_switch_never_confuses_true_with_one():
    params = {"value": "{{ true }}", "cases": [{"name": "one", "equals": 1}]}
    assert run(switch_node, params).handles == ("default",)


def test_switch_names_node_and_param_when_the_value_fails():
    error = fails(switch_node, switch_params("{{ nope }}"), node_id="route")
    assert str(error) == "node 'route', param 'value': Expression '{{ nope }}' failed: 'nope' is undefined"


# --- merge ---------------------------------------------------------------------------------------


def test_merge_object_keys_outputs_by_source_node():
    inputs = {"a": {"x": 1}, "b": [2]}
    assert run(merge, {}, inputs=inputs) == {"a": {"x": 1}, "b": [2]}
    assert run(merge, {"mode": "object"}, inputs=inputs) == {"a": {"x": 1}, "b": [2]}


def test_merge_list_keeps_wire_order():
    assert run(merge, {"mode": "list"}, inputs={"b": "second", "a": "first"}) == ["second", "first"]


def test_merge_leaves_out_skipped_branches():
    assert run(merge, {"mode": "list"}, inputs={"a": 1}) == [1]
    assert run(merge, {}, inputs={}) == {}
