"""Canvas edits on a workflow document: adding, wiring (and refusing wires), deleting, renaming."""

from __future__ import annotations

import pytest

from builder.graph_edit import EditRefused, add_node, connect, delete_items, move_items, rename_node, unique_id
from runtime.graph.validate import validate_document
from runtime.workflows import starter_document


def test_add_node_gets_a_unique_id_and_the_newest_version() -> None:
    doc, first = add_node(starter_document("w"), "set", 10, 20)
    doc, second = add_node(doc, "set", 30, 40)
    assert (first, second) == ("set", "set_2")
    added = doc["nodes"][-1]
    assert added["type_version"] == 1 and added["position"] == {"x": 30, "y": 40} and added["params"] == {}


def test_add_node_refuses_unknown_types_and_a_second_single_per_workflow_node() -> None:
    with pytest.raises(EditRefused, match="Unknown node type 'nope'"):
        add_node(starter_document("w"), "nope", 0, 0)
    doc, _ = add_node(starter_document("w"), "webhook_trigger", 0, 0)
    with pytest.raises(EditRefused, match="only one Webhook"):
        add_node(doc, "webhook_trigger", 0, 0)


def test_connect_adds_a_wire_that_validates() -> None:
    doc, _ = add_node(starter_document("w"), "set", 0, 0)
    doc = connect(doc, "start", "out", "set", "in")
    assert doc["edges"][-1] == {"id": "e_2", "source": "start", "source_handle": "out", "target": "set",
                                "target_handle": "in"}  # fmt: skip
    validate_document(doc)


@pytest.mark.parametrize(
    ("source", "source_handle", "target", "target_handle", "hint"),
    [
        ("result", "out", "start", "in", "is a trigger"),
        ("start", "nope", "result", "in", "has no output 'nope'"),
        ("start", "out", "result", "tools", "has no input 'tools'"),
        ("result", "out", "result", "in", "has no output"),
        ("start", "out", "result", "in", "already wired"),
        ("start", "out", "ghost", "in", "must be nodes of this workflow"),
    ],
)
def test_connect_refuses_what_the_types_forbid(
    source: str, source_handle: str, target: str, target_handle: str, hint: str
) -> None:
    with pytest.raises(EditRefused, match=hint):
        connect(starter_document("w"), source, source_handle, target, target_handle)


def test_cycles_are_refused_unless_they_pass_through_a_loop() -> None:
    doc, _ = add_node(starter_document("w"), "set", 0, 0)
    doc = connect(doc, "start", "out", "set", "in")
    with pytest.raises(EditRefused, match="cycle"):
        connect(doc, "set", "out", "set", "in")
    doc, _ = add_node(doc, "loop", 0, 0)
    doc = connect(doc, "loop", "item", "set", "in")
    doc = connect(doc, "set", "out", "loop", "back")
    assert doc["edges"][-1]["target_handle"] == "back"


def test_delete_removes_nodes_with_their_wires_and_notes_by_canvas_id() -> None:
    doc = dict(starter_document("w"), notes=[{"id": "n1", "text": "hi", "position": {"x": 0, "y": 0}}])
    after = delete_items(doc, ["result", "note:n1"])
    assert [n["id"] for n in after["nodes"]] == ["start"]
    assert after["edges"] == [] and after["notes"] == []
    assert len(doc["nodes"]) == 2  # the argument is untouched


def test_move_sets_positions_of_nodes_and_notes() -> None:
    doc = dict(starter_document("w"), notes=[{"id": "n1", "text": "", "position": {"x": 0, "y": 0}}])
    moved = move_items(doc, [{"id": "result", "x": 5, "y": 6}, {"id": "note:n1", "x": 7, "y": 8}])
    assert moved["nodes"][1]["position"] == {"x": 5.0, "y": 6.0}
    assert moved["notes"][0]["position"] == {"x": 7.0, "y": 8.0}


def test_rename_rewrites_edges_and_every_expression_but_not_longer_ids() -> None:
    doc, _ = add_node(starter_document("w"), "set", 0, 0)
    doc["nodes"][1]["params"] = {"value": "{{ nodes.start.output.body }} {{ nodes.start_2.output }}"}
    doc["nodes"][2]["params"] = {"fields": {"a": "{{ nodes.start.output.x }}"}}
    renamed = rename_node(doc, "start", "begin")
    assert renamed["nodes"][0]["id"] == "begin"
    assert renamed["edges"][0]["source"] == "begin"
    assert renamed["nodes"][1]["params"]["value"] == "{{ nodes.begin.output.body }} {{ nodes.start_2.output }}"
    assert renamed["nodes"][2]["params"]["fields"]["a"] == "{{ nodes.begin.output.x }}"


@pytest.mark.parametrize(("new", "hint"), [("Bad Id", "not a node id"), ("result", "already has the id")])
def test_rename_refuses_bad_or_taken_ids(new: str, hint: str) -> None:
    with pytest.raises(EditRefused, match=hint):
        rename_node(starter_document("w"), "start", new)


def test_unique_id_makes_a_slug() -> None:
    assert unique_id("HTTP Request!", set()) == "http_request"
    assert unique_id("9lives", set()) == "n_9lives"
    assert unique_id("a", {"a", "a_2"}) == "a_3"
