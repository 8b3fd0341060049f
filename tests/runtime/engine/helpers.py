"""Running workflow documents through the real engine, with a few test-only node types."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import Field

from runtime.config import Settings
from runtime.engine import RunOutcome, compile_workflow, run_compiled
from runtime.errors import NodeError
from runtime.graph.schema import WorkflowDocument
from runtime.nodes import REGISTRY
from runtime.nodes.context import NodeContext, Services
from runtime.nodes.spec import NodeParams, NodeType, Registry
from tests.runtime.graph.helpers import document, edge, node

__all__ = ["TEST_REGISTRY", "Run", "document", "edge", "execute", "node", "sleep_cancelled", "sleep_started", "start"]


class FlakyParams(NodeParams):
    failures: int = Field(0, description="Fail this many attempts before succeeding.")
    retryable: bool = True
    bug: bool = Field(False, description="Fail with a plain ValueError instead of a NodeError.")


async def _flaky(params: FlakyParams, ctx: NodeContext) -> Any:
    if ctx.attempt <= params.failures:
        if params.bug:
            raise ValueError(f"bad value in attempt {ctx.attempt}")
        raise NodeError(f"upstream refused attempt {ctx.attempt}", retryable=params.retryable)
    return {"attempt": ctx.attempt}


class SleepParams(NodeParams):
    seconds: float


sleep_started: dict[str, asyncio.Event] = {}
sleep_cancelled: set[str] = set()


async def _sleep(params: SleepParams, ctx: NodeContext) -> Any:
    sleep_started.setdefault(ctx.run_id, asyncio.Event()).set()
    try:
        await asyncio.sleep(params.seconds)
    except asyncio.CancelledError:
        sleep_cancelled.add(ctx.run_id)
        raise
    return {"slept": params.seconds}


class CallToolsParams(NodeParams):
    calls: list[dict[str, Any]] = Field(default_factory=list, description="Arguments of each call of the first tool.")


async def _call_tools(params: CallToolsParams, ctx: NodeContext) -> Any:
    """Stands in for an agent: describes its tools and calls the first one with each `calls` entry."""
    described = [{"name": t.name, "description": t.description, "parameters": t.parameters} for t in ctx.tools]
    results = [await ctx.tools[0].call(args) for args in params.calls]
    return {"tools": described, "results": results}


def _test_type(
    type: str, params: type[NodeParams], run: Callable[[Any, NodeContext], Awaitable[Any]], **more: Any
) -> NodeType:
    declaration = {
        "title": type.title(),
        "category": "test",
        "description": f"Test node {type}.",
        "params": params,
        "inputs": ("in",),
        "outputs": ("out",),
    }
    return NodeType(type=type, version=1, run=run, **(declaration | more))


TEST_REGISTRY = Registry(
    [
        *REGISTRY,
        _test_type("flaky", FlakyParams, _flaky),
        _test_type("sleep", SleepParams, _sleep),
        _test_type("call_tools", CallToolsParams, _call_tools, inputs=("in", "tools")),
    ]
)


@dataclass
class Run:
    """One finished run: its outcome and every event the engine emitted, in order."""

    outcome: RunOutcome
    events: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)

    def of(self, node_id: str) -> list[tuple[str, dict[str, Any]]]:
        """`(event type, data)` of the events of one node, in order."""
        return [(kind, data) for kind, source, data in self.events if source == node_id]

    def kinds(self, node_id: str) -> list[str]:
        return [kind for kind, _ in self.of(node_id)]

    def skipped(self) -> list[str]:
        return [source for kind, source, _ in self.events if kind == "node_skipped" and source]


async def _no_sub_workflows(workflow_id: str, data: Any) -> Any:
    raise AssertionError(f"unexpected sub-workflow call {workflow_id!r}")


async def _no_credentials(credential_id: str) -> dict[str, Any]:
    raise AssertionError(f"unexpected credential lookup {credential_id!r}")


async def start(
    raw: dict[str, Any],
    body: Any = None,
    *,
    run_id: str = "run_1",
    run_workflow: Callable[[str, Any], Awaitable[Any]] = _no_sub_workflows,
    events: list[tuple[str, str | None, dict[str, Any]]] | None = None,
    registry: Registry = TEST_REGISTRY,
    **durable: Any,
) -> RunOutcome:
    """Compile `raw` against the test registry and run it on a manual trigger body (inside a loop).

    `durable` goes to `run_compiled` as is (`checkpointer`, `resume`, `lease_epoch`, `control`)."""
    compiled = compile_workflow(WorkflowDocument.model_validate(raw), registry)
    sink = [] if events is None else events

    async def emit(kind: str, node_id: str | None, data: dict[str, Any]) -> None:
        sink.append((kind, node_id, data))

    async with httpx.AsyncClient() as http:
        services = Services(Settings(), http, _no_credentials, run_workflow)
        trigger = {"body": body, "headers": {}, "query": {}}
        return await run_compiled(compiled, trigger, run_id=run_id, services=services, emit=emit, **durable)


def execute(raw: dict[str, Any], body: Any = None, **options: Any) -> Run:
    """Compile and run `raw` to its end; returns the outcome and the events."""
    events: list[tuple[str, str | None, dict[str, Any]]] = []
    outcome = asyncio.run(asyncio.wait_for(start(raw, body, events=events, **options), timeout=20))
    return Run(outcome, events)
