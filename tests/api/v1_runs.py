"""Helpers for tests that start runs: workflows that finish at once or hang, polling, and SSE frames."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from tests.loopback import LoopbackServer
from tests.runtime.executor.test_in_process import GREETING, document

FINISHED = {"succeeded", "failed", "cancelled"}


def greeting_workflow(api: httpx.Client) -> str:
    """A saved `manual_trigger -> set -> output` workflow answering "Hello <name>"; its id."""
    created = api.post("/workflows", json={"document": GREETING})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def hanging_workflow(api: httpx.Client, site: LoopbackServer) -> str:
    """A saved workflow whose `fetch` node waits on `site` for a minute; its id."""
    hanging = document([
        {"id": "start", "type": "manual_trigger"},
        {"id": "fetch", "type": "http_request", "params": {"url": site.url("/hang"), "timeout_s": 120}},
        {"id": "result", "type": "output"},
    ])  # fmt: skip
    created = api.post("/workflows", json={"document": hanging})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def start(api: httpx.Client, workflow_id: str, body: Any = None, **headers: str) -> httpx.Response:
    """`POST /runs` for the workflow with `body` as input."""
    payload: dict[str, Any] = {"workflow_id": workflow_id}
    if body is not None:
        payload["input"] = body
    return api.post("/runs", json=payload, headers=headers)


def wait_for(api: httpx.Client, run_id: str, statuses: set[str], timeout_s: float = 30) -> dict[str, Any]:
    """The run once its status is one of `statuses`; fails after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        run = api.get(f"/runs/{run_id}").json()
        if run["status"] in statuses or time.monotonic() > deadline:
            assert run["status"] in statuses, run
            return dict(run)
        time.sleep(0.1)


def read_frames(response: httpx.Response, limit: int | None = None) -> list[dict[str, Any]]:
    """SSE frames of a streaming response as `{id, event, data}` dicts (comments skipped), up to `limit`."""
    frames: list[dict[str, Any]] = []
    frame: dict[str, Any] = {}
    for line in response.iter_lines():
        if line.startswith(":"):
            continue
        if line == "":
            if frame:
                frames.append(frame)
                frame = {}
                if limit is not None and len(frames) >= limit:
                    break
            continue
        name, _, value = line.partition(": ")
        frame[name] = json.loads(value) if name == "data" else value
    return frames


def stream(
    api: httpx.Client, run_id: str, last_event_id: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """The run's SSE frames (after `last_event_id`), read until the stream ends or `limit` frames."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    with api.stream("GET", f"/runs/{run_id}/events", headers=headers, timeout=30) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return read_frames(response, limit)
