"""Approval nodes in the graph: a request step, then a decision step that pauses the run.

An `approval` node is two LangGraph nodes. The request step (named after the node) opens the
request and fires `request`, so nodes wired there (sending the links on) run while the decision
is pending. The decision step (`<id>.decision`) waits for them all (a join), then reads the
decision from the store: when there is none yet it calls LangGraph's `interrupt()`, and the run
stops with its checkpoint. Resuming re-executes the decision step from its start (LangGraph's
rule), which now finds the decision, so a resume needs no value passed in.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from runtime.engine.node import NodeRuntime, node_context, node_emitter, report_failure
from runtime.engine.plan import Plan, Wire
from runtime.engine.state import SKIPPED, Frame, channel, json_ready, ran
from runtime.errors import Issue
from runtime.nodes.approval import REQUEST_HANDLE

APPROVAL_TYPE = "approval"
DECISION_SUFFIX = ".decision"
"""Node ids are slugs without dots, so `<id>.decision` never names a workflow node."""


def decision_step(node_id: str) -> str:
    """The LangGraph node deciding approval `node_id`."""
    return node_id + DECISION_SUFFIX


def awaits_decision(node_type: str, handles: Sequence[str]) -> bool:
    """Whether a node of `node_type` that fired `handles` is an approval whose request is open, undecided."""
    return node_type == APPROVAL_TYPE and tuple(handles) == (REQUEST_HANDLE,)


def approval_ids(plan: Plan) -> list[str]:
    """The approval nodes of the plan, in document order."""
    return [node_id for node_id, node in plan.nodes.items() if node.node_type.type == APPROVAL_TYPE]


def graph_source(plan: Plan, wire: Wire) -> str:
    """The LangGraph node an edge along `wire` starts at: an approval's decisions leave its decision step."""
    node = plan.nodes[wire.source]
    if node.node_type.type == APPROVAL_TYPE and wire.handle != REQUEST_HANDLE:
        return decision_step(wire.source)
    return wire.source


def request_branch(plan: Plan, approval_id: str) -> list[str]:
    """The nodes reached from the approval's `request` output: its decision waits for every one of them."""
    return sorted(_reachable(plan, approval_id, lambda handle: handle == REQUEST_HANDLE) - {approval_id})


def approval_issues(plan: Plan) -> list[Issue]:
    """Approvals the engine cannot run: inside a loop's branch, or with a node reached both before and after
    the decision (it would wait for itself)."""
    issues = []
    for approval_id in approval_ids(plan):
        if approval_id not in plan.members[None]:
            message = "An approval cannot be inside a loop's per-item branch; put it before or after the loop."
            issues.append(Issue(approval_id, "edges", None, message, "approval_in_loop"))
            continue
        before = _reachable(plan, approval_id, lambda handle: handle == REQUEST_HANDLE)
        after = _reachable(plan, approval_id, lambda handle: handle != REQUEST_HANDLE)
        both = sorted(before & (after | {approval_id}))
        if both:
            message = (
                f"{', '.join(map(repr, both))} runs before the decision (reached from the request output) and "
                "after it too; the decision would wait for itself. Wire the request output to nodes that only "
                "send the request on."
            )
            issues.append(Issue(approval_id, "edges", both, message, "approval_waits_for_itself"))
    return issues


def _reachable(plan: Plan, start: str, first_handle: Any) -> set[str]:
    """Nodes reached from `start` leaving it through a handle `first_handle` accepts, then along any wire."""
    successors: dict[str, list[tuple[str, str]]] = {}
    for node_id, node in plan.nodes.items():
        for wire in node.wires:
            successors.setdefault(wire.source, []).append((wire.handle, node_id))
    stack = [target for handle, target in successors.get(start, ()) if first_handle(handle)]
    seen: set[str] = set()
    while stack:
        node_id = stack.pop()
        if node_id not in seen:
            seen.add(node_id)
            stack.extend(target for _, target in successors.get(node_id, ()))
    return seen


async def open_request(node: NodeRuntime, frame: Frame, inputs: dict[str, Any], outputs: dict[str, Any]) -> dict:
    """The request step: open the approval and fire `request` with it. A failure fails the node."""
    run, node_id = frame.run, node.spec.id
    emit = node_emitter(run, node_id, frame.loop)
    run.started.add(node_id)
    run.opened.add(node_id)
    ctx = node_context(node, frame, inputs, outputs, emit)
    await emit("node_started", {"attempt": 1, "input": json_ready(ctx.input)})
    try:
        request = await node.call(node.params, ctx, frame)
    except Exception as error:
        await report_failure(node, emit, 1, error)
        raise AssertionError("an approval request is tried once") from error
    return {channel(node_id): ran(request, (REQUEST_HANDLE,))}


class DecisionStep:
    """The LangGraph node that waits for the decision on one approval and fires its handle."""

    def __init__(self, node: NodeRuntime) -> None:
        self.node = node
        self.key = channel(node.spec.id)

    async def __call__(self, state: dict[str, Any], runtime: Runtime[Frame]) -> dict[str, Any]:
        slot = state.get(self.key, SKIPPED)
        run, node_id = runtime.context.run, self.node.spec.id
        if not slot["ran"] or node_id in run.reuse:  # skipped, or a replay took its decision from the original
            return {self.key: slot}
        emit = node_emitter(run, node_id, None)
        assert run.services.approvals is not None  # the request step refused to open without them
        decision = await run.services.approvals.decision(node_id)
        if decision is None:
            await emit("node_waiting", {"attempt": 1, "output": slot["output"]})
            interrupt({"node_id": node_id})  # stops the run; resuming runs this step again from its start
        began = time.perf_counter()
        run.started.add(node_id)
        if node_id not in run.opened:  # resumed: the request's node run was closed as waiting; open the decision's
            await emit("node_started", {"attempt": 1, "input": slot["output"]})
        handles = (decision["decision"],)
        duration_ms = round((time.perf_counter() - began) * 1000, 3)
        await emit("node_finished", {"attempt": 1, "output": decision, "duration_ms": duration_ms, "handles": handles})
        run.finished(node_id, decision)
        return {self.key: ran(decision, handles)}
