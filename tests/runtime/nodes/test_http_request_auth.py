"""`http_request` with an `auth` credential: the header it adds, what the run records (masked), and a
server that echoes the secret in its error answer (the run's error never holds it)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from runtime.config import Settings
from runtime.egress import egress_client
from runtime.engine import compile_workflow, run_compiled
from runtime.graph.schema import WorkflowDocument
from runtime.nodes.context import Services
from tests.runtime.egress.servers import HttpServer, Received, StubResolver, reply
from tests.runtime.graph.helpers import chain, node

pytestmark = pytest.mark.anyio

API = "api.example.com"
TOKEN = "tok-canary-7d3a91be55"
CREDENTIALS = {
    "cred_header": {"header": "X-Service-Key", "token": TOKEN},
    "cred_basic": {"username": "ada", "password": TOKEN},
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def answer(request: Received, writer: asyncio.StreamWriter) -> None:
    """`/echo-error` answers 401 repeating the auth headers it got (like a careless API) right where the
    node cuts its error excerpt; else 200 with a cookie and the token as a response header."""
    if request.target == "/echo-error":
        sent = {name: request.headers.get(name) for name in ("authorization", "x-service-key")}
        body = "x" * 180 + json.dumps(sent)
        await reply(writer, 401, body, {"Content-Type": "application/json"})
    else:
        headers = {"Content-Type": "application/json", "Set-Cookie": "sid=abc", "X-Service-Key": TOKEN}
        await reply(writer, 200, json.dumps({"ok": True}), headers)


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    async with HttpServer(answer) as running:
        yield running


async def run_with_credential(server: HttpServer, credential_id: str, path: str) -> tuple[Any, list[Any]]:
    """Run trigger -> http_request(auth=credential_id) through the engine; (outcome, events)."""
    document = chain(
        node("start", "manual_trigger"),
        node("call", "http_request", params={"url": f"http://{API}:{server.port}{path}"},
             credentials={"auth": credential_id}),
    )  # fmt: skip
    events: list[Any] = []

    async def emit(kind: str, node_id: str | None, data: dict[str, Any]) -> None:
        events.append((kind, node_id, data))

    async def credentials(wanted: str) -> dict[str, Any]:
        return dict(CREDENTIALS[wanted])

    async def no_workflows(workflow_id: str, payload: Any) -> Any:
        raise AssertionError(workflow_id)

    settings = Settings(ssrf_allowed_cidrs=["127.0.0.1/32"], egress_allowed_ports=[80, 443, server.port])
    async with egress_client(settings, resolver=StubResolver({API: [["127.0.0.1"]]})) as http:
        services = Services(settings, http, credentials, no_workflows)
        compiled = compile_workflow(WorkflowDocument.model_validate(document))
        trigger = {"body": {}, "headers": {}, "query": {}}
        outcome = await run_compiled(compiled, trigger, run_id="run_1", services=services, emit=emit)
    return outcome, events


async def test_header_token_is_sent_and_masked_in_the_output(server: HttpServer) -> None:
    outcome, events = await run_with_credential(server, "cred_header", "/ok")

    assert server.requests[0].headers["x-service-key"] == TOKEN
    assert outcome.status == "succeeded"
    headers = outcome.output["headers"]
    assert headers["x-service-key"] == "[redacted]" and headers["set-cookie"] == "[redacted]"
    assert TOKEN not in json.dumps(events) and TOKEN not in json.dumps(outcome.output)


async def test_basic_auth_is_sent_as_an_authorization_header(server: HttpServer) -> None:
    outcome, _events = await run_with_credential(server, "cred_basic", "/ok")

    expected = "Basic " + base64.b64encode(f"ada:{TOKEN}".encode()).decode()
    assert server.requests[0].headers["authorization"] == expected
    assert outcome.status == "succeeded"


@pytest.mark.parametrize("credential_id", ["cred_header", "cred_basic"])
async def test_an_error_echoing_the_secret_never_records_it(server: HttpServer, credential_id: str) -> None:
    outcome, events = await run_with_credential(server, credential_id, "/echo-error")

    assert outcome.status == "failed" and "answered 401" in outcome.error["message"]
    recorded = json.dumps([outcome.error, events])
    basic = base64.b64encode(f"ada:{TOKEN}".encode()).decode()
    assert TOKEN[:6] not in recorded and basic[:6] not in recorded  # not even a prefix cut off by the excerpt


async def test_no_credential_sends_no_auth_header(server: HttpServer) -> None:
    settings = Settings(ssrf_allowed_cidrs=["127.0.0.1/32"], egress_allowed_ports=[80, 443, server.port])
    async with egress_client(settings, resolver=StubResolver({API: [["127.0.0.1"]]})) as http:
        response = await http.get(f"http://{API}:{server.port}/ok")
    assert isinstance(response, httpx.Response)
    assert "authorization" not in server.requests[0].headers
