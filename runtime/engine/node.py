"""Running one node: its context, retries, per-attempt timeout and `node_*` events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from runtime.engine.state import Frame, RunScope, json_ready
from runtime.errors import NodeError, WorkflowError
from runtime.graph.schema import NodeSpec
from runtime.nodes.context import Emit, NodeContext, Tool
from runtime.nodes.spec import NodeType, Routed

NodeCall = Callable[[BaseModel, NodeContext, Frame], Awaitable[Any]]
"""How the engine calls a node: the type's `run`, or for a loop the run plus its branch."""


class NodeFailed(WorkflowError):
    """A node failed for good (after its retries); ends the graph it runs in."""

    def __init__(self, node_id: str, message: str) -> None:
        self.node_id = node_id
        self.message = message
        super().__init__(f"Node {node_id!r} failed: {message}")


@dataclass(frozen=True)
class ToolSpec:
    """A node wired into an agent's `tools` input, as offered to the model."""

    name: str
    description: str
    parameters: dict[str, Any]
    node: NodeRuntime


@dataclass(frozen=True)
class NodeRuntime:
    """Everything needed to run one node: its declaration, validated params and how to call it."""

    spec: NodeSpec
    node_type: NodeType
    params: BaseModel
    handles: tuple[str, ...]
    """The output handles a plain (not `Routed`) output fires."""
    call: NodeCall
    tools: tuple[ToolSpec, ...] = ()


def plain_call(run: Callable[[Any, NodeContext], Awaitable[Any]]) -> NodeCall:
    """The `NodeCall` of a node type whose `run` is all there is to it."""

    async def call(params: BaseModel, ctx: NodeContext, frame: Frame) -> Any:
        return await run(params, ctx)

    return call


async def execute(
    node: NodeRuntime,
    frame: Frame,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Any],
    *,
    params: BaseModel | None = None,
    tools: tuple[Tool, ...] = (),
    call_key: str | None = None,
) -> Any:
    """Run `node` under its retry and timeout settings, emitting its events; returns what `run` returned.

    Raises `NodeFailed` when the last attempt failed. Cancellation is never caught.
    """
    run, node_id, settings = frame.run, node.spec.id, node.spec.settings
    emit = _emitter(run, node_id, frame.loop)
    run.started.add(node_id)
    params = node.params if params is None else params
    for attempt in range(1, settings.retry_attempts + 1):
        ctx = NodeContext(
            run_id=run.run_id,
            node_id=node_id,
            trigger=run.trigger,
            outputs=outputs,
            inputs=inputs,
            emit=emit,
            services=run.services,
            credential_ids=node.spec.credentials,
            attempt=attempt,
            loop=frame.loop,
            tools=tools,
            call_key=call_key,
        )
        await emit("node_started", {"attempt": attempt, "input": json_ready(ctx.input)})
        began = time.perf_counter()
        try:
            output = await _attempt(node, params, ctx, frame)
        except Exception as error:
            await _failed(node, emit, attempt, error)
            await asyncio.sleep(settings.retry_backoff_s * 2 ** (attempt - 1))
            continue
        value = output.output if isinstance(output, Routed) else output
        duration_ms = round((time.perf_counter() - began) * 1000, 3)
        await emit("node_finished", {"attempt": attempt, "output": json_ready(value), "duration_ms": duration_ms})
        run.finished(node_id, value)
        return output
    raise AssertionError("retry_attempts is at least 1")


async def _failed(node: NodeRuntime, emit: Emit, attempt: int, error: Exception) -> None:
    """Report a failed attempt; raises `NodeFailed` unless another attempt follows."""
    message, retryable = _describe(error)
    will_retry = retryable and attempt < node.spec.settings.retry_attempts
    await emit("node_failed", {"attempt": attempt, "error": message, "retryable": retryable, "will_retry": will_retry})
    if not will_retry:
        raise NodeFailed(node.spec.id, message) from error


async def _attempt(node: NodeRuntime, params: BaseModel, ctx: NodeContext, frame: Frame) -> Any:
    timeout_s = node.spec.settings.timeout_s
    if timeout_s is None:
        return await node.call(params, ctx, frame)
    limit = asyncio.timeout(timeout_s)
    try:
        async with limit:
            return await node.call(params, ctx, frame)
    except TimeoutError:
        if not limit.expired():
            raise  # the node's own TimeoutError, not our limit
        raise NodeError(f"Did not finish within {timeout_s:g} s.", retryable=True) from None


def _describe(error: Exception) -> tuple[str, bool]:
    """The message a user sees for `error`, and whether another attempt may succeed."""
    if isinstance(error, NodeError):
        return str(error), error.retryable
    if isinstance(error, WorkflowError):
        return str(error), False
    # Anything else is a bug in a node: say what it was, and do not retry it.
    return f"{type(error).__name__}: {error}", False


def _emitter(run: RunScope, node_id: str, loop: dict[str, Any] | None) -> Emit:
    if loop is None:

        async def emit(event: str, data: dict[str, Any]) -> None:
            await run.emit(event, node_id, data)

        return emit
    index = loop["index"]

    async def emit_in_loop(event: str, data: dict[str, Any]) -> None:
        await run.emit(event, node_id, {**data, "item_index": index})

    return emit_in_loop
