"""Runs through `/api/v1/runs`: start (with Idempotency-Key), read, list with filters and paging, cancel."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from tests.api.v1_fixtures import Keys, V1Server, client_for
from tests.api.v1_runs import FINISHED, greeting_workflow, hanging_workflow, start, wait_for
from tests.loopback import LoopbackServer


def test_a_started_run_answers_202_then_finishes_with_its_node_runs(api: httpx.Client, v1_server: V1Server) -> None:
    workflow_id = greeting_workflow(api)

    accepted = start(api, workflow_id, {"name": "Ada"})

    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert body["status"] == "queued"
    assert body["status_url"] == f"{v1_server.url}/api/v1/runs/{body['run_id']}"
    assert body["events_url"] == body["status_url"] + "/events"
    run = wait_for(api, body["run_id"], FINISHED)
    assert (run["status"], run["trigger"], run["output"]) == ("succeeded", "api", "Hello Ada")
    assert run["input"]["body"] == {"name": "Ada"}
    assert [(node["node_id"], node["status"]) for node in run["node_runs"]] == [
        ("start", "succeeded"), ("greet", "succeeded"), ("result", "succeeded"),
    ]  # fmt: skip


def test_starting_an_unknown_workflow_or_a_malformed_request_is_refused(api: httpx.Client) -> None:
    unknown = start(api, "wf_nope")
    extra = api.post("/runs", json={"workflow_id": "wf_nope", "inputs": {}})

    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
    assert (extra.status_code, extra.json()["error"]) == (422, "invalid_request")
    assert "inputs" in extra.json()["message"]


def test_list_filters_by_workflow_status_trigger_and_time(api: httpx.Client, v1_server: V1Server) -> None:
    first, second = greeting_workflow(api), greeting_workflow(api)
    before = datetime.now(UTC) - timedelta(seconds=1)
    run_ids = [start(api, first, {"name": str(i)}).json()["run_id"] for i in range(2)]
    other_id = start(api, second, {"name": "x"}).json()["run_id"]
    for run_id in [*run_ids, other_id]:
        wait_for(api, run_id, FINISHED)
    engine = sa.create_engine(v1_server.database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:  # one run of `first` failed an hour ago, as far as filters can tell
        connection.execute(
            sa.text("UPDATE run SET status = 'failed', created_at = created_at - interval '1 hour' WHERE id = :id"),
            {"id": run_ids[0]},
        )
    engine.dispose()

    def listed(**params: str) -> list[str]:
        answer = api.get("/runs", params=params)
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    assert listed(workflow_id=first) == [run_ids[1], run_ids[0]]
    assert listed(workflow_id=first, status="succeeded") == [run_ids[1]]
    assert listed(workflow_id=first, status="failed") == [run_ids[0]]
    assert set(listed(workflow_id=second, trigger="api")) == {other_id}
    assert listed(workflow_id=second, trigger="webhook") == []
    assert listed(workflow_id=first, created_after=before.isoformat()) == [run_ids[1]]
    assert listed(workflow_id=first, created_before=before.isoformat()) == [run_ids[0]]


def test_paging_walks_every_run_once_newest_first(api: httpx.Client) -> None:
    workflow_id = greeting_workflow(api)
    started = [start(api, workflow_id, {"name": str(i)}).json()["run_id"] for i in range(5)]

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"workflow_id": workflow_id, "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.get("/runs", params=params).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert seen == list(reversed(started))


@pytest.mark.parametrize("params", [{"cursor": "garbage!"}, {"limit": "0"}, {"limit": "201"}, {"status": "done"}])
def test_bad_list_parameters_are_refused_naming_the_field(api: httpx.Client, params: dict[str, str]) -> None:
    answer = api.get("/runs", params=params)

    assert answer.status_code in (400, 422), answer.text
    assert next(iter(params)) in answer.text


def test_cancel_stops_a_running_run_and_refuses_a_finished_one(api: httpx.Client, stuck_site: LoopbackServer) -> None:
    run_id = start(api, hanging_workflow(api, stuck_site)).json()["run_id"]
    wait_for(api, run_id, {"running"})

    cancelled = api.post(f"/runs/{run_id}/cancel")

    assert cancelled.status_code == 202, cancelled.text
    run = wait_for(api, run_id, FINISHED)
    assert run["status"] == "cancelled"
    fetch = next(node for node in run["node_runs"] if node["node_id"] == "fetch")
    assert fetch["status"] == "cancelled"
    again = api.post(f"/runs/{run_id}/cancel")
    assert (again.status_code, again.json()["error"]) == (409, "run_finished")


def test_another_workspace_cannot_see_list_or_cancel_a_run(api: httpx.Client, v1_server: V1Server, keys: Keys) -> None:
    run_id = start(api, greeting_workflow(api), {"name": "x"}).json()["run_id"]

    with client_for(v1_server, keys.other) as other:
        answers = [
            other.get(f"/runs/{run_id}"),
            other.post(f"/runs/{run_id}/cancel"),
            other.get(f"/runs/{run_id}/events"),
        ]
        listed = other.get("/runs").json()["items"]

    assert [answer.status_code for answer in answers] == [404, 404, 404]
    assert run_id not in [item["id"] for item in listed]


def test_the_same_idempotency_key_and_body_start_one_run(api: httpx.Client) -> None:
    workflow_id = greeting_workflow(api)
    key = str(uuid.uuid4())

    first = start(api, workflow_id, {"name": "once"}, **{"Idempotency-Key": key})
    retry = start(api, workflow_id, {"name": "once"}, **{"Idempotency-Key": key})
    changed = start(api, workflow_id, {"name": "twice"}, **{"Idempotency-Key": key})

    assert (first.status_code, retry.status_code) == (202, 202)
    assert retry.json() == first.json()
    assert (first.headers["Idempotent-Replayed"], retry.headers["Idempotent-Replayed"]) == ("false", "true")
    assert (changed.status_code, changed.json()["error"]) == (422, "idempotency_key_reused")
    assert [item["id"] for item in api.get("/runs", params={"workflow_id": workflow_id}).json()["items"]] == [
        first.json()["run_id"]
    ]


def test_a_short_idempotency_key_is_refused(api: httpx.Client) -> None:
    answer = start(api, greeting_workflow(api), **{"Idempotency-Key": "abc"})

    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_idempotency_key")


def test_concurrent_requests_with_one_idempotency_key_start_exactly_one_run(
    api: httpx.Client, v1_server: V1Server, keys: Keys
) -> None:
    workflow_id = greeting_workflow(api)
    key = str(uuid.uuid4())

    def send(_: int) -> httpx.Response:
        with client_for(v1_server, keys.editor) as client:
            return start(client, workflow_id, {"name": "race"}, **{"Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(send, range(10)))

    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {202, 409}, [answer.text for answer in answers]
    run_ids = {answer.json()["run_id"] for answer in answers if answer.status_code == 202}
    assert len(run_ids) == 1
    conflicts = [answer for answer in answers if answer.status_code == 409]
    assert all(answer.json()["error"] == "idempotency_key_in_flight" for answer in conflicts)
    assert [item["id"] for item in api.get("/runs", params={"workflow_id": workflow_id}).json()["items"]] == list(
        run_ids
    )
