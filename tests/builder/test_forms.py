"""The node form generated from Params JSON Schemas, over the whole node library."""

from __future__ import annotations

import pytest

from builder.forms import FieldValueError, form_fields, parse_value, scope_references
from runtime.nodes import REGISTRY
from runtime.workflows import starter_document


def schema(node_type: str) -> dict:
    declaration = REGISTRY.get(node_type, 1)
    assert declaration is not None
    return declaration.params.model_json_schema()


def kinds(node_type: str) -> dict[str, str]:
    return {f["name"]: f["kind"] for f in form_fields(schema(node_type), {})}


def test_every_schema_shape_gets_a_widget() -> None:
    assert kinds("http_request")["method"] == "enum"
    assert kinds("http_request")["headers"] == "json"
    assert kinds("llm")["prompt"] == "textarea"
    assert kinds("llm")["model"] == "text"
    assert kinds("llm")["temperature"] == "number"
    assert kinds("llm")["max_tokens"] == "integer"
    assert kinds("llm")["json_mode"] == "boolean"
    assert kinds("if")["condition"] == "expression"
    for node_type in REGISTRY:
        assert all(f["label"] for f in form_fields(node_type.params.model_json_schema(), {}))


def test_fields_show_the_users_value_else_the_default() -> None:
    fields = {f["name"]: f for f in form_fields(schema("http_request"), {"url": "https://x"})}
    assert fields["url"]["value"] == "https://x" and fields["url"]["is_set"] and fields["url"]["required"]
    assert fields["method"]["value"] == "GET" and not fields["method"]["is_set"]
    assert fields["method"]["options"][:2] == ["GET", "POST"]


@pytest.mark.parametrize(
    ("node_type", "name", "text", "expected"),
    [
        ("llm", "temperature", "0.2", (True, 0.2)),
        ("llm", "max_tokens", "12", (True, 12)),
        ("llm", "json_mode", "true", (True, True)),
        ("llm", "max_tokens", "", (False, None)),
        ("set", "fields", '{"a": "{{ trigger.body }}"}', (True, {"a": "{{ trigger.body }}"})),
        ("llm", "system", "", (True, "")),
    ],
)
def test_parse_value_turns_text_into_json(node_type: str, name: str, text: str, expected: tuple) -> None:
    assert parse_value(schema(node_type), name, text) == expected


@pytest.mark.parametrize(
    ("node_type", "name", "text", "message"),
    [("llm", "max_tokens", "1.5", "whole number"), ("set", "fields", "{oops", "Not valid JSON"),
     ("llm", "nope", "x", "no parameter")],
)  # fmt: skip
def test_parse_value_says_what_is_wrong(node_type: str, name: str, text: str, message: str) -> None:
    with pytest.raises(FieldValueError, match=message):
        parse_value(schema(node_type), name, text)


def test_scope_lists_trigger_and_upstream_nodes_only() -> None:
    doc = starter_document("w")
    assert scope_references(doc, "result") == ["trigger.body", "trigger.headers", "trigger.query", "nodes.start.output"]
    assert scope_references(doc, "start") == ["trigger.body", "trigger.headers", "trigger.query"]
