"""Fixtures for node tests: `node_runner` (the OpenAI server and Redis fixtures live in tests/conftest.py)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio

from runtime.nodes.context import NodeContext
from runtime.nodes.spec import RunFn
from tests.openai_server import OpenAIServer
from tests.runtime.nodes.factory import EventRecorder, make_context, make_services


@dataclass
class NodeRunner:
    """Runs a node's `run` in a real context whose `openai` credential points at the test server.

    `events` collects every `(type, data)` the node emitted, across runs.
    """

    server: OpenAIServer
    recorder: EventRecorder = field(default_factory=EventRecorder)

    @property
    def events(self) -> list[tuple[str, dict[str, Any]]]:
        return self.recorder.events

    def __call__(
        self,
        run: RunFn,
        params: Any,
        *,
        redis_url: str | None = None,
        http: httpx.AsyncClient | None = None,
        **context: Any,
    ) -> Any:
        """The node's output; `context` overrides NodeContext fields (run_id, node_id, tools, loop...)."""
        return asyncio.run(asyncio.wait_for(self._run(run, params, redis_url, http, context), timeout=20))

    def emitted(self, event_type: str) -> list[dict[str, Any]]:
        """The data of every emitted event of this type, in order."""
        return self.recorder.of_type(event_type)

    async def _run(
        self, run: RunFn, params: Any, redis_url: str | None, http: httpx.AsyncClient | None, context: dict[str, Any]
    ) -> Any:
        async with AsyncExitStack() as stack:
            client = http or await stack.enter_async_context(httpx.AsyncClient())
            cache = redis.asyncio.Redis.from_url(redis_url) if redis_url else None
            if cache is not None:
                stack.push_async_callback(cache.aclose)
            return await run(params, self.context(client, cache, **context))

    def context(self, http: httpx.AsyncClient, cache: Any, **overrides: Any) -> NodeContext:
        async def credentials(credential_id: str) -> dict[str, Any]:
            assert credential_id == "cred-openai"
            return {"api_key": "sk-test", "base_url": self.server.base_url}

        services = make_services(http=http, credentials=credentials, redis=cache)
        fields = {"node_id": "ask", "emit": self.recorder, "services": services,
                  "credential_ids": {"openai": "cred-openai"}}  # fmt: skip
        return make_context(**(fields | overrides))


@pytest.fixture
def node_runner(openai_server: OpenAIServer) -> NodeRunner:
    """Call it like `node_runner(llm.run, params)` for the node's output; see `NodeRunner`."""
    return NodeRunner(openai_server)
