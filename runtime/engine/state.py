"""What one run of a compiled workflow carries: per-run scope, per-graph frames and state slots.

A compiled graph has one state channel per node (`out:<id>`), holding a small slot dict so that
"ran and output None" differs from "was skipped" and from "has not settled yet" (no slot).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.nodes.context import Services

EngineEmit = Callable[[str, str | None, dict[str, Any]], Awaitable[None]]
"""`await emit(event_type, node_id_or_none, data)`: hand one run event to the executor."""

CHANNEL_PREFIX = "out:"
SKIPPED: dict[str, Any] = {"ran": False, "handles": ()}


def channel(node_id: str) -> str:
    """The state channel holding the slot of node `node_id`."""
    return CHANNEL_PREFIX + node_id


def ran(output: Any, handles: tuple[str, ...]) -> dict[str, Any]:
    """The slot of a node that ran: its output and the output handles it fired."""
    return {"ran": True, "output": output, "handles": handles}


def visible_outputs(state: Mapping[str, Any], outer: Mapping[str, Any]) -> dict[str, Any]:
    """Outputs by node id of every node that ran: those of enclosing graphs, then this graph's."""
    outputs = dict(outer)
    cut = len(CHANNEL_PREFIX)
    for key, slot in state.items():
        if slot["ran"]:
            outputs[key[cut:]] = slot["output"]
    return outputs


@dataclass
class RunScope:
    """One run: what every node context needs, plus what the runner reports at the end."""

    run_id: str
    trigger: dict[str, Any]
    services: Services
    emit: EngineEmit
    started: set[str] = field(default_factory=set)
    results: dict[str, Any] = field(default_factory=dict)
    """Latest output by node id, for the run's result."""
    last_finished: str | None = None
    opened: set[str] = field(default_factory=set)
    """Approvals whose request step ran in this execution (their node run is still open)."""
    reuse: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    """A replay's slots taken from the original run, by node id: those nodes are not executed again."""
    replay_from: str | None = None
    """The node a replay starts at; it runs on `replay_input` instead of what is wired into it."""
    replay_input: Any = None

    def finished(self, node_id: str, output: Any) -> None:
        """Record that `node_id` finished with `output`."""
        self.results[node_id] = output
        self.last_finished = node_id


@dataclass(frozen=True)
class Frame:
    """One invocation of a compiled graph: the main flow, or one item of a loop's branch."""

    run: RunScope
    outer: Mapping[str, Any]
    """Outputs of the nodes of enclosing graphs, visible to this graph's nodes."""
    loop: dict[str, Any] | None = None
    """`{"item": ..., "index": ...}` inside a loop's per-item branch."""


def json_ready(value: Any) -> Any:
    """`value` with every part that is not JSON (str, number, bool, None, list, object) made a string."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    return str(value)
