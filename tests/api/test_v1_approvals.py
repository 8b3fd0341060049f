"""Approvals, resume and replay over HTTP against a real server, in the default mode and in queue mode."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from runtime.store import Role, ensure_local_workspace
from runtime.store.api_keys import create_api_key
from tests.api.conftest import Trellis
from tests.api.v1_runs import FINISHED, wait_for
from tests.runtime.approvals.flows import refund_flow


def key_for(trellis: Trellis, role: Role) -> str:
    with Session(trellis.engine) as session:
        key = create_api_key(session, ensure_local_workspace(session).id, f"{role.value} key", role).plaintext
        session.commit()
    return key


@pytest.fixture
def api(trellis: Trellis) -> Iterator[httpx.Client]:
    """A client for `/api/v1` carrying an editor key of the local workspace."""
    headers = {"Authorization": f"Bearer {key_for(trellis, Role.EDITOR)}"}
    with httpx.Client(base_url=f"{trellis.server.url}/api/v1", headers=headers, timeout=30) as client:
        yield client


def waiting_run(api: httpx.Client, document: dict[str, Any], body: Any) -> dict[str, Any]:
    """Save `document`, start it, and return the run once it waits for its approval."""
    created = api.post("/workflows", json={"document": document})
    assert created.status_code == 201, created.text
    started = api.post("/runs", json={"workflow_id": created.json()["id"], "input": body})
    assert started.status_code == 202, started.text
    return wait_for(api, started.json()["run_id"], {"waiting"})


def test_a_waiting_run_lists_its_approval_and_approve_resumes_it(trellis: Trellis, api: httpx.Client) -> None:
    run = waiting_run(api, refund_flow(), {"amount": 40})
    run_id = run["id"]

    [pending] = run["approvals"]
    assert (pending["node_id"], pending["status"], pending["message"]) == ("ask", "pending", "Refund 40 EUR?")
    assert api.get(f"/runs/{run_id}/approvals").json() == run["approvals"]
    assert {row["node_id"]: row["status"] for row in run["node_runs"]} == {
        "start": "succeeded", "ask": "waiting", "notify": "succeeded",
    }  # fmt: skip

    decided = api.post(f"/runs/{run_id}/approvals/ask", json={"decision": "approve", "comment": "ok"})

    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["comment"]) == ("approved", "ok")
    assert decided.json()["decided_by"].startswith("api key ")
    done = wait_for(api, run_id, FINISHED)
    assert done["status"] == "succeeded"
    last = {row["node_id"]: row for row in done["node_runs"]}
    assert last["ask"]["output"]["decision"] == "approved" and last["pay"]["output"]["paid"] == 40
    assert last["refuse"]["status"] == "skipped"
    assert [row["node_id"] for row in done["node_runs"]].count("notify") == 1
    again = api.post(f"/runs/{run_id}/approvals/ask", json={"decision": "reject"})
    assert again.status_code == 409
    assert (again.json()["error"], again.json()["decision"]) == ("already_decided", "approved")


def test_bad_decisions_are_refused_in_the_api_error_shape(trellis: Trellis, api: httpx.Client) -> None:
    run_id = waiting_run(api, refund_flow(), {"amount": 1})["id"]
    viewer = {"Authorization": f"Bearer {key_for(trellis, Role.VIEWER)}"}

    maybe = api.post(f"/runs/{run_id}/approvals/ask", json={"decision": "maybe"})
    unknown_node = api.post(f"/runs/{run_id}/approvals/pay", json={"decision": "approve"})
    unknown_run = api.post("/runs/run_nope/approvals/ask", json={"decision": "approve"})
    as_viewer = api.post(f"/runs/{run_id}/approvals/ask", json={"decision": "approve"}, headers=viewer)

    assert (maybe.status_code, maybe.json()["error"]) == (422, "invalid_request")
    assert maybe.json()["issues"][0]["field"] == "body.decision"
    assert (unknown_node.status_code, unknown_node.json()["error"]) == (404, "not_found")
    assert unknown_run.status_code == 404
    assert (as_viewer.status_code, as_viewer.json()["error"]) == (403, "forbidden")
    assert api.get(f"/runs/{run_id}").json()["status"] == "waiting"


def test_the_signed_link_shows_the_question_and_only_its_post_decides(trellis: Trellis, api: httpx.Client) -> None:
    run = waiting_run(api, refund_flow(), {"amount": 12})
    sent = next(row for row in run["node_runs"] if row["node_id"] == "ask")["output"]["reject_url"]
    # The link is made where the run executes: a worker knows the address only from TRELLIS_PUBLIC_URL.
    link = trellis.server.url + sent[sent.index("/approvals/") :]
    assert trellis.mode == "queue" or sent == link

    page = httpx.get(link, timeout=30)
    assert page.status_code == 200 and "Refund 12 EUR?" in page.text
    assert "approve-button" in page.text and "reject-button" in page.text
    assert api.get(f"/runs/{run['id']}").json()["status"] == "waiting"  # opening the link decides nothing

    page_url = link.split("?")[0]
    answered = httpx.post(page_url, data={"decision": "reject", "comment": "too much"}, timeout=30)
    assert answered.status_code == 200 and "rejected" in answered.text
    done = wait_for(api, run["id"], FINISHED)
    last = {row["node_id"]: row for row in done["node_runs"]}
    assert last["ask"]["output"]["decision"] == "rejected" and last["ask"]["output"]["comment"] == "too much"
    assert last["refuse"]["status"] == "succeeded"
    assert httpx.post(page_url, data={"decision": "approve"}, timeout=30).status_code == 409
    assert httpx.get(f"{trellis.server.url}/approvals/not-a-token", timeout=30).status_code == 404


def test_replay_starts_a_linked_run_and_resume_needs_a_failed_run(trellis: Trellis, api: httpx.Client) -> None:
    run_id = waiting_run(api, refund_flow(), {"amount": 2})["id"]
    assert api.post(f"/runs/{run_id}/replay", json={"from_node": "pay", "input": {}}).status_code == 409
    api.post(f"/runs/{run_id}/approvals/ask", json={"decision": "approve"})
    wait_for(api, run_id, FINISHED)

    replayed = api.post(f"/runs/{run_id}/replay", json={"from_node": "pay", "input": {"again": True}})

    assert replayed.status_code == 202, replayed.text
    replay = wait_for(api, replayed.json()["run_id"], FINISHED)
    assert (replay["status"], replay["replay_of"]) == ("succeeded", run_id)
    assert {row["node_id"]: row["status"] for row in replay["node_runs"]}["pay"] == "succeeded"
    assert replay["approvals"] == []  # the decision was taken from the original run
    bad_node = api.post(f"/runs/{run_id}/replay", json={"from_node": "nope"})
    assert (bad_node.status_code, bad_node.json()["field"]) == (422, "from_node")
    not_failed = api.post(f"/runs/{run_id}/resume")
    assert (not_failed.status_code, not_failed.json()["error"]) == (409, "not_resumable")
