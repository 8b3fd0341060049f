"""`GET /api/v1/runs/{id}/events`: SSE replay, resuming with Last-Event-ID, live following, expired streams."""

from __future__ import annotations

import httpx
import pytest
import redis

from runtime.events import events_key
from tests.api.v1_fixtures import V1Server
from tests.api.v1_runs import FINISHED, greeting_workflow, hanging_workflow, start, stream, wait_for
from tests.loopback import LoopbackServer


def test_a_finished_run_replays_every_event_then_the_stream_ends(api: httpx.Client) -> None:
    run_id = start(api, greeting_workflow(api), {"name": "Ada"}).json()["run_id"]
    wait_for(api, run_id, FINISHED)

    frames = stream(api, run_id)

    assert [frame["event"] for frame in frames] == [
        "run_started", "node_started", "node_finished", "node_started", "node_finished", "node_started",
        "node_finished", "run_finished",
    ]  # fmt: skip
    assert [frame["data"]["seq"] for frame in frames] == list(range(1, 9))
    assert all(frame["id"] == frame["data"]["id"] for frame in frames)
    assert frames[-1]["data"]["data"]["output"] == "Hello Ada"


def test_last_event_id_resumes_right_after_that_event(api: httpx.Client) -> None:
    run_id = start(api, greeting_workflow(api), {"name": "Bo"}).json()["run_id"]
    wait_for(api, run_id, FINISHED)
    everything = stream(api, run_id)

    rest = stream(api, run_id, last_event_id=everything[2]["id"])

    assert rest == everything[3:]
    assert stream(api, run_id, last_event_id=everything[-1]["id"]) == []


def test_a_live_run_is_followed_and_a_dropped_client_resumes_without_gaps(
    api: httpx.Client, stuck_site: LoopbackServer
) -> None:
    run_id = start(api, hanging_workflow(api, stuck_site)).json()["run_id"]

    # Given a client that saw the run start and the fetch node begin, then dropped the connection
    seen = stream(api, run_id, limit=4)
    assert [frame["event"] for frame in seen] == ["run_started", "node_started", "node_finished", "node_started"]
    # When the run ends while it is away, and it reconnects with the last id it saw
    assert api.post(f"/runs/{run_id}/cancel").status_code == 202
    rest = stream(api, run_id, last_event_id=seen[-1]["id"])

    # Then it gets exactly the events after that one, through run_finished
    assert [frame["data"]["seq"] for frame in rest] == list(range(5, 5 + len(rest)))
    assert rest[-1]["event"] == "run_finished"
    assert rest[-1]["data"]["data"]["status"] == "cancelled"


@pytest.mark.parametrize("bad", ["yesterday", "12-ab", "-1", "1-2-3"])
def test_a_malformed_last_event_id_is_refused(api: httpx.Client, bad: str) -> None:
    run_id = start(api, greeting_workflow(api), {"name": "x"}).json()["run_id"]

    answer = api.get(f"/runs/{run_id}/events", headers={"Last-Event-ID": bad})

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_last_event_id"
    assert bad in answer.json()["message"]


def test_an_unknown_run_has_no_events(api: httpx.Client) -> None:
    answer = api.get("/runs/run_missing/events")

    assert (answer.status_code, answer.json()["error"]) == (404, "not_found")


def test_a_finished_run_whose_stream_expired_is_answered_from_its_stored_record(
    api: httpx.Client, v1_server: V1Server
) -> None:
    run_id = start(api, greeting_workflow(api), {"name": "Cy"}).json()["run_id"]
    wait_for(api, run_id, FINISHED)
    with redis.Redis.from_url(v1_server.redis_url) as client:
        assert client.delete(events_key(run_id)) == 1  # what the stream TTL does an hour after the run

    frames = stream(api, run_id)

    assert [(frame["event"], frame["data"]["node_id"]) for frame in frames] == [
        ("run_started", None), ("node_finished", "start"), ("node_finished", "greet"),
        ("node_finished", "result"), ("run_finished", None),
    ]  # fmt: skip
    assert all(frame["data"]["data"]["stored"] for frame in frames)
    assert frames[-1]["data"]["data"]["output"] == "Hello Cy"
    assert stream(api, run_id, last_event_id=frames[1]["id"]) == frames[2:]
    # A client that saw live events before the stream expired still learns how the run ended.
    assert [frame["event"] for frame in stream(api, run_id, last_event_id="1712345678901-0")] == ["run_finished"]
