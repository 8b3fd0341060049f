"""A node's parameter form, generated from its Params JSON Schema: the only place that picks widgets.

`form_fields` turns the schema into plain field descriptors the page renders with one `rx.match`;
`parse_value` turns what the user typed back into the JSON value stored in the node's params.
"""

from __future__ import annotations

import json
from typing import Any

from runtime.graph.validate import NODE_ID_PATTERN

FieldKind = str  # "text" | "textarea" | "expression" | "number" | "integer" | "boolean" | "enum" | "json"


class FieldValueError(ValueError):
    """What the user typed does not fit the field; the message says why."""


def _non_null(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The schema without an `anyOf [..., null]` wrapper, and whether null is allowed."""
    options = schema.get("anyOf")
    if not options:
        return schema, False
    others = [option for option in options if option.get("type") != "null"]
    merged = {**schema, **others[0]} if len(others) == 1 else {**schema, "type": None}
    merged.pop("anyOf", None)
    return merged, len(others) < len(options)


def field_kind(schema: dict[str, Any]) -> FieldKind:
    """Which widget a property's schema gets."""
    inner, _ = _non_null(schema)
    kind = inner.get("type")
    if "enum" in inner:
        return "enum"
    if kind == "boolean":
        return "boolean"
    if kind in ("number", "integer"):
        return str(kind)
    if kind == "string":
        if inner.get("widget") == "code":
            return "expression"
        return "textarea" if inner.get("widget") == "textarea" else "text"
    return "json"


def _display(value: Any, kind: FieldKind) -> str:
    if value is None:
        return ""
    if kind == "json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    if kind == "boolean":
        return "true" if value else "false"
    return str(value)


def form_fields(params_schema: dict[str, Any], params: dict[str, Any]) -> list[dict[str, Any]]:
    """One descriptor per parameter: name, label, kind, help, options, whether it is required and set,
    and the value to show (the user's value, else the default) as text."""
    required = set(params_schema.get("required", []))
    fields = []
    for name, schema in params_schema.get("properties", {}).items():
        kind = field_kind(schema)
        inner, _ = _non_null(schema)
        shown = params.get(name, schema.get("default"))
        fields.append(
            {
                "name": name,
                "label": schema.get("title", name),
                "kind": kind,
                "help": schema.get("description", ""),
                "options": [str(option) for option in inner.get("enum", [])],
                "required": name in required,
                "is_set": name in params,
                "value": _display(shown, kind),
            }
        )
    return fields


def parse_value(params_schema: dict[str, Any], name: str, text: str) -> tuple[bool, Any]:
    """`(keep, value)` for what the user typed into field `name`: `keep` is False when the field was
    cleared, so the node falls back to the type's default. Raises `FieldValueError` on bad input."""
    schema = params_schema.get("properties", {}).get(name)
    if schema is None:
        raise FieldValueError(f"This node type has no parameter {name!r}.")
    kind = field_kind(schema)
    if text.strip() == "" and kind != "textarea":
        return False, None
    if kind == "integer":
        try:
            return True, int(text)
        except ValueError:
            raise FieldValueError(f"{text!r} is not a whole number.") from None
    if kind == "number":
        try:
            return True, float(text)
        except ValueError:
            raise FieldValueError(f"{text!r} is not a number.") from None
    if kind == "boolean":
        return True, text == "true"
    if kind == "json":
        try:
            return True, json.loads(text)
        except ValueError as error:
            raise FieldValueError(f"Not valid JSON: {error}.") from None
    return True, text


def scope_references(document: dict[str, Any], node_id: str) -> list[str]:
    """The expressions the node can use: `trigger.*`, then `nodes.<id>.output` of every node upstream."""
    predecessors: dict[str, list[str]] = {}
    for edge in document["edges"]:
        predecessors.setdefault(edge["target"], []).append(edge["source"])
    seen: list[str] = []
    todo = list(predecessors.get(node_id, []))
    while todo:
        current = todo.pop(0)
        if current not in seen and current != node_id and NODE_ID_PATTERN.match(current):
            seen.append(current)
            todo.extend(predecessors.get(current, []))
    return ["trigger.body", "trigger.headers", "trigger.query"] + [f"nodes.{n}.output" for n in seen]
