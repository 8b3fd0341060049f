"""The only converter between a workflow document and React Flow's node and edge dicts."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from runtime.errors import Issue
from runtime.nodes import REGISTRY

NOTE_PREFIX = "note:"
"""Canvas ids of sticky notes carry this prefix, so they never clash with node ids."""


def node_handles(node: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The input and output handles a document node shows; unknown types get `in` and `out`."""
    node_type = REGISTRY.get(str(node.get("type")), node.get("type_version") or 0)
    if node_type is None:
        return ["in"], ["out"]
    try:
        outputs = list(node_type.output_handles(node.get("params") or {}))
    except ValidationError:
        outputs = list(node_type.outputs)
    return list(node_type.inputs), outputs


def issues_by_node(issues: list[Issue]) -> dict[str, list[str]]:
    """Validation messages grouped by the node they concern ("" for the document itself)."""
    grouped: dict[str, list[str]] = {}
    for issue in issues:
        grouped.setdefault(issue.node_id or "", []).append(f"{issue.field}: {issue.message}")
    return grouped


def flow_nodes(document: dict[str, Any], issues: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """React Flow nodes for the document's nodes and sticky notes."""
    issues = issues or {}
    nodes = []
    for node in document.get("nodes", []):
        inputs, outputs = node_handles(node)
        nodes.append(
            {
                "id": node["id"],
                "type": "status",
                "position": dict(node.get("position") or {"x": 0, "y": 0}),
                "data": {
                    "title": node.get("title") or "",
                    "type": node.get("type"),
                    "inputs": inputs,
                    "outputs": outputs,
                    "issues": issues.get(node["id"], []),
                },
            }
        )
    for note in document.get("notes", []):
        nodes.append(
            {
                "id": NOTE_PREFIX + note["id"],
                "type": "note",
                "position": dict(note["position"]),
                "data": {"text": note.get("text", ""), "width": note.get("width"), "height": note.get("height")},
                "zIndex": -1,
            }
        )
    return nodes


def flow_edges(document: dict[str, Any]) -> list[dict[str, Any]]:
    """React Flow edges for the document's edges, handles included."""
    return [
        {
            "id": edge["id"],
            "source": edge["source"],
            "target": edge["target"],
            "sourceHandle": edge.get("source_handle", "out"),
            "targetHandle": edge.get("target_handle", "in"),
        }
        for edge in document.get("edges", [])
    ]
