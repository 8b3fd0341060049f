"""Workflows with an approval node, and helpers to run them and read what they left behind."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlmodel import col, select

from runtime.config import get_settings
from runtime.events import open_event_stream
from runtime.executor.dispatch import start_run, trigger_payload
from runtime.store import AuditEvent, NodeRun, Run, RunStatus, RunTrigger, get_engine, session_scope
from runtime.store.approvals import Approval
from tests.runtime.executor.conftest import store_workflow

FINISHED = {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED}


def node(node_id: str, type: str, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type, "type_version": 1, "params": params, "position": {"x": 0, "y": 0}}


def edge(source: str, target: str, handle: str = "out") -> dict[str, Any]:
    return {"id": f"{source}-{handle}-{target}", "source": source, "source_handle": handle, "target": target,
            "target_handle": "in"}  # fmt: skip


def refund_flow(timeout_s: float | None = None) -> dict[str, Any]:
    """start -> ask (approval); request -> notify; approved -> pay; rejected -> refuse; timed_out -> late."""
    ask = {"message": "Refund {{ trigger.body.amount }} EUR?", **({"timeout_s": timeout_s} if timeout_s else {})}
    nodes = [
        node("start", "manual_trigger"),
        node("ask", "approval", **ask),
        node("notify", "template", template="Please decide: {{ input.approve_url }}"),
        node("pay", "set", fields={"paid": "{{ trigger.body.amount }}", "by": "{{ nodes.ask.output.decided_by }}"}),
        node("refuse", "set", fields={"refused": "yes"}),
    ]
    edges = [edge("start", "ask"), edge("ask", "notify", "request"), edge("ask", "pay", "approved"),
             edge("ask", "refuse", "rejected")]  # fmt: skip
    if timeout_s:
        nodes.append(node("late", "set", fields={"late": "yes"}))
        edges.append(edge("ask", "late", "timed_out"))
    return {"format": "trellis.workflow", "format_version": 1, "name": "Refund", "nodes": nodes, "edges": edges,
            "settings": {"timeout_s": 60}}  # fmt: skip


def start(workspace_id: str, document: dict[str, Any], body: Any) -> tuple[str, str, RunStatus]:
    """Store and run `document`; the workflow id, run id and the status its first execution ended in."""
    workflow_id = store_workflow(workspace_id, document)
    run_id, future = start_run(get_settings(), workspace_id, workflow_id, trigger_payload(body), RunTrigger.MANUAL)
    assert future is not None
    return workflow_id, run_id, future.result(30)


def run_row(run_id: str) -> Run:
    with session_scope(get_engine()) as session:
        run = session.get(Run, run_id)
        assert run is not None
        return run


def wait_until_finished(run_id: str, timeout_s: float = 30) -> Run:
    """The run once it has finished (it resumes on the executor's thread)."""
    deadline = time.monotonic() + timeout_s
    while (run := run_row(run_id)).status not in FINISHED:
        assert time.monotonic() < deadline, f"run {run_id} is still {run.status}"
        time.sleep(0.05)
    return run


def node_runs(run_id: str) -> list[NodeRun]:
    with session_scope(get_engine()) as session:
        query = select(NodeRun).where(NodeRun.run_id == run_id).order_by(col(NodeRun.started_at), col(NodeRun.id))
        return list(session.exec(query))


def latest(run_id: str) -> dict[str, NodeRun]:
    """The last node run of each node."""
    return {row.node_id: row for row in node_runs(run_id)}


def approval(run_id: str, node_id: str = "ask") -> Approval:
    with session_scope(get_engine()) as session:
        row = session.exec(select(Approval).where(Approval.run_id == run_id, Approval.node_id == node_id)).first()
        assert row is not None
        return row


def audit_actions(run_id: str) -> list[str]:
    with session_scope(get_engine()) as session:
        return [event.action for event in session.exec(select(AuditEvent).where(AuditEvent.target_id == run_id))]


def event_types(run_id: str) -> list[str]:
    return [event.type for event in asyncio.run(open_event_stream(get_settings()).history(run_id))]
