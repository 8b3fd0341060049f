"""Builders for small workflow documents used across the graph tests."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from runtime.errors import Issue, WorkflowInvalid
from runtime.graph.validate import validate_document


def node(node_id: str, type: str, x: float = 0, **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type, "type_version": 1, "position": {"x": x, "y": 0}, **fields}


def edge(edge_id: str, source: str, target: str, **handles: str) -> dict[str, Any]:
    return {"id": edge_id, "source": source, "target": target, **handles}


def document(nodes: list[dict[str, Any]], edges: list[dict[str, Any]] | None = None, **fields: Any) -> dict:
    return {
        "format": "trellis.workflow",
        "format_version": 1,
        "name": "Test workflow",
        "nodes": nodes,
        "edges": edges or [],
        **fields,
    }


def chain(*nodes: dict[str, Any]) -> dict[str, Any]:
    """A document wiring the given nodes one after another through their default handles."""
    edges = [edge(f"e{i}", a["id"], b["id"]) for i, (a, b) in enumerate(pairwise(nodes), start=1)]
    return document(list(nodes), edges)


def issues_of(raw: Any) -> list[Issue]:
    with pytest.raises(WorkflowInvalid) as caught:
        validate_document(raw)
    return caught.value.issues


def single_issue(raw: Any, code: str) -> Issue:
    matching = [issue for issue in issues_of(raw) if issue.code == code]
    assert len(matching) == 1, f"expected one {code!r} issue, got {issues_of(raw)}"
    return matching[0]
