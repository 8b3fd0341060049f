"""What a node's `run` gets besides its params: the run it is part of, its inputs and services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from runtime.config import Settings
from runtime.errors import NodeError
from runtime.expressions import ExpressionError, evaluate, render

Emit = Callable[[str, dict[str, Any]], Awaitable[None]]
"""`await ctx.emit("node_token", {"text": "..."})`: add an event for this node to the run's stream."""


@dataclass(frozen=True)
class Tool:
    """A node wired into an agent's `tools` handle, offered to the model as a callable tool."""

    name: str
    description: str
    parameters: dict[str, Any]
    """JSON Schema of the arguments the model may pass (the tool node's Params schema)."""
    call: Callable[..., Awaitable[Any]]
    """`await call(arguments, call_key=None)`: run the tool node with the model's arguments over its own
    params; returns its output. `call_key` tells this call from the agent's other calls (its
    idempotency key ends with it)."""


@dataclass
class Services:
    """Clients shared by the nodes of one run, created inside the job that runs it (never at import)."""

    settings: Settings
    http: httpx.AsyncClient
    """The egress-guarded client (`runtime.egress`): the only way a node reaches the network."""
    credentials: Callable[[str], Awaitable[dict[str, Any]]]
    """Credential id -> its decrypted fields, e.g. `{"api_key": ..., "base_url": ...}`."""
    run_workflow: Callable[[str, Any], Awaitable[Any]]
    """`sub_workflow`: run the saved workflow with this id on this input; returns its output."""
    redis: Any | None = None
    """A `redis.asyncio.Redis` when `TRELLIS_REDIS_URL` is set (LLM response cache, breakers)."""


@dataclass
class NodeContext:
    """One execution of one node inside a run."""

    run_id: str
    node_id: str
    trigger: dict[str, Any]
    """The trigger payload: `body`, `headers`, `query` (a manual run's input is its `body`)."""
    outputs: Mapping[str, Any]
    """Output of every node that has finished so far in this run, by node id."""
    inputs: Mapping[str, Any]
    """Outputs of the nodes wired into this node that ran, by source node id, in wire order."""
    emit: Emit
    services: Services
    credential_ids: Mapping[str, str] = field(default_factory=dict)
    """Credential slot -> credential id, as set on the node."""
    attempt: int = 1
    loop: dict[str, Any] | None = None
    """Inside a loop's per-item branch: `{"item": ..., "index": ...}`."""
    tools: tuple[Tool, ...] = ()
    call_key: str | None = None
    """Inside an agent's tool call: which call it is (e.g. `agent.call2`), the same on every attempt."""

    @property
    def input(self) -> Any:
        """The output of the first node wired in, or the trigger's body for a node with none."""
        for value in self.inputs.values():
            return value
        return self.trigger.get("body")

    @property
    def idempotency_key(self) -> str:
        """`{run_id}:{node_id}` (plus `:{index}` inside a loop, `:{call_key}` for an agent's tool call): the
        same on every attempt and every resume of the run, so a server can drop repeats."""
        key = f"{self.run_id}:{self.node_id}"
        if self.loop is not None:
            key = f"{key}:{self.loop['index']}"
        return key if self.call_key is None else f"{key}:{self.call_key}"

    def scope(self) -> dict[str, Any]:
        """The names expressions see: `trigger`, `nodes.<id>.output`, `input` and, in a loop, `loop`."""
        scope: dict[str, Any] = {
            "trigger": self.trigger,
            "nodes": {node_id: {"output": output} for node_id, output in self.outputs.items()},
            "input": self.input,
        }
        if self.loop is not None:
            scope["loop"] = self.loop
        return scope

    def render(self, text: str) -> str:
        """`text` with every `{{ ... }}` rendered in the sandbox; always a string."""
        return render(text, self.scope())

    def evaluate(self, text: str) -> Any:
        """The native value of `text` when it is exactly one `{{ ... }}`, else the rendered string."""
        return evaluate(text, self.scope())

    def render_param(self, name: str, text: str) -> str:
        """`render(text)` for the param `name`; a failure is a NodeError naming this node and the param."""
        try:
            return self.render(text)
        except ExpressionError as error:
            raise self._param_error(name, error) from error

    def evaluate_param(self, name: str, text: str) -> Any:
        """`evaluate(text)` for the param `name`; a failure is a NodeError naming this node and the param."""
        try:
            return self.evaluate(text)
        except ExpressionError as error:
            raise self._param_error(name, error) from error

    def _param_error(self, name: str, error: ExpressionError) -> NodeError:
        # Not retryable: the same expression over the same data fails the same way again.
        return NodeError(f"node {self.node_id!r}, param {name!r}: {error}")

    async def credential(self, slot: str) -> dict[str, Any]:
        """The decrypted fields of the credential set in `slot`, or a NodeError saying it is missing."""
        credential_id = self.credential_ids.get(slot)
        if not credential_id:
            raise NodeError(f"Node {self.node_id!r} needs a {slot!r} credential; choose one in its settings.")
        return await self.services.credentials(credential_id)
