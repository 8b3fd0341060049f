"""Reading what can be read of a document's nodes and edges, even when its shape is wrong.

The graph checks run on these parts so that a problem in one node's shape does not hide
problems elsewhere in the graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NodePart:
    """What could be read of `nodes[index]`; a field is None when it is missing or mistyped."""

    index: int
    id: str | None
    type: str | None
    version: int | None
    params: dict[str, Any] | None
    credentials: dict[str, Any] | None


@dataclass(frozen=True)
class EdgePart:
    """What could be read of `edges[index]`; a field is None when it is missing or mistyped."""

    index: int
    id: str | None
    source: str | None
    source_handle: str | None
    target: str | None
    target_handle: str | None


def _items(data: dict[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    items = data.get(key)
    if not isinstance(items, list):
        return []
    return [(index, item) for index, item in enumerate(items) if isinstance(item, dict)]


def text_or_none(value: Any) -> str | None:
    """`value` if it is a string, else None."""
    return value if isinstance(value, str) else None


def read_nodes(data: dict[str, Any]) -> list[NodePart]:
    """One NodePart per object in `data["nodes"]` (nothing when that is not a list)."""
    nodes = []
    for index, raw in _items(data, "nodes"):
        version = raw.get("type_version")
        params, credentials = raw.get("params", {}), raw.get("credentials", {})
        nodes.append(
            NodePart(
                index=index,
                id=text_or_none(raw.get("id")),
                type=text_or_none(raw.get("type")),
                version=version if isinstance(version, int) and not isinstance(version, bool) else None,
                params=params if isinstance(params, dict) else None,
                credentials=credentials if isinstance(credentials, dict) else None,
            )
        )
    return nodes


def read_edges(data: dict[str, Any]) -> list[EdgePart]:
    """One EdgePart per object in `data["edges"]` (nothing when that is not a list)."""
    return [
        EdgePart(
            index=index,
            id=text_or_none(raw.get("id")),
            source=text_or_none(raw.get("source")),
            source_handle=text_or_none(raw.get("source_handle", "out")),
            target=text_or_none(raw.get("target")),
            target_handle=text_or_none(raw.get("target_handle", "in")),
        )
        for index, raw in _items(data, "edges")
    ]
