"""Compiling a workflow document into LangGraph graphs: the main flow and one per loop branch.

Every node is a LangGraph node with its own state channel. A node always settles once per run of
its graph: it runs when one of its wires is live (its source fired the wired handle), and is
skipped otherwise. A node with several sources waits for all of them (a LangGraph join), so a
`merge` runs exactly once whether or not a branch into it was taken, however deeply joins nest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypedDict

from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from runtime.engine.approval import (
    APPROVAL_TYPE,
    DecisionStep,
    approval_issues,
    decision_step,
    graph_source,
    open_request,
    request_branch,
)
from runtime.engine.loop import LoopBody, run_loop
from runtime.engine.node import NodeRuntime, execute, plain_call
from runtime.engine.plan import Plan, PlanNode, make_plan
from runtime.engine.replay import REPLAY_SOURCE, reuse
from runtime.engine.state import SKIPPED, Frame, channel, ran, visible_outputs
from runtime.engine.tools import bind_tools, tool_spec
from runtime.errors import WorkflowInvalid
from runtime.graph.schema import WorkflowDocument
from runtime.graph.validate import validate_document
from runtime.nodes import REGISTRY
from runtime.nodes.spec import Registry, Routed

OUTPUT_TYPE = "output"


@dataclass(frozen=True)
class CompiledWorkflow:
    """A workflow ready to run with `run_compiled`; reusable for any number of runs."""

    document: WorkflowDocument
    graph: CompiledStateGraph
    reportable: tuple[str, ...]
    """Nodes reported `node_skipped` when they did not run (all but agent tools), in document order."""
    output_ids: tuple[str, ...]
    main_ids: frozenset[str]
    """The nodes of the main flow (not in a loop's branch, not tools)."""
    config: dict[str, Any]
    """The LangGraph run config (recursion limit) for the main graph."""


def compile_workflow(document: WorkflowDocument, registry: Registry | None = None) -> CompiledWorkflow:
    """The runnable form of `document`, or `WorkflowInvalid` listing every problem by node id.

    Runs `validate_document` first; its problems and the compiler's own (loop branches, agent
    tools, cycles through loops) are reported together. Node types come from `registry`.
    """
    registry = REGISTRY if registry is None else registry
    issues = []
    try:
        validate_document(document, registry)
    except WorkflowInvalid as invalid:
        issues.extend(invalid.issues)
    plan = make_plan(document, registry)
    issues.extend(plan.issues)
    if not plan.issues:
        issues.extend(approval_issues(plan))
    if issues:
        raise WorkflowInvalid(issues)
    config = {"recursion_limit": len(document.nodes) + 10}
    builder = _Compiler(plan, config).state_graph(plan.members[None])
    return CompiledWorkflow(
        document=document,
        graph=builder.compile(),
        reportable=tuple(node.id for node in document.nodes if node.id not in plan.tool_ids),
        output_ids=tuple(node_id for node_id, node in plan.nodes.items() if node.node_type.type == OUTPUT_TYPE),
        main_ids=frozenset(plan.members[None]),
        config=config,
    )


class _Compiler:
    def __init__(self, plan: Plan, config: dict[str, Any]) -> None:
        self.plan = plan
        self.config = config
        self.runtimes: dict[str, NodeRuntime] = {}

    def state_graph(self, member_ids: list[str]) -> StateGraph:
        """A graph of these nodes, one state channel each, joined as their wires say."""
        state = TypedDict("WorkflowState", {channel(node_id): Any for node_id in member_ids}, total=False)  # type: ignore[misc]
        builder = StateGraph(state, context_schema=Frame)
        for node_id in member_ids:
            planned = self.plan.nodes[node_id]
            if planned.node_type.type == APPROVAL_TYPE:
                builder.add_node(node_id, _Step(self.runtime(node_id), planned, settle=open_request))
                builder.add_node(decision_step(node_id), DecisionStep(self.runtime(node_id)))
            else:
                builder.add_node(node_id, _Step(self.runtime(node_id), planned))
        for node_id in member_ids:
            sources = [graph_source(self.plan, wire) for wire in self.plan.nodes[node_id].wires]
            _join(builder, list(dict.fromkeys(sources)) or [START], node_id)
            if self.plan.nodes[node_id].node_type.type == APPROVAL_TYPE:
                _join(builder, [node_id, *request_branch(self.plan, node_id)], decision_step(node_id))
        return builder

    def runtime(self, node_id: str) -> NodeRuntime:
        """The runtime of `node_id`, built once: loops get their branch, agents their tools."""
        if node_id in self.runtimes:
            return self.runtimes[node_id]
        node = self.plan.nodes[node_id]
        call = plain_call(node.node_type.run)
        if node_id in self.plan.back:
            branch = self.state_graph(self.plan.members[node_id]).compile(checkpointer=False)
            body = LoopBody(branch, tuple(self.plan.back[node_id]), self.config)
            call = partial(run_loop, body, node.node_type.run)
        runtime = NodeRuntime(
            spec=node.spec,
            node_type=node.node_type,
            params=node.params,
            handles=node.node_type.output_handles(node.params),
            call=call,
            tools=tuple(tool_spec(self.runtime(tool_id)) for tool_id in node.tools),
        )
        self.runtimes[node_id] = runtime
        return runtime


def _join(builder: StateGraph, sources: list[str], target: str) -> None:
    """Run `target` once every one of `sources` has settled (a plain edge for one source)."""
    builder.add_edge(sources[0] if len(sources) == 1 else sources, target)


Settle = Callable[[NodeRuntime, Frame, dict[str, Any], dict[str, Any]], Awaitable[dict[str, Any]]]
"""What a live node does with its inputs and the visible outputs: the state update it returns."""


async def _execute(node: NodeRuntime, frame: Frame, inputs: dict[str, Any], outputs: dict[str, Any]) -> dict:
    output = await execute(node, frame, inputs, outputs, tools=bind_tools(node.tools, frame, inputs, outputs))
    if isinstance(output, Routed):
        return {channel(node.spec.id): ran(output.output, output.handles)}
    return {channel(node.spec.id): ran(output, node.handles)}


class _Step:
    """The LangGraph node of one workflow node: runs it if a wire into it is live, else marks it skipped.

    A class rather than a closure: LangGraph disassembles closures when compiling to look for
    subgraphs, which cost milliseconds per node.
    """

    def __init__(self, node: NodeRuntime, planned: PlanNode, settle: Settle = _execute) -> None:
        self.node = node
        self.key = channel(node.spec.id)
        self.wires = tuple((channel(wire.source), wire.handle, wire.source) for wire in planned.wires)
        self.fed_by = planned.fed_by
        self.starts = planned.starts
        self.settle = settle

    async def __call__(self, state: dict[str, Any], runtime: Runtime[Frame]) -> dict[str, Any]:
        frame, node = runtime.context, self.node
        if frame.loop is None and node.spec.id in frame.run.reuse:
            return {self.key: await reuse(frame.run, node.spec.id)}
        inputs: dict[str, Any] = {}
        if self.fed_by is not None and frame.loop is not None:
            inputs[self.fed_by] = frame.loop["item"]
        for source_key, handle, source in self.wires:
            slot = state[source_key]
            if handle in slot["handles"]:
                inputs.setdefault(source, slot["output"])
        if frame.loop is None and frame.run.replay_from == node.spec.id:
            inputs = {REPLAY_SOURCE: frame.run.replay_input}
        if not inputs and not self.starts:
            return {self.key: SKIPPED}
        return await self.settle(node, frame, inputs, visible_outputs(state, frame.outer))
