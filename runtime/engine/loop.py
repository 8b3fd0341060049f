"""Running a loop node: its items one after another through its compiled per-item branch."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from pydantic import BaseModel

from runtime.engine.node import NodeFailed
from runtime.engine.state import Frame, channel
from runtime.errors import NodeError
from runtime.nodes.context import NodeContext


@dataclass(frozen=True)
class LoopBody:
    """A loop's per-item branch, compiled, and the nodes wired into the loop's `back` input."""

    graph: CompiledStateGraph
    back: tuple[str, ...]
    config: dict[str, Any]


async def run_loop(
    body: LoopBody,
    list_items: Callable[[Any, NodeContext], Awaitable[list[Any]]],
    params: BaseModel,
    ctx: NodeContext,
    frame: Frame,
) -> list[Any]:
    """What the `back` input got for each item, in item order; items whose branch never reached
    `back` (e.g. an `if` sent it elsewhere) add nothing.

    `list_items` is the loop type's `run`, giving the items. A branch node failing fails the loop.
    """
    items = await list_items(params, ctx)
    collected = []
    for index, item in enumerate(items):
        item_frame = Frame(frame.run, ctx.outputs, {"item": item, "index": index})
        try:
            # "exit": the branch has no checkpointer of its own, and LangGraph fails when a checkpointed
            # parent's "sync" durability is inherited by a graph without one.
            state = await body.graph.ainvoke({}, body.config, context=item_frame, durability="exit")
        except NodeFailed as failure:
            raise NodeError(f"Item {index} failed at node {failure.node_id!r}: {failure.message}") from failure
        for source in body.back:
            slot = state.get(channel(source))
            if slot is not None and slot["ran"]:
                collected.append(slot["output"])
                break
    return collected
