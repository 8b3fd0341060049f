"""Copy and paste of canvas selections, and pasting a whole workflow JSON into the canvas."""

from __future__ import annotations

import copy
import json
from typing import Any

from builder.graph_adapter import NOTE_PREFIX
from builder.graph_edit import EditRefused, ids_of, reference_pattern, rewrite_strings, unique_id

CLIPBOARD_FORMAT = "trellis.clipboard"
PASTE_OFFSET = 40.0


def copy_snippet(document: dict[str, Any], canvas_ids: list[str]) -> str:
    """The selected nodes, the wires between them and the selected notes, as clipboard JSON."""
    picked = set(canvas_ids)
    nodes = [n for n in document["nodes"] if n["id"] in picked]
    kept = {n["id"] for n in nodes}
    snippet = {
        "format": CLIPBOARD_FORMAT,
        "nodes": nodes,
        "edges": [e for e in document["edges"] if e["source"] in kept and e["target"] in kept],
        "notes": [n for n in document.get("notes", []) if NOTE_PREFIX + n["id"] in picked],
    }
    return json.dumps(snippet, ensure_ascii=False)


def _parse(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        raise EditRefused("The clipboard holds no Trellis nodes or workflow JSON.") from None
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise EditRefused("The clipboard JSON has no `nodes` list, so there is nothing to paste.")
    for index, node in enumerate(data["nodes"]):
        if not isinstance(node, dict) or not isinstance(node.get("id"), str) or not isinstance(node.get("type"), str):
            raise EditRefused(f"nodes[{index}] in the clipboard has no `id` and `type`; nothing was pasted.")
    return data


def paste(document: dict[str, Any], text: str) -> tuple[dict[str, Any], list[str]]:
    """The document with the clipboard's nodes, wires and notes added under fresh ids, and their canvas ids.

    Pasted nodes are shifted so they do not hide the originals; expressions between pasted nodes
    follow their new ids.
    """
    data = _parse(text)
    doc = copy.deepcopy(document)
    taken = ids_of(doc["nodes"])
    renamed: dict[str, str] = {}
    for node in data["nodes"]:
        renamed[node["id"]] = unique_id(node["id"], taken)
        taken.add(renamed[node["id"]])
    new_nodes = []
    for node in copy.deepcopy(data["nodes"]):
        node["id"] = renamed[node["id"]]
        params = node.get("params", {})
        for old, new in renamed.items():
            if old != new:
                params = rewrite_strings(params, reference_pattern(old), f"nodes.{new}")
        node["params"] = params
        node["position"] = _shifted(node.get("position"))
        new_nodes.append(node)
    doc["nodes"].extend(new_nodes)
    edge_ids = ids_of(doc["edges"]) | {"e"}
    for edge in data.get("edges", []):
        if isinstance(edge, dict) and edge.get("source") in renamed and edge.get("target") in renamed:
            edge_id = unique_id("e", edge_ids)
            edge_ids.add(edge_id)
            doc["edges"].append({**edge, "id": edge_id, "source": renamed[edge["source"]],
                                 "target": renamed[edge["target"]]})  # fmt: skip
    new_ids = [n["id"] for n in new_nodes]
    notes = doc.setdefault("notes", [])
    for note in data.get("notes", []) or []:
        if isinstance(note, dict):
            note_id = unique_id(str(note.get("id", "note")), ids_of(notes))
            notes.append({**note, "id": note_id, "position": _shifted(note.get("position"))})
            new_ids.append(NOTE_PREFIX + note_id)
    return doc, new_ids


def _shifted(position: Any) -> dict[str, float]:
    if not isinstance(position, dict):
        return {"x": 0.0, "y": 0.0}
    return {"x": float(position.get("x", 0)) + PASTE_OFFSET, "y": float(position.get("y", 0)) + PASTE_OFFSET}
