"""Clipboard, sticky notes and cancelling a run in the editor."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlmodel import Session

from runtime.secrets import encrypt_fields
from runtime.store import create_credential, ensure_local_workspace
from runtime.workflows import starter_document
from tests.e2e.editor_helpers import (
    click_empty_canvas,
    latest_document,
    node,
    open_editor,
    save,
    select,
    stored_workflow,
)
from tests.processes import Server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def long_loop_document() -> dict:
    """A loop over `trigger.body.items` with a set node inside: long enough to cancel."""
    doc = starter_document("Long loop")
    doc["nodes"] += [
        {"id": "each", "type": "loop", "type_version": 1, "title": "Each",
         "params": {"items": "{{ trigger.body.items }}"}, "position": {"x": 260, "y": 0}},
        {"id": "step", "type": "set", "type_version": 1, "title": "Step",
         "params": {"fields": {"n": "{{ loop.item }}"}}, "position": {"x": 520, "y": -100}},
    ]  # fmt: skip
    doc["nodes"][1]["position"] = {"x": 520, "y": 100}
    doc["edges"] = [
        {"id": "e1", "source": "start", "source_handle": "out", "target": "each", "target_handle": "in"},
        {"id": "e2", "source": "each", "source_handle": "item", "target": "step", "target_handle": "in"},
        {"id": "e3", "source": "step", "source_handle": "out", "target": "each", "target_handle": "back"},
        {"id": "e4", "source": "each", "source_handle": "done", "target": "result", "target_handle": "in"},
    ]
    return doc


def test_copy_paste_nodes_and_a_workflow_json_and_sticky_notes(page: Page, server: Server, db: Session) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    workflow_id = stored_workflow(db, starter_document("Clipboard"))
    open_editor(page, server.url, workflow_id)

    select(page, "result")
    page.keyboard.press("Control+c")
    page.wait_for_function("navigator.clipboard.readText().then(t => t.includes('trellis.clipboard'))")
    click_empty_canvas(page)
    page.keyboard.press("Control+v")
    expect(node(page, "result_2")).to_be_visible()

    # A whole workflow JSON on the clipboard pastes as new nodes
    text = (EXAMPLES / "branch_if.json").read_text()
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    click_empty_canvas(page)
    page.keyboard.press("Control+v")
    expect(node(page, "is_large")).to_be_visible()
    expect(node(page, "start_2")).to_be_visible()

    # Sticky notes are stored in the document
    page.get_by_test_id("note-button").click()
    page.get_by_test_id("note-text").fill("Ask Ada before changing the branch")
    page.get_by_test_id("note-text").blur()
    expect(page.locator(".react-flow__node-note").filter(has_text="Ask Ada")).to_be_visible()
    save(page, "pasted")
    saved = latest_document(db, workflow_id)
    assert [n["text"] for n in saved["notes"]] == ["Ask Ada before changing the branch"]
    assert {"result_2", "is_large", "start_2"} <= {n["id"] for n in saved["nodes"]}


def test_cancel_a_running_run(page: Page, server: Server, db: Session) -> None:
    workflow_id = stored_workflow(db, long_loop_document())
    open_editor(page, server.url, workflow_id)
    page.get_by_test_id("tab-runs").click()
    page.get_by_test_id("run-input").fill(json.dumps({"items": list(range(20_000))}))
    page.get_by_test_id("run-button").click()
    expect(node(page, "each")).to_have_attribute("data-status", "running")
    page.get_by_test_id("cancel-button").click()
    expect(page.get_by_test_id("current-run")).to_contain_text("cancelled", timeout=30_000)
    expect(page.get_by_test_id("cancel-button")).to_have_count(0)
    expect(node(page, "result")).not_to_have_attribute("data-status", "succeeded")
    rows = page.get_by_test_id("runs-panel").locator("[data-testid^=run-row-]")
    expect(rows.first).to_have_attribute("data-status", "cancelled")


def test_leaving_with_unsaved_changes_asks_first(page: Page, server: Server, db: Session) -> None:
    workflow_id = stored_workflow(db, starter_document("Leave me"))
    clean = page.context.new_page()
    open_editor(clean, server.url, workflow_id)
    asked: list[str] = []
    clean.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    click_empty_canvas(clean)
    clean.close(run_before_unload=True)
    clean.wait_for_event("close")
    assert asked == []

    open_editor(page, server.url, workflow_id)
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    page.get_by_test_id("note-button").click()
    expect(page.get_by_test_id("dirty-badge")).to_be_visible()
    page.close(run_before_unload=True)
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"]
    assert not page.is_closed()


def test_credential_picker_lists_the_workspace_credentials_by_name(page: Page, server: Server, db: Session) -> None:
    workspace_id = ensure_local_workspace(db).id
    credential = create_credential(db, workspace_id, "Team OpenAI key", "openai", encrypt_fields({"api_key": "sk-x"}))
    db.commit()
    doc = starter_document("LLM")
    llm = {"id": "ask", "type": "llm", "type_version": 1, "title": "Ask", "position": {"x": 260, "y": 120},
           "params": {"model": "gpt-4o-mini", "prompt": "Hi"}}  # fmt: skip
    doc["nodes"].append(llm)
    workflow_id = stored_workflow(db, doc)
    open_editor(page, server.url, workflow_id)
    select(page, "ask")
    page.get_by_test_id("credential-openai").click()
    page.get_by_role("option", name="Team OpenAI key (openai)").click()
    save(page)
    assert latest_document(db, workflow_id)["nodes"][-1]["credentials"] == {"openai": credential.id}
