"""Helpers for driving the workflow editor in Chromium like a person: drag, wire, fill, save."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page, expect
from sqlmodel import Session

from runtime.store import create_workflow, ensure_local_workspace, latest_version

EMPTY_DOCUMENT: dict[str, Any] = {
    "format": "trellis.workflow", "format_version": 1, "name": "Built in the browser", "description": "",
    "nodes": [], "edges": [], "settings": {"timeout_s": 60},
}  # fmt: skip


def stored_workflow(db: Session, document: dict[str, Any]) -> str:
    """Store `document` as a new workflow of the local workspace; its id."""
    workflow = create_workflow(db, ensure_local_workspace(db).id, document)
    db.commit()
    return workflow.id


def latest_document(db: Session, workflow_id: str) -> dict[str, Any]:
    """The latest saved document of the workflow, read fresh from the database."""
    db.expire_all()
    return dict(latest_version(db, ensure_local_workspace(db).id, workflow_id).document)


def open_editor(page: Page, base_url: str, workflow_id: str) -> None:
    """Open the editor and wait until the canvas is interactive."""
    page.goto(f"{base_url}/workflows/{workflow_id}")
    expect(page.locator(".react-flow__pane")).to_be_visible()


def node(page: Page, node_id: str) -> Locator:
    """A node on the canvas."""
    return page.get_by_test_id(f"node-{node_id}")


def drop_from_palette(page: Page, node_type: str, x: float, y: float) -> None:
    """Drag a palette item onto the canvas at (x, y) relative to the canvas."""
    page.get_by_test_id(f"palette-item-{node_type}").drag_to(
        page.locator(".react-flow__pane"), target_position={"x": x, "y": y}
    )


def wire(page: Page, source: str, target: str, source_handle: str = "out", target_handle: str = "in") -> None:
    """Drag from a source node's output handle to a target node's input handle."""
    start = page.get_by_test_id(f"handle-{source}-out-{source_handle}").bounding_box()
    end = page.get_by_test_id(f"handle-{target}-in-{target_handle}").bounding_box()
    assert start and end
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=12)
    page.mouse.up()


def select(page: Page, node_id: str) -> None:
    """Click a node so the side panel shows it."""
    node(page, node_id).click()
    expect(page.get_by_test_id("node-id")).to_have_value(node_id)


def fill_field(page: Page, name: str, text: str) -> None:
    """Type into a parameter field of the selected node and leave it (the value is stored on blur)."""
    field = page.get_by_test_id(f"field-{name}")
    field.fill(text)
    field.blur()


def save(page: Page, note: str = "") -> None:
    """Save a new version with a note and wait until the editor says nothing is unsaved."""
    page.get_by_test_id("save-note").fill(note)
    page.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("dirty-badge")).to_have_count(0)


def click_empty_canvas(page: Page) -> None:
    """Click the canvas's top-right corner, where no node, control, minimap or problem list sits."""
    pane = page.locator(".react-flow__pane")
    box = pane.bounding_box()
    assert box
    pane.click(position={"x": box["width"] - 30, "y": 30})
