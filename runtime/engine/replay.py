"""Replaying a run from a chosen node: the nodes before it report their original results, unexecuted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.engine.state import SKIPPED, RunScope, ran

REPLAY_SOURCE = "replay"
"""The input key a replay's start node reads its edited input from (`ctx.input`)."""


@dataclass(frozen=True)
class Replay:
    """What a replay run takes from its original: node slots to reuse, the start node and its new input."""

    reuse: Mapping[str, dict[str, Any]]
    from_node: str
    input: Any


def original_slot(status: str, output: Any, handles: list[str] | None) -> dict[str, Any]:
    """The state slot a node of the original run settled with: ran (output, fired handles) or skipped."""
    if status != "succeeded":
        return SKIPPED
    return ran(output, tuple(handles or ()))


async def reuse(run: RunScope, node_id: str) -> dict[str, Any]:
    """Settle `node_id` as the original run did, reporting a node that ran as finished (`reused: true`)."""
    slot = run.reuse[node_id]
    if not slot["ran"]:
        return slot
    run.started.add(node_id)
    await run.emit("node_started", node_id, {"attempt": 1, "input": None, "reused": True})
    finished = {"attempt": 1, "output": slot["output"], "duration_ms": 0.0, "handles": slot["handles"], "reused": True}
    await run.emit("node_finished", node_id, finished)
    run.finished(node_id, slot["output"])
    return slot
