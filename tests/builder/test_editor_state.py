"""Editor state handlers called as the page calls them: forms, ids, undo and redo."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from builder.graph_edit import add_node
from builder.state.editor import EditorState
from runtime.store import Role
from runtime.workflows import starter_document
from tests.accounts import signed_in_member
from tests.builder.conftest import browser_of


@pytest.fixture
def editor_with_llm(app_engine: sa.Engine) -> EditorState:
    """The editor of a signed-in editor showing a starter document with an LLM node selected."""
    state = browser_of(EditorState, signed_in_member(app_engine, "editor@example.com", Role.EDITOR))
    document, node_id = add_node(starter_document("w"), "llm", 0, 0)
    state._load_saved(document)
    state.select_ids([node_id])
    return state


def test_leaving_a_field_that_shows_the_default_changes_nothing(editor_with_llm: EditorState) -> None:
    state = editor_with_llm
    state.set_param("temperature", "0.7")
    assert not state.dirty and not state.can_undo


def test_typed_values_are_stored_typed_and_bad_ones_reported_on_the_field(editor_with_llm: EditorState) -> None:
    state = editor_with_llm
    state.set_param("temperature", "0.3")
    state.set_param("max_tokens", "lots")
    assert state._doc["nodes"][-1]["params"] == {"temperature": 0.3}
    assert "whole number" in state.field_errors["max_tokens"]
    assert state.dirty
    assert any("prompt" in problem for problem in state.problems)  # required and still empty


def test_undo_and_redo_walk_the_edits(editor_with_llm: EditorState) -> None:
    state = editor_with_llm
    state.set_param("model", "gpt-4o-mini")
    state.set_title("Ask the model")
    state.undo()
    assert state._doc["nodes"][-1]["title"] == "LLM"
    state.undo()
    assert state._doc["nodes"][-1]["params"] == {} and not state.dirty  # back to the saved document
    state.redo()
    state.redo()
    assert state._doc["nodes"][-1]["title"] == "Ask the model" and not state.can_redo


def test_changing_the_id_follows_into_the_panel(editor_with_llm: EditorState) -> None:
    state = editor_with_llm
    state.set_node_id("ask")
    assert state.selected_id == "ask" and state.panel_type == "llm"
    state.set_node_id("Not An Id")
    assert state.selected_id == "ask"
