"""Real `NodeContext`s for node tests: `make_context(**overrides)` and `make_services(**overrides)`."""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx

from runtime.config import Settings
from runtime.nodes.context import NodeContext, Services


@dataclass
class EventRecorder:
    """An `emit` that keeps every `(event_type, data)` it is given, in order."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def __call__(self, event_type: str, data: dict[str, Any]) -> None:
        self.events.append((event_type, data))

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        """The data of every event of this type, in order."""
        return [data for kind, data in self.events if kind == event_type]


async def _no_credentials(credential_id: str) -> dict[str, Any]:
    raise RuntimeError(f"credential {credential_id!r} asked for; pass make_services(credentials=...) to provide one")


async def _no_sub_workflows(workflow_id: str, data: Any) -> Any:
    raise RuntimeError(f"workflow {workflow_id!r} asked to run; pass make_services(run_workflow=...) to allow it")


@functools.cache
def _tls() -> ssl.SSLContext:
    # Building a client's default TLS context costs ~60 ms; one shared context keeps tests fast.
    return ssl.create_default_context()


def make_services(**overrides: Any) -> Services:
    """Services with default settings, an unused `httpx.AsyncClient()` and credentials/sub-workflows that raise.

    `overrides` replace any `Services` field (settings, http, credentials, run_workflow, redis).
    """
    fields: dict[str, Any] = {
        "settings": Settings(),
        "http": httpx.AsyncClient(verify=_tls()),
        "credentials": _no_credentials,
        "run_workflow": _no_sub_workflows,
    }
    return Services(**(fields | overrides))


def make_context(**overrides: Any) -> NodeContext:
    """A `NodeContext` for node `node` of run `run-1` with an empty trigger and no inputs.

    `overrides` replace any `NodeContext` field; `emit` is an `EventRecorder` unless given, so
    `ctx.emit.of_type("node_token")` lists what the node emitted.
    """
    fields: dict[str, Any] = {
        "run_id": "run-1",
        "node_id": "node",
        "trigger": {"body": {}, "headers": {}, "query": {}},
        "outputs": {},
        "inputs": {},
        "emit": EventRecorder(),
    }
    if "services" not in overrides:
        fields["services"] = make_services()
    return NodeContext(**(fields | overrides))
