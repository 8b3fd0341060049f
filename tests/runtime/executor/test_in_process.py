"""Runs through the in-process executor (no Redis): records, events, failure, timeout and cancel."""

from __future__ import annotations

import asyncio
import time
from itertools import pairwise
from typing import Any

import pytest
from sqlmodel import select

from runtime.config import get_settings
from runtime.events import open_event_stream
from runtime.executor.dispatch import cancel_run, start_run, trigger_payload
from runtime.store import NodeRun, Run, RunStatus, RunTrigger, get_engine, session_scope
from tests.loopback import LoopbackServer
from tests.runtime.executor.conftest import store_workflow

RESULT_TIMEOUT_S = 30


def document(nodes: list[dict[str, Any]], timeout_s: float = 300) -> dict[str, Any]:
    """A document wiring `nodes` one after another."""
    edges = [{"id": f"e{i}", "source": a["id"], "target": b["id"]} for i, (a, b) in enumerate(pairwise(nodes))]
    positioned = [{**node, "type_version": 1, "position": {"x": 260 * i, "y": 0}} for i, node in enumerate(nodes)]
    return {"format": "trellis.workflow", "format_version": 1, "name": "Test", "nodes": positioned,
            "edges": edges, "settings": {"timeout_s": timeout_s}}  # fmt: skip


GREETING = document([
    {"id": "start", "type": "manual_trigger"},
    {"id": "greet", "type": "set", "params": {"fields": {"text": "Hello {{ trigger.body.name }}"}}},
    {"id": "result", "type": "output", "params": {"value": "{{ nodes.greet.output.text }}"}},
])  # fmt: skip


def run_row(run_id: str) -> Run:
    with session_scope(get_engine()) as session:
        run = session.get(Run, run_id)
        assert run is not None
        return run


def node_runs(run_id: str) -> list[NodeRun]:
    with session_scope(get_engine()) as session:
        return list(session.exec(select(NodeRun).where(NodeRun.run_id == run_id).order_by(NodeRun.started_at)))


def history(run_id: str) -> list[Any]:
    return asyncio.run(open_event_stream(get_settings()).history(run_id))


def test_a_run_succeeds_and_records_every_node_and_event(configured: str) -> None:
    workflow_id = store_workflow(configured, GREETING)
    run_id, future = start_run(get_settings(), configured, workflow_id, trigger_payload({"name": "Ada"}),
                               RunTrigger.MANUAL)  # fmt: skip
    assert future is not None
    assert future.result(RESULT_TIMEOUT_S) is RunStatus.SUCCEEDED

    run = run_row(run_id)
    assert (run.status, run.output) == (RunStatus.SUCCEEDED, "Hello Ada")
    assert run.started_at is not None and run.finished_at is not None
    records = {record.node_id: record for record in node_runs(run_id)}
    assert set(records) == {"start", "greet", "result"}
    assert records["greet"].output == {"text": "Hello Ada"}
    assert records["greet"].input == {"name": "Ada"}
    assert all(r.attempt == 1 and r.finished_at and r.finished_at >= r.started_at for r in records.values())

    events = history(run_id)
    types = [event.type for event in events]
    assert types[0] == "run_started" and types[-1] == "run_finished"
    assert [event.seq for event in events] == list(range(1, len(events) + 1))
    assert types.count("node_finished") == 3
    assert events[-1].data["status"] == "succeeded"


def test_a_failing_node_fails_the_run_naming_the_node(configured: str) -> None:
    broken = document([
        {"id": "start", "type": "manual_trigger"},
        {"id": "greet", "type": "set", "params": {"fields": {"text": "{{ trigger.body.missing.deeper }}"}}},
    ])  # fmt: skip
    workflow_id = store_workflow(configured, broken)
    run_id, future = start_run(get_settings(), configured, workflow_id, trigger_payload({}), RunTrigger.MANUAL)
    assert future is not None and future.result(RESULT_TIMEOUT_S) is RunStatus.FAILED
    run = run_row(run_id)
    assert run.error is not None and run.error["node_id"] == "greet"
    failed = [r for r in node_runs(run_id) if r.node_id == "greet"]
    assert failed and failed[-1].status == "failed" and "missing" in str(failed[-1].error)


def test_the_whole_run_timeout_stops_a_slow_node(configured: str, slow_server: LoopbackServer) -> None:
    slow = document([
        {"id": "start", "type": "manual_trigger"},
        {"id": "fetch", "type": "http_request", "params": {"url": slow_server.url('/slow'), "timeout_s": 60}},
    ], timeout_s=1)  # fmt: skip
    workflow_id = store_workflow(configured, slow)
    started = time.monotonic()
    run_id, future = start_run(get_settings(), configured, workflow_id, trigger_payload({}), RunTrigger.MANUAL)
    assert future is not None and future.result(RESULT_TIMEOUT_S) is RunStatus.FAILED
    assert time.monotonic() - started < 5
    run = run_row(run_id)
    assert run.error is not None and "1 s limit" in run.error["message"]
    assert [r.status for r in node_runs(run_id) if r.node_id == "fetch"] == ["failed"]


def test_cancel_stops_the_running_node_and_ends_cancelled(configured: str, slow_server: LoopbackServer) -> None:
    slow = document([
        {"id": "start", "type": "manual_trigger"},
        {"id": "fetch", "type": "http_request", "params": {"url": slow_server.url('/slow'), "timeout_s": 60}},
        {"id": "after", "type": "set", "params": {"fields": {"x": "1"}}},
    ])  # fmt: skip
    workflow_id = store_workflow(configured, slow)
    run_id, future = start_run(get_settings(), configured, workflow_id, trigger_payload({}), RunTrigger.MANUAL)
    deadline = time.monotonic() + 10
    while slow_server.requests == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slow_server.requests == 1
    cancelled_at = time.monotonic()
    with session_scope(get_engine()) as session:
        cancel_run(session, get_settings(), configured, run_id)
    assert future is not None and future.result(RESULT_TIMEOUT_S) is RunStatus.CANCELLED
    assert time.monotonic() - cancelled_at < 2
    statuses = {r.node_id: r.status for r in node_runs(run_id)}
    assert statuses["fetch"] == "cancelled" and "after" not in statuses
    assert history(run_id)[-1].data["status"] == "cancelled"


def test_cancelling_a_queued_run_ends_it_before_it_starts(configured: str) -> None:
    from runtime.executor.dispatch import create_run

    workflow_id = store_workflow(configured, GREETING)
    with session_scope(get_engine()) as session:
        run = create_run(session, configured, workflow_id, trigger_payload({}), RunTrigger.API)
    with session_scope(get_engine()) as session:
        cancel_run(session, get_settings(), configured, run.id)
    assert run_row(run.id).status is RunStatus.CANCELLED


def test_starting_another_workspaces_workflow_is_not_found_and_stores_nothing(configured: str) -> None:
    from runtime.errors import NotFound
    from runtime.store import Workspace

    workflow_id = store_workflow(configured, GREETING)
    with session_scope(get_engine()) as session:
        other = Workspace(name="Other")
        session.add(other)
    for workspace_id, missing in ((other.id, workflow_id), (configured, "wf_missing")):
        with pytest.raises(NotFound, match=f"{missing}' not found"):
            start_run(get_settings(), workspace_id, missing, trigger_payload({}), RunTrigger.API)
    with session_scope(get_engine()) as session:
        assert list(session.exec(select(Run))) == []
