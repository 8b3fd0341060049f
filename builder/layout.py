""" "Tidy up": a layered left-to-right layout of the graph, computed in Python."""

from __future__ import annotations

import copy
from typing import Any

LAYER_GAP_X = 280.0
ROW_GAP_Y = 120.0


def _layers(node_ids: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layer of every node; edges closing a cycle (loop back-wires) are ignored."""
    successors: dict[str, list[str]] = {node_id: [] for node_id in node_ids}
    indegree = dict.fromkeys(node_ids, 0)
    for source, target in edges:
        if source in successors and target in successors:
            successors[source].append(target)
            indegree[target] += 1
    layer = dict.fromkeys(node_ids, 0)
    ready = [n for n in node_ids if indegree[n] == 0]
    placed: set[str] = set()
    while ready or len(placed) < len(node_ids):
        if not ready:  # a cycle: start from the first unplaced node
            ready = [next(n for n in node_ids if n not in placed)]
        current = ready.pop(0)
        if current in placed:
            continue
        placed.add(current)
        for target in successors[current]:
            if target in placed:
                continue
            layer[target] = max(layer[target], layer[current] + 1)
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    return layer


def tidy(document: dict[str, Any]) -> dict[str, Any]:
    """The document with its nodes placed in columns by depth, ordered to keep wires short."""
    node_ids = [n["id"] for n in document["nodes"]]
    wires = [(e["source"], e["target"]) for e in document["edges"]]
    layer = _layers(node_ids, wires)
    columns: dict[int, list[str]] = {}
    for node_id in node_ids:
        columns.setdefault(layer[node_id], []).append(node_id)
    row: dict[str, float] = {}
    for depth in sorted(columns):
        # Barycentre ordering: a node sits near the average row of the nodes feeding it.
        def weight(node_id: str) -> float:
            rows = [row[s] for s, t in wires if t == node_id and s in row]
            return sum(rows) / len(rows) if rows else float(node_ids.index(node_id))

        ordered = sorted(columns[depth], key=weight)
        for index, node_id in enumerate(ordered):
            row[node_id] = index - (len(ordered) - 1) / 2
    doc = copy.deepcopy(document)
    for node in doc["nodes"]:
        node["position"] = {"x": layer[node["id"]] * LAYER_GAP_X, "y": row[node["id"]] * ROW_GAP_Y}
    return doc
