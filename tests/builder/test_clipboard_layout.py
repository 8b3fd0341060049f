"""Copy/paste of selections and whole workflows, and the "Tidy up" layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.clipboard import copy_snippet, paste
from builder.graph_edit import EditRefused
from builder.layout import LAYER_GAP_X, tidy
from runtime.graph.validate import validate_document
from runtime.workflows import starter_document

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_copy_then_paste_duplicates_nodes_and_their_wire_under_fresh_ids() -> None:
    doc = starter_document("w")
    doc["nodes"][1]["params"] = {"value": "{{ nodes.start.output }}"}
    pasted, new_ids = paste(doc, copy_snippet(doc, ["start", "result"]))
    assert new_ids == ["start_2", "result_2"]
    copy = pasted["nodes"][3]
    assert copy["params"] == {"value": "{{ nodes.start_2.output }}"}
    assert copy["position"] == {"x": 300.0, "y": 40.0}
    assert pasted["edges"][-1]["source"] == "start_2" and pasted["edges"][-1]["target"] == "result_2"
    validate_document(pasted)


def test_pasting_a_workflow_json_adds_its_nodes() -> None:
    text = (EXAMPLES / "branch_if.json").read_text()
    pasted, new_ids = paste(starter_document("w"), text)
    assert "is_large" in new_ids and "start_2" in new_ids
    assert len(pasted["edges"]) == 1 + len(json.loads(text)["edges"])


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"nodes": [{"id": 1}]}'])
def test_pasting_something_else_is_refused(text: str) -> None:
    with pytest.raises(EditRefused):
        paste(starter_document("w"), text)


def test_tidy_places_nodes_in_columns_by_depth() -> None:
    doc = json.loads((EXAMPLES / "branch_if.json").read_text())
    placed = {n["id"]: n["position"] for n in tidy(doc)["nodes"]}
    assert placed["start"]["x"] == 0
    assert placed["is_large"]["x"] == LAYER_GAP_X
    assert placed["review"]["x"] == placed["approve"]["x"] == 2 * LAYER_GAP_X
    assert placed["review"]["y"] != placed["approve"]["y"]
    assert placed["combine"]["x"] > placed["review"]["x"]
