"""How the engine reads a workflow: the main flow, each loop's per-item branch and agent tools.

`make_plan` is pure. Besides the plan it gathers the problems only the compiler cares about
(loop branches, tool wiring, cycles through loops), each named by node id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError

from runtime.errors import Issue
from runtime.graph.cycles import find_cycles
from runtime.graph.schema import EdgeSpec, NodeSpec, WorkflowDocument
from runtime.nodes.spec import NodeType, Registry

TOOLS_HANDLE = "tools"
ITEM_HANDLE = "item"
BACK_HANDLE = "back"


@dataclass(frozen=True)
class Wire:
    """An incoming edge from a node of the same graph: it is live when `source` fired `handle`."""

    source: str
    handle: str


@dataclass
class PlanNode:
    """One runnable node and how it is wired in the graph it belongs to."""

    spec: NodeSpec
    node_type: NodeType
    params: BaseModel
    wires: list[Wire] = field(default_factory=list)
    fed_by: str | None = None
    """The loop whose `item` output feeds this node (the first nodes of a per-item branch)."""
    starts: bool = False
    """Runs without any live wire: an entry of the main flow or of a per-item branch."""
    tools: list[str] = field(default_factory=list)
    """Ids of the nodes wired into this node's `tools` input, in wire order."""


@dataclass
class Plan:
    """A workflow split into graphs; only meaningful when `issues` is empty."""

    nodes: dict[str, PlanNode]
    members: dict[str | None, list[str]]
    """Graph -> its node ids in document order; None is the main flow, a loop id its branch."""
    back: dict[str, list[str]]
    """Loop id -> the nodes wired into its `back` input, in wire order."""
    tool_ids: set[str]
    issues: list[Issue]


def make_plan(document: WorkflowDocument, registry: Registry) -> Plan:
    """The plan of `document`; nodes of unknown types or with invalid params are left out."""
    return _Analysis(document, registry).run()


class _Analysis:
    def __init__(self, document: WorkflowDocument, registry: Registry) -> None:
        self.nodes: dict[str, PlanNode] = {}
        for spec in document.nodes:
            node_type = registry.get(spec.type, spec.type_version)
            if node_type is None or spec.id in self.nodes:
                continue
            try:
                params = node_type.params.model_validate(spec.params)
            except ValidationError:
                continue  # validate_document reports it
            self.nodes[spec.id] = PlanNode(spec, node_type, params)
        self.edges = [
            (index, edge)
            for index, edge in enumerate(document.edges)
            if edge.source in self.nodes and edge.target in self.nodes
        ]
        self.node_count = len(document.nodes)
        self.issues: list[Issue] = []

    def _add(self, node_id: str | None, field: str, value: object, message: str, code: str) -> None:
        self.issues.append(Issue(node_id, field, value, message, code))

    def run(self) -> Plan:
        tool_edges = [edge for _, edge in self.edges if self._is_tool_edge(edge)]
        tool_ids = {edge.source for edge in tool_edges}
        self._check_tools(tool_edges, tool_ids)
        for edge in tool_edges:
            if edge.source not in self.nodes[edge.target].tools:
                self.nodes[edge.target].tools.append(edge.source)
        flow = [(i, e) for i, e in self.edges if e.source not in tool_ids and e.target not in tool_ids]
        loops = [node_id for node_id, node in self.nodes.items() if node.node_type.may_loop and node_id not in tool_ids]
        # A wire into a loop's back input returns from that loop's branch; the flow does not go on there.
        onward = [e for _, e in flow if not (e.target in loops and e.target_handle == BACK_HANDLE)]
        bodies = {loop: _branch(loop, onward) for loop in loops}
        back = {
            loop: _unique(e.source for _, e in flow if (e.target, e.target_handle) == (loop, BACK_HANDLE))
            for loop in loops
        }
        self._check_back(bodies, back)
        self._check_branch_wiring(bodies, flow)
        self._check_cycles(flow, set(loops), tool_ids)
        members: dict[str | None, list[str]] = {None: []}
        if not self.issues:
            members = self._assign(bodies, flow, tool_ids)
            if not members[None] and len(self.nodes) == self.node_count:
                self._add(None, "nodes", [], "The workflow has no nodes to run; add a trigger.", "nothing_to_run")
        return Plan(self.nodes, members, back, tool_ids, self.issues)

    def _is_tool_edge(self, edge: EdgeSpec) -> bool:
        return edge.target_handle == TOOLS_HANDLE and TOOLS_HANDLE in self.nodes[edge.target].node_type.inputs

    def _check_tools(self, tool_edges: list[EdgeSpec], tool_ids: set[str]) -> None:
        for tool_id in (node_id for node_id in self.nodes if node_id in tool_ids):
            node_type = self.nodes[tool_id].node_type
            agents = ", ".join(repr(agent) for agent in _unique(e.target for e in tool_edges if e.source == tool_id))
            where = f"{tool_id!r} is wired into the tools input of {agents}"
            if node_type.is_trigger or node_type.may_loop:
                message = f"{where}, but a {node_type.type!r} node cannot be an agent's tool."
                self._add(tool_id, "type", node_type.type, message, "bad_tool")
            others = [
                edge.id
                for _, edge in self.edges
                if tool_id in (edge.source, edge.target) and not self._is_tool_edge(edge)
            ]
            if others:
                message = (
                    f"{where}, so only the agent runs it, as a tool; it cannot also be wired into the flow "
                    f"(edges {', '.join(map(repr, others))}). Remove those wires or use a separate node."
                )
                self._add(tool_id, "edges", others, message, "tool_in_flow")

    def _check_back(self, bodies: dict[str, set[str]], back: dict[str, list[str]]) -> None:
        for loop, sources in back.items():
            if not sources:
                message = (
                    f"Nothing is wired into the back input of loop {loop!r}: wire the last node of the "
                    "branch that starts at its item output into back."
                )
                self._add(loop, "back", None, message, "loop_without_back")
            for source in sources:
                if source not in bodies[loop]:
                    message = (
                        f"{source!r} is wired into the back input of loop {loop!r} but is not reachable from the "
                        "loop's item output; wire back the last node of the branch that starts at item."
                    )
                    self._add(loop, "back", source, message, "back_not_in_loop")

    def _check_branch_wiring(self, bodies: dict[str, set[str]], flow: list[tuple[int, EdgeSpec]]) -> None:
        in_two = self._check_overlaps(bodies)
        for index, edge in flow:
            for loop, body in bodies.items():
                inside, from_inside = edge.target in body, edge.source in body
                if not inside or from_inside or edge.target in in_two:
                    continue
                if edge.source == loop and edge.source_handle == ITEM_HANDLE:
                    continue
                message = (
                    f"{edge.target!r} is in the per-item branch of loop {loop!r}, but edge {edge.id!r} wires it from "
                    f"the {edge.source_handle!r} output of {edge.source!r}, which is outside that branch. "
                    f"Read that value with {{{{ nodes.{edge.source}.output }}}} instead."
                )
                self._add(edge.target, f"edges[{index}]", edge.id, message, "wired_into_loop")

    def _check_overlaps(self, bodies: dict[str, set[str]]) -> set[str]:
        """Report nodes in the branches of two loops neither of which holds the other; return them."""
        reported: set[str] = set()
        loops = list(bodies)
        for position, first in enumerate(loops):
            for second in loops[position + 1 :]:
                nested = first in bodies[second], second in bodies[first]
                if all(nested):
                    message = f"Loops {first!r} and {second!r} are each inside the other's per-item branch."
                    self._add(first, "edges", second, message, "intertwined_loops")
                if any(nested):
                    continue
                for node_id in sorted(bodies[first] & bodies[second] - reported, key=list(self.nodes).index):
                    message = (
                        f"{node_id!r} is reachable from the per-item branches of two loops, {first!r} and "
                        f"{second!r}; a node can be in one loop's branch only (or nest one loop in the other)."
                    )
                    self._add(node_id, "edges", [first, second], message, "in_two_loops")
                    reported.add(node_id)
        return reported

    def _check_cycles(self, flow: list[tuple[int, EdgeSpec]], loops: set[str], tool_ids: set[str]) -> None:
        # Cycles through no loop are reported by validate_document; the loop's own branch returns
        # through `back`, so those edges are not part of any cycle.
        wires = [(e.source, e.target) for _, e in flow if not (e.target in loops and e.target_handle == BACK_HANDLE)]
        for cycle in find_cycles([node_id for node_id in self.nodes if node_id not in tool_ids], wires):
            if loops.intersection(cycle):
                message = (
                    f"These nodes form a cycle: {' -> '.join(cycle)}. A loop's per-item branch must return to the "
                    "loop through its back input, never through in."
                )
                self._add(cycle[0], "edges", cycle[:-1], message, "loop_cycle")

    def _assign(
        self, bodies: dict[str, set[str]], flow: list[tuple[int, EdgeSpec]], tool_ids: set[str]
    ) -> dict[str | None, list[str]]:
        owner: dict[str, str] = {}
        for loop in sorted(bodies, key=lambda loop: -len(bodies[loop])):  # outer loops first, inner ones win
            owner.update(dict.fromkeys(bodies[loop], loop))
        members: dict[str | None, list[str]] = {None: [], **{loop: [] for loop in bodies}}
        for node_id in self.nodes:
            if node_id not in tool_ids:
                members[owner.get(node_id)].append(node_id)
        for _, edge in flow:
            target = self.nodes[edge.target]
            if owner.get(edge.source) == owner.get(edge.target):
                target.wires.append(Wire(edge.source, edge.source_handle))
            elif edge.source_handle == ITEM_HANDLE and owner.get(edge.target) == edge.source:
                target.fed_by = edge.source
        roots = [self.nodes[node_id] for node_id in members[None] if not self.nodes[node_id].wires]
        has_trigger = any(node.node_type.is_trigger for node in roots)
        for node in roots:
            node.starts = node.node_type.is_trigger or not has_trigger
        for loop in bodies:
            for node_id in members[loop]:
                self.nodes[node_id].starts = self.nodes[node_id].fed_by is not None
        return members


def _branch(loop: str, flow: list[EdgeSpec]) -> set[str]:
    """Nodes reachable from `loop`'s item output without passing through `loop` itself."""
    successors: dict[str, list[str]] = {}
    for edge in flow:
        successors.setdefault(edge.source, []).append(edge.target)
    stack = [edge.target for edge in flow if edge.source == loop and edge.source_handle == ITEM_HANDLE]
    seen: set[str] = set()
    while stack:
        node_id = stack.pop()
        if node_id == loop or node_id in seen:
            continue
        seen.add(node_id)
        stack.extend(successors.get(node_id, ()))
    return seen


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
