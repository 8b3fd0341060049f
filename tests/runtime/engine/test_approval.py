"""The approval node in the engine: the request branch runs, the run pauses (LangGraph interrupt) and,
resumed from its checkpoint once decided, continues through the decision's handle only."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from runtime.engine import compile_workflow
from runtime.errors import WorkflowInvalid
from runtime.graph.schema import WorkflowDocument
from runtime.nodes import REGISTRY
from tests.runtime.approvals.flows import edge, node
from tests.runtime.engine.helpers import Run, execute, start


def document(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": "trellis.workflow", "format_version": 1, "name": "Approval", "nodes": nodes, "edges": edges}


class Desk:
    """An in-memory approval desk (the stored one is tested in tests/runtime/approvals)."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, str, float | None]] = []
        self.decisions: dict[str, dict[str, Any]] = {}

    async def request(self, node_id: str, message: str, timeout_s: float | None) -> dict[str, Any]:
        self.opened.append((node_id, message, timeout_s))
        return {"message": message, "approve_url": f"https://x/approvals/{node_id}?decision=approve",
                "reject_url": f"https://x/approvals/{node_id}?decision=reject", "expires_at": "later"}  # fmt: skip

    async def decision(self, node_id: str) -> dict[str, Any] | None:
        return self.decisions.get(node_id)


def refund(timeout_s: float | None = None) -> dict[str, Any]:
    ask = {"message": "Refund {{ trigger.body.amount }}?", **({"timeout_s": timeout_s} if timeout_s else {})}
    return document(
        [node("start", "manual_trigger"), node("ask", "approval", **ask),
         node("notify", "template", template="Decide at {{ input.approve_url }}"),
         node("relay", "set", fields={"sent": "{{ input }}"}),
         node("pay", "set", fields={"by": "{{ nodes.ask.output.decided_by }}"}), node("refuse", "set")],
        [edge("start", "ask"), edge("ask", "notify", "request"), edge("notify", "relay"),
         edge("ask", "pay", "approved"), edge("ask", "refuse", "rejected")],
    )  # fmt: skip


def run(raw: dict[str, Any], desk: Desk, saver: InMemorySaver, body: Any = None, *, resume: bool = False) -> Run:
    events: list[tuple[str, str | None, dict[str, Any]]] = []
    work = start(raw, body, events=events, approvals=desk, checkpointer=saver, resume=resume)
    return Run(asyncio.run(asyncio.wait_for(work, timeout=20)), events)


def test_the_request_branch_runs_whole_then_the_run_pauses_at_the_decision() -> None:
    desk, saver = Desk(), InMemorySaver()

    first = run(refund(), desk, saver, {"amount": 30})

    assert (first.outcome.status, first.outcome.waiting_on) == ("waiting", ("ask",))
    assert desk.opened == [("ask", "Refund 30?", None)]
    assert first.kinds("ask") == ["node_started", "node_waiting"]
    assert first.of("relay")[-1][1]["output"] == {"sent": "Decide at https://x/approvals/ask?decision=approve"}
    assert first.kinds("pay") == first.kinds("refuse") == []  # not even skipped: they wait for the decision

    again = run(refund(), desk, saver, resume=True)  # resumed before anyone decided: still waiting, nothing re-ran
    assert again.outcome.status == "waiting" and again.kinds("notify") == [] and again.kinds("start") == []


def test_once_decided_the_resumed_run_takes_the_decisions_handle_and_reruns_nothing_before() -> None:
    desk, saver = Desk(), InMemorySaver()
    run(refund(), desk, saver, {"amount": 30})
    desk.decisions["ask"] = {"decision": "approved", "comment": "ok", "decided_by": "ada", "decided_at": "now"}

    resumed = run(refund(), desk, saver, resume=True)

    assert resumed.outcome.status == "succeeded"
    assert resumed.kinds("ask") == ["node_started", "node_finished"]
    assert resumed.of("ask")[-1][1]["handles"] == ("approved",)
    assert resumed.of("pay")[-1][1]["output"] == {"by": "ada"}
    assert resumed.skipped() == ["refuse"]
    assert resumed.kinds("start") == resumed.kinds("notify") == resumed.kinds("relay") == []
    assert len(desk.opened) == 1


def test_a_decision_made_before_the_pause_needs_no_pause() -> None:
    desk = Desk()
    desk.decisions["ask"] = {"decision": "rejected", "comment": None, "decided_by": "bob", "decided_at": "now"}
    done = run(refund(), desk, InMemorySaver(), {"amount": 1})
    assert done.outcome.status == "succeeded"
    assert done.kinds("ask") == ["node_started", "node_finished"]
    assert done.skipped() == ["pay"] and done.of("refuse")[-1][0] == "node_finished"


def test_timed_out_is_a_handle_only_with_a_timeout() -> None:
    approval = REGISTRY.get("approval", 1)
    assert approval is not None
    assert approval.output_handles({"message": "?"}) == ("request", "approved", "rejected")
    assert approval.output_handles({"message": "?", "timeout_s": 60}) == (
        "request",
        "approved",
        "rejected",
        "timed_out",
    )
    with pytest.raises(WorkflowInvalid, match="timed_out"):
        compile_workflow(WorkflowDocument.model_validate(document(
            [node("start", "manual_trigger"), node("ask", "approval", message="?"), node("late", "set")],
            [edge("start", "ask"), edge("ask", "late", "timed_out")],
        )))  # fmt: skip


def test_approvals_the_engine_cannot_run_are_named_when_compiling() -> None:
    waits_for_itself = document(
        [node("start", "manual_trigger"), node("ask", "approval", message="?"), node("note", "set"),
         node("join", "merge")],
        [edge("start", "ask"), edge("ask", "note", "request"), edge("note", "join"),
         edge("ask", "join", "approved")],
    )  # fmt: skip
    in_loop = document(
        [node("start", "manual_trigger"), node("each", "loop", items="{{ [1, 2] }}"),
         node("ask", "approval", message="?"), node("done", "set")],
        [edge("start", "each"), edge("each", "ask", "item"),
         {**edge("ask", "each", "approved"), "target_handle": "back"}, edge("each", "done", "done")],
    )  # fmt: skip
    for raw, code in ((waits_for_itself, "approval_waits_for_itself"), (in_loop, "approval_in_loop")):
        with pytest.raises(WorkflowInvalid) as raised:
            compile_workflow(WorkflowDocument.model_validate(raw))
        assert [issue.code for issue in raised.value.issues] == [code]
        assert raised.value.issues[0].node_id == "ask"


def test_without_a_stored_run_the_approval_fails_saying_why() -> None:
    done = execute(refund(), {"amount": 1})
    assert done.outcome.status == "failed" and done.outcome.error is not None
    assert "only a stored run" in done.outcome.error["message"]
