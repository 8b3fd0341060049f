"""A webhook node's URL, shown in the side panel once saved, copied and called: it runs the workflow."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect
from sqlmodel import Session

from tests.e2e.editor_helpers import drop_from_palette, node, open_editor, save, select, stored_workflow, wire
from tests.processes import Server

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webhook_answer.json"


def test_a_webhook_url_copied_from_the_panel_starts_the_workflow(page: Page, server: Server, db: Session) -> None:
    document = json.loads(EXAMPLE.read_text())
    document["nodes"] = [n for n in document["nodes"] if n["type"] != "webhook_trigger"]
    document["nodes"].insert(
        0, {"id": "start", "type": "manual_trigger", "type_version": 1, "position": {"x": 0, "y": 200}}
    )
    document["edges"] = [e for e in document["edges"] if e["source"] != "hook"]
    workflow_id = stored_workflow(db, document)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_editor(page, server.url, workflow_id)

    drop_from_palette(page, "webhook_trigger", 80, 60)
    expect(node(page, "webhook_trigger")).to_be_visible()
    wire(page, "webhook_trigger", "greeting")
    select(page, "webhook_trigger")
    # Not saved yet: the node has no address.
    expect(page.get_by_test_id("webhook-url-pending")).to_be_visible()

    save(page, "add a webhook")
    expect(page.get_by_test_id("webhook-url")).to_contain_text(f"{server.url}/api/hooks/")
    page.get_by_test_id("copy-webhook-url").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.get_by_test_id("webhook-url").inner_text()

    answer = httpx.post(copied, json={"name": "Ada"}, timeout=30)

    # The dropped node answers `immediately` (its default): 202 with the run, which then succeeds.
    assert answer.status_code == 202, answer.text
    status = httpx.get(answer.json()["status_url"], timeout=10)
    assert status.status_code == 401  # the REST API wants a key; the webhook itself needed none
    run_row = page.get_by_test_id(f"run-row-{answer.json()['run_id']}")
    for _ in range(30):  # the runs tab reads the history afresh each time it is opened
        page.get_by_test_id("tab-node").click()
        page.get_by_test_id("tab-runs").click()
        page.wait_for_timeout(300)
        if run_row.count() and run_row.get_attribute("data-status") == "succeeded":
            break
    expect(run_row).to_have_attribute("data-status", "succeeded")
    expect(run_row).to_contain_text("webhook")
