"""Editing in the editor: palette search, undo/redo, delete, rename, tidy up, export/import, history."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlmodel import Session

from runtime.store import ensure_local_workspace
from runtime.workflows import export_workflow, starter_document
from tests.e2e.editor_helpers import (
    click_empty_canvas,
    drop_from_palette,
    fill_field,
    latest_document,
    node,
    open_editor,
    save,
    select,
    stored_workflow,
)
from tests.processes import Server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def node_box(page: Page, node_id: str) -> tuple[float, float]:
    box = node(page, node_id).bounding_box()
    assert box
    return round(box["x"]), round(box["y"])


def test_search_undo_redo_delete_rename_and_tidy(page: Page, server: Server, db: Session) -> None:
    workflow_id = stored_workflow(db, starter_document("Edit me"))
    open_editor(page, server.url, workflow_id)

    page.get_by_test_id("palette-search").fill("branch")
    expect(page.get_by_test_id("palette-item-if")).to_be_visible()
    expect(page.get_by_test_id("palette-item-llm")).to_be_hidden()
    page.get_by_test_id("palette-search").fill("")
    expect(page.get_by_test_id("palette-item-llm")).to_be_visible()

    # Undo and redo, by button and by keyboard
    drop_from_palette(page, "if", 300, 300)
    expect(node(page, "if")).to_be_visible()
    expect(page.locator(".react-flow__node.selected")).to_have_count(1)  # the new node takes the selection
    expect(page.locator(".react-flow__node.selected").get_by_test_id("node-if")).to_be_visible()
    expect(page.get_by_test_id("node-id")).to_have_value("if")
    page.get_by_test_id("undo-button").click()
    expect(node(page, "if")).to_have_count(0)
    page.get_by_test_id("redo-button").click()
    expect(node(page, "if")).to_be_visible()
    click_empty_canvas(page)
    page.keyboard.press("Control+z")
    expect(node(page, "if")).to_have_count(0)
    page.keyboard.press("Control+Shift+z")
    expect(node(page, "if")).to_be_visible()
    expect(node(page, "if")).to_have_attribute("data-issues", "1")  # its condition is required

    # Delete key removes the selected node
    select(page, "if")
    page.keyboard.press("Delete")
    expect(node(page, "if")).to_have_count(0)

    # Changing an id rewrites the expressions that use it
    select(page, "result")
    fill_field(page, "value", "{{ nodes.start.output.body }}")
    select(page, "start")
    page.get_by_test_id("node-id").fill("begin")
    page.get_by_test_id("node-id").blur()
    expect(node(page, "begin")).to_be_visible()
    select(page, "result")
    expect(page.get_by_test_id("field-value")).to_have_value("{{ nodes.begin.output.body }}")

    # Tidy up moves nodes into columns
    node(page, "result").drag_to(page.locator(".react-flow__pane"), target_position={"x": 500, "y": 500})
    before = node_box(page, "result")
    page.get_by_test_id("layout-button").click()
    page.wait_for_function(
        "([x, y]) => { const b = document.querySelector('[data-testid=node-result]').getBoundingClientRect();"
        " return Math.round(b.x) !== x || Math.round(b.y) !== y; }",
        arg=list(before),
    )
    save(page)
    saved = latest_document(db, workflow_id)
    assert [n["id"] for n in saved["nodes"]] == ["begin", "result"]
    assert saved["nodes"][0]["position"]["y"] == saved["nodes"][1]["position"]["y"]
    assert saved["edges"][0]["source"] == "begin"


def test_export_import_and_restore_from_history(page: Page, server: Server, db: Session, tmp_path: Path) -> None:
    source = json.loads((EXAMPLES / "branch_if.json").read_text())
    workflow_id = stored_workflow(db, source)
    open_editor(page, server.url, workflow_id)
    expect(node(page, "is_large")).to_be_visible()

    with page.expect_download() as download_info:
        page.get_by_test_id("export-button").click()
    exported = json.loads(Path(download_info.value.path()).read_text())
    assert exported == export_workflow(db, ensure_local_workspace(db).id, workflow_id)

    # A broken file is refused with every problem listed, and the graph stays
    broken = dict(exported, nodes=[*exported["nodes"], {"id": "Bad Id", "type": "nope", "type_version": 1}])
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    page.get_by_test_id("import-input").locator("input[type=file]").set_input_files(tmp_path / "broken.json")
    errors = page.get_by_test_id("import-errors")
    expect(errors).to_contain_text("broken.json was not imported")
    expect(errors).to_contain_text("Bad Id")
    expect(errors).to_contain_text("nope")
    expect(node(page, "is_large")).to_be_visible()

    # A valid file replaces the graph; saving makes it version 2
    other = json.loads((EXAMPLES / "webhook_answer.json").read_text())
    (tmp_path / "other.json").write_text(json.dumps(other))
    page.get_by_test_id("import-input").locator("input[type=file]").set_input_files(tmp_path / "other.json")
    expect(node(page, other["nodes"][0]["id"])).to_be_visible()
    expect(node(page, "is_large")).to_have_count(0)
    save(page, "imported")
    assert [n["id"] for n in latest_document(db, workflow_id)["nodes"]] == [n["id"] for n in other["nodes"]]

    # History lists both versions; restoring version 1 brings the first graph back
    page.get_by_test_id("history-button").click()
    expect(page.get_by_test_id("version-row")).to_have_count(2)
    page.get_by_test_id("restore-1").click()
    expect(node(page, "is_large")).to_be_visible()
    save(page, "back to v1")
    assert [n["id"] for n in latest_document(db, workflow_id)["nodes"]] == [n["id"] for n in source["nodes"]]


def test_shift_click_and_box_select_pick_several_nodes(page: Page, server: Server, db: Session) -> None:
    workflow_id = stored_workflow(db, starter_document("Select"))
    open_editor(page, server.url, workflow_id)
    panel = page.get_by_test_id("node-panel")

    select(page, "start")
    node(page, "result").click(modifiers=["Shift"])
    expect(panel).to_contain_text("2 items selected")

    click_empty_canvas(page)
    expect(panel).to_contain_text("Select a node")
    first, last = node(page, "start").bounding_box(), node(page, "result").bounding_box()
    assert first and last
    page.keyboard.down("Shift")
    page.mouse.move(first["x"] - 30, first["y"] - 30)
    page.mouse.down()
    page.mouse.move(last["x"] + last["width"] + 30, last["y"] + last["height"] + 30, steps=10)
    page.mouse.up()
    page.keyboard.up("Shift")
    expect(panel).to_contain_text("2 items selected")
    page.keyboard.press("Delete")
    expect(page.locator(".react-flow__node")).to_have_count(0)
    page.get_by_test_id("undo-button").click()
    expect(page.locator(".react-flow__node")).to_have_count(2)
    expect(page.locator(".react-flow__edge")).to_have_count(1)
