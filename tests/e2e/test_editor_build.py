"""Building, saving and running a workflow in the editor, as a person does it in Chromium."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect
from sqlmodel import Session

from tests.e2e.editor_helpers import (
    EMPTY_DOCUMENT,
    drop_from_palette,
    fill_field,
    latest_document,
    node,
    open_editor,
    save,
    select,
    stored_workflow,
    wire,
)
from tests.processes import Server


def test_build_fill_save_reload_run_and_open_the_past_run(page: Page, server: Server, db: Session) -> None:
    workflow_id = stored_workflow(db, EMPTY_DOCUMENT)
    open_editor(page, server.url, workflow_id)

    # Given an empty canvas, when three nodes are dragged in from the palette and wired up
    drop_from_palette(page, "manual_trigger", 120, 200)
    drop_from_palette(page, "set", 400, 200)
    drop_from_palette(page, "output", 680, 200)
    for node_id in ("manual_trigger", "set", "output"):
        expect(node(page, node_id)).to_be_visible()
    wire(page, "manual_trigger", "set")
    wire(page, "set", "output")
    expect(page.locator(".react-flow__edge")).to_have_count(2)

    # A wire the graph rules forbid is refused with a hint
    wire(page, "set", "set")
    expect(page.get_by_text("cycle")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(2)

    # The forms come from the node types' schemas; the scope lists upstream nodes
    select(page, "set")
    fill_field(page, "fields", json.dumps({"greeting": "Hello {{ trigger.body.name }}"}))
    select(page, "output")
    expect(page.get_by_test_id("scope-list")).to_contain_text("nodes.set.output")
    fill_field(page, "value", "{{ nodes.set.output.greeting }}")
    expect(page.get_by_test_id("problems")).to_have_count(0)
    save(page, "three nodes")

    saved = latest_document(db, workflow_id)
    assert [n["id"] for n in saved["nodes"]] == ["manual_trigger", "set", "output"]
    assert saved["nodes"][1]["params"] == {"fields": {"greeting": "Hello {{ trigger.body.name }}"}}
    assert {(e["source"], e["target"]) for e in saved["edges"]} == {("manual_trigger", "set"), ("set", "output")}

    # After a reload the graph and the form values are back
    page.reload()
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    select(page, "output")
    expect(page.get_by_test_id("field-value")).to_have_value("{{ nodes.set.output.greeting }}")

    # Run it: every node reaches succeeded, and a finished node shows its output
    page.get_by_test_id("tab-runs").click()
    page.get_by_test_id("run-input").fill('{"name": "Ada"}')
    page.get_by_test_id("run-button").click()
    for node_id in ("manual_trigger", "set", "output"):
        expect(node(page, node_id)).to_have_attribute("data-status", "succeeded")
    select(page, "output")
    expect(page.get_by_test_id("detail-output")).to_contain_text("Hello Ada")
    expect(page.get_by_test_id("detail-duration")).to_contain_text(" s")

    # A fresh page shows no run; opening it from the runs panel paints it again
    page.reload()
    expect(node(page, "set")).to_have_attribute("data-status", "idle")
    page.get_by_test_id("tab-runs").click()
    rows = page.get_by_test_id("runs-panel").locator("[data-testid^=run-row-]")
    expect(rows).to_have_count(1)
    rows.first.click()
    for node_id in ("manual_trigger", "set", "output"):
        expect(node(page, node_id)).to_have_attribute("data-status", "succeeded")
    select(page, "set")
    expect(page.get_by_test_id("detail-input")).to_contain_text("Ada")
    expect(page.get_by_test_id("detail-output")).to_contain_text("Hello Ada")
