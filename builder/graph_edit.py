"""Edits of a workflow document as the canvas makes them: pure functions from document to document.

The editor keeps the document as a plain dict (params may be half-typed and invalid while the user
works); every function here returns a new dict and leaves its argument untouched.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from builder.graph_adapter import NOTE_PREFIX, node_handles
from runtime.graph.validate import NODE_ID_PATTERN
from runtime.nodes import REGISTRY


class EditRefused(ValueError):
    """An edit the graph rules forbid; the message is the hint shown to the user."""


def ids_of(items: Iterable[dict[str, Any]]) -> set[str]:
    """The `id` of every item (node, edge or note), as strings."""
    return {str(item.get("id")) for item in items}


def unique_id(base: str, taken: set[str]) -> str:
    """`base` made a valid node id, with `_2`, `_3`, ... appended until no id in `taken` has it."""
    slug = re.sub(r"[^a-z0-9_]+", "_", base.lower()).strip("_") or "node"
    slug = slug if slug[0].isalpha() else f"n_{slug}"
    slug = slug[:56]
    candidate, number = slug, 2
    while candidate in taken:
        candidate, number = f"{slug}_{number}", number + 1
    return candidate


def add_node(document: dict[str, Any], node_type: str, x: float, y: float) -> tuple[dict[str, Any], str]:
    """The document with a new node of the newest version of `node_type` at (x, y), and its id."""
    versions = REGISTRY.versions(node_type)
    if not versions:
        raise EditRefused(f"Unknown node type {node_type!r}.")
    declaration = REGISTRY.get(node_type, versions[-1])
    assert declaration is not None
    doc = copy.deepcopy(document)
    if declaration.single_per_workflow and any(n.get("type") == node_type for n in doc["nodes"]):
        raise EditRefused(f"A workflow may have only one {declaration.title} node.")
    node_id = unique_id(node_type, ids_of(doc["nodes"]))
    doc["nodes"].append(
        {"id": node_id, "type": node_type, "type_version": declaration.version, "title": declaration.title,
         "params": {}, "credentials": {}, "position": {"x": x, "y": y}}
    )  # fmt: skip
    return doc, node_id


def _reaches(document: dict[str, Any], start: str, goal: str) -> bool:
    successors: dict[str, list[str]] = {}
    for edge in document["edges"]:
        successors.setdefault(edge["source"], []).append(edge["target"])
    seen, todo = set(), [start]
    while todo:
        current = todo.pop()
        if current == goal:
            return True
        if current not in seen:
            seen.add(current)
            todo.extend(successors.get(current, []))
    return False


def check_connection(
    document: dict[str, Any], source: str, source_handle: str, target: str, target_handle: str
) -> None:
    """Raise `EditRefused` with a hint when the node types forbid this wire."""
    nodes = {n["id"]: n for n in document["nodes"]}
    if source not in nodes or target not in nodes:
        raise EditRefused("Both ends of a wire must be nodes of this workflow.")
    source_node, target_node = nodes[source], nodes[target]
    target_type = REGISTRY.get(target_node["type"], target_node.get("type_version", 0))
    if target_type is not None and target_type.is_trigger:
        raise EditRefused(f"{target!r} is a trigger: it starts the workflow and takes no input.")
    outputs = node_handles(source_node)[1]
    if source_handle not in outputs:
        raise EditRefused(f"{source!r} has no output {source_handle!r}; its outputs: {', '.join(outputs) or 'none'}.")
    inputs = node_handles(target_node)[0]
    if target_handle not in inputs:
        raise EditRefused(f"{target!r} has no input {target_handle!r}; its inputs: {', '.join(inputs) or 'none'}.")
    looping = {n["id"] for n in document["nodes"] if _may_loop(n)}
    if (source == target or _reaches(document, target, source)) and not ({source, target} & looping):
        raise EditRefused(f"Wiring {source!r} to {target!r} would make a cycle; cycles must pass through a loop node.")
    for edge in document["edges"]:
        wire = (edge["source"], edge.get("source_handle"), edge["target"], edge.get("target_handle"))
        if wire == (source, source_handle, target, target_handle):
            raise EditRefused("These handles are already wired.")


def _may_loop(node: dict[str, Any]) -> bool:
    node_type = REGISTRY.get(node.get("type", ""), node.get("type_version", 0))
    return node_type is not None and node_type.may_loop


def connect(document: dict[str, Any], source: str, source_handle: str, target: str, target_handle: str) -> dict:
    """The document with a new wire, or `EditRefused` naming why the wire is not allowed."""
    check_connection(document, source, source_handle, target, target_handle)
    doc = copy.deepcopy(document)
    edge_id = unique_id("e", ids_of(doc["edges"]) | {"e"})
    doc["edges"].append(
        {"id": edge_id, "source": source, "source_handle": source_handle, "target": target,
         "target_handle": target_handle}
    )  # fmt: skip
    return doc


def delete_items(document: dict[str, Any], canvas_ids: Iterable[str], edge_ids: Iterable[str] = ()) -> dict:
    """The document without these nodes and notes (canvas ids), these edges and every wire to a removed node."""
    gone = set(canvas_ids)
    cut = set(edge_ids)
    doc = copy.deepcopy(document)
    doc["nodes"] = [n for n in doc["nodes"] if n["id"] not in gone]
    doc["notes"] = [n for n in doc.get("notes", []) if NOTE_PREFIX + n["id"] not in gone]
    doc["edges"] = [
        e for e in doc["edges"] if e["id"] not in cut and e["source"] not in gone and e["target"] not in gone
    ]
    return doc


def move_items(document: dict[str, Any], moves: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The document with nodes and notes (by canvas id) at their new positions."""
    where = {str(m["id"]): {"x": float(m["x"]), "y": float(m["y"])} for m in moves}
    doc = copy.deepcopy(document)
    for node in doc["nodes"]:
        node["position"] = where.get(node["id"], node["position"])
    for note in doc.get("notes", []):
        note["position"] = where.get(NOTE_PREFIX + note["id"], note["position"])
    return doc


def rewrite_strings(value: Any, pattern: re.Pattern[str], replacement: str) -> Any:
    """`value` with `pattern` replaced in every string inside it (lists and dicts are walked)."""
    if isinstance(value, str):
        return pattern.sub(replacement, value)
    if isinstance(value, list):
        return [rewrite_strings(item, pattern, replacement) for item in value]
    if isinstance(value, dict):
        return {key: rewrite_strings(item, pattern, replacement) for key, item in value.items()}
    return value


def reference_pattern(node_id: str) -> re.Pattern[str]:
    """Matches `nodes.<node_id>` in an expression, but not `nodes.<node_id>_more`."""
    return re.compile(rf"\bnodes\.{re.escape(node_id)}\b")


def rename_node(document: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """The document with node `old` called `new`: its edges and every `nodes.<old>` expression follow."""
    if old == new:
        return document
    if not NODE_ID_PATTERN.match(new):
        raise EditRefused(
            f"{new!r} is not a node id: start with a lowercase letter, then lowercase letters, digits or _."
        )
    if new in ids_of(document["nodes"]):
        raise EditRefused(f"Another node already has the id {new!r}.")
    pattern = reference_pattern(old)
    doc = copy.deepcopy(document)
    for node in doc["nodes"]:
        if node["id"] == old:
            node["id"] = new
        node["params"] = rewrite_strings(node.get("params", {}), pattern, f"nodes.{new}")
    for edge in doc["edges"]:
        edge["source"] = new if edge["source"] == old else edge["source"]
        edge["target"] = new if edge["target"] == old else edge["target"]
    return doc


def update_node(document: dict[str, Any], node_id: str, **fields: Any) -> dict[str, Any]:
    """The document with these top-level fields (title, params, credentials, ...) of one node replaced."""
    doc = copy.deepcopy(document)
    for node in doc["nodes"]:
        if node["id"] == node_id:
            node.update(copy.deepcopy(fields))
    return doc


def add_note(document: dict[str, Any], x: float, y: float, text: str = "") -> tuple[dict[str, Any], str]:
    """The document with a new sticky note at (x, y), and the note's canvas id."""
    doc = copy.deepcopy(document)
    notes = doc.setdefault("notes", [])
    note_id = unique_id("note", ids_of(notes))
    notes.append({"id": note_id, "text": text, "position": {"x": x, "y": y}, "width": 220, "height": 120})
    return doc, NOTE_PREFIX + note_id


def set_note_text(document: dict[str, Any], canvas_id: str, text: str) -> dict[str, Any]:
    """The document with the text of one sticky note replaced."""
    doc = copy.deepcopy(document)
    for note in doc.get("notes", []):
        if NOTE_PREFIX + note["id"] == canvas_id:
            note["text"] = text
    return doc
