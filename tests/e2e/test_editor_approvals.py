"""In the editor: a run waiting on an approval is approved on the canvas and continues live; a past run
is replayed from a node with an edited input and shown side by side with the original."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from runtime.store import NodeRun, Run
from runtime.store.approvals import Approval
from tests.e2e.conftest import sign_in
from tests.e2e.editor_helpers import node, open_editor, stored_workflow
from tests.e2e.editor_helpers import select as select_node
from tests.processes import Server
from tests.runtime.approvals.flows import edge

SLOW = 30_000


def placed(node_id: str, type: str, x: float, y: float = 0, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type, "type_version": 1, "params": params, "position": {"x": x, "y": y}}


def workflow(name: str, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": "trellis.workflow", "format_version": 1, "name": name, "description": "", "nodes": nodes,
            "edges": edges, "settings": {"timeout_s": 60}}  # fmt: skip


def test_a_waiting_run_is_approved_on_the_canvas_and_continues_live(page: Page, server: Server, db: Session) -> None:
    document = workflow("Refund", [
        placed("start", "manual_trigger", 0),
        placed("ask", "approval", 240, message="Refund {{ trigger.body.amount }} EUR?"),
        placed("pay", "set", 480, -90, fields={"paid": "{{ trigger.body.amount }}"}),
        placed("refuse", "set", 480, 90, fields={"refused": "yes"}),
    ], [edge("start", "ask"), edge("ask", "pay", "approved"), edge("ask", "refuse", "rejected")])  # fmt: skip
    workflow_id = stored_workflow(db, document)
    email = sign_in(page, server, "approver@example.com")
    open_editor(page, server.url, workflow_id)

    page.get_by_test_id("tab-runs").click()
    page.get_by_test_id("run-input").fill('{"amount": 25}')
    page.get_by_test_id("run-button").click()

    expect(node(page, "ask")).to_have_attribute("data-status", "waiting", timeout=SLOW)
    expect(page.get_by_test_id("current-run")).to_contain_text("waiting")
    expect(page.get_by_test_id("approval-message")).to_have_text("Refund 25 EUR?")
    expect(node(page, "pay")).not_to_have_attribute("data-status", "succeeded")
    page.get_by_test_id("approval-comment").fill("looks right")
    page.get_by_test_id("approve-button").click()

    expect(node(page, "pay")).to_have_attribute("data-status", "succeeded", timeout=SLOW)
    expect(node(page, "ask")).to_have_attribute("data-status", "succeeded")
    expect(node(page, "refuse")).to_have_attribute("data-status", "skipped")
    expect(page.get_by_test_id("current-run")).to_contain_text("succeeded", timeout=SLOW)
    expect(page.get_by_test_id("approve-button")).to_have_count(0)
    select_node(page, "ask")
    expect(page.get_by_test_id("detail-output")).to_contain_text("looks right")
    db.expire_all()
    decided = db.exec(select(Approval).where(Approval.node_id == "ask")).all()
    assert [(row.status, row.decided_by, row.comment) for row in decided] == [("approved", email, "looks right")]


def test_a_past_run_is_replayed_from_a_node_and_compared_side_by_side(page: Page, server: Server, db: Session) -> None:
    document = workflow("Greeter", [
        placed("start", "manual_trigger", 0), placed("greet", "template", 260, template="Hello {{ input.name }}"),
        placed("done", "output", 520),
    ], [edge("start", "greet"), edge("greet", "done")])  # fmt: skip
    workflow_id = stored_workflow(db, document)
    sign_in(page, server, "replayer@example.com")
    open_editor(page, server.url, workflow_id)
    page.get_by_test_id("tab-runs").click()
    page.get_by_test_id("run-input").fill('{"name": "Ada"}')
    page.get_by_test_id("run-button").click()
    expect(page.get_by_test_id("current-run")).to_contain_text("succeeded", timeout=SLOW)

    select_node(page, "greet")
    page.get_by_test_id("replay-button").click()
    editor = page.get_by_test_id("replay-input")
    expect(editor).to_have_value('{\n  "name": "Ada"\n}')  # prefilled with what the node received
    editor.fill('{"name": "Bob"}')
    page.get_by_test_id("replay-start").click()

    compare = page.get_by_test_id("run-compare")
    expect(compare).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("compare-replay-done")).to_contain_text("Hello Bob", timeout=SLOW)
    expect(page.get_by_test_id("compare-original-done")).to_contain_text("Hello Ada")
    expect(page.get_by_test_id("compare-original-greet")).to_contain_text("succeeded")
    expect(page.get_by_test_id("compare-replay-greet")).to_contain_text("Hello Bob")
    expect(page.get_by_test_id("compare-replay-start")).to_contain_text("succeeded")
    expect(page.get_by_test_id("current-run")).to_contain_text("succeeded")
    rows = page.get_by_test_id("runs-panel").locator("[data-testid^=run-row-]")
    expect(rows).to_have_count(2)


def test_a_failed_run_resumes_from_its_failed_node(page: Page, server: Server, db: Session) -> None:
    # The egress guard refuses 127.0.0.1 on this server, so `fetch` fails on every attempt; what the
    # Resume button must show is that only `fetch` runs again, not the nodes that finished before it.
    document = workflow("Fetcher", [
        placed("start", "manual_trigger", 0), placed("first", "set", 260, fields={"n": "1"}),
        placed("fetch", "http_request", 520, url="http://127.0.0.1:9/"),
    ], [edge("start", "first"), edge("first", "fetch")])  # fmt: skip
    workflow_id = stored_workflow(db, document)
    sign_in(page, server, "resumer@example.com")
    open_editor(page, server.url, workflow_id)
    page.get_by_test_id("tab-runs").click()
    page.get_by_test_id("run-button").click()
    expect(page.get_by_test_id("current-run")).to_contain_text("failed", timeout=SLOW)
    expect(node(page, "fetch")).to_have_attribute("data-status", "failed")

    page.get_by_test_id("resume-run-button").click()

    run = resumed_run(db, workflow_id)
    assert run.status == "failed" and run.attempts >= 2
    expect(page.get_by_test_id("current-run")).to_contain_text("failed", timeout=SLOW)
    expect(page.get_by_test_id("runs-panel").locator("[data-testid^=run-row-]")).to_have_count(1)  # the same run
    nodes = [row.node_id for row in db.exec(select(NodeRun).where(NodeRun.run_id == run.id))]
    assert (nodes.count("start"), nodes.count("first"), nodes.count("fetch")) == (1, 1, 2)


def resumed_run(db: Session, workflow_id: str) -> Run:
    """The workflow's one run, once its resumed execution has ended."""
    deadline = time.monotonic() + SLOW / 1000
    while True:
        db.expire_all()
        run = db.exec(select(Run).where(Run.workflow_id == workflow_id)).one()
        fetches = db.exec(select(NodeRun).where(NodeRun.run_id == run.id, NodeRun.node_id == "fetch")).all()
        if (len(fetches) == 2 and run.status == "failed") or time.monotonic() > deadline:
            return run
        time.sleep(0.2)
