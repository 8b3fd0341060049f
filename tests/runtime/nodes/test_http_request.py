"""The `http_request` node against real loopback servers, through the real egress client."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from runtime.config import Settings
from runtime.egress import EgressBlocked, egress_client
from runtime.errors import NodeError
from runtime.nodes.context import NodeContext, Services
from runtime.nodes.http_request import NODE, Params
from tests.runtime.egress.servers import HttpServer, Received, StubResolver, reply

pytestmark = pytest.mark.anyio

API = "api.example.com"
"""A public-looking name the stub resolver maps to the loopback test server."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def answer(request: Received, writer: asyncio.StreamWriter) -> None:
    """`/status/N` answers N with a short text; `/text` answers plain text; anything else echoes the request as JSON."""
    if request.target.startswith("/status/"):
        await reply(writer, int(request.target[8:]), "  something\n went   wrong  ", {"Content-Type": "text/plain"})
    elif request.target == "/text":
        await reply(writer, 200, "plain words", {"Content-Type": "text/plain; charset=utf-8"})
    elif request.target == "/silent":
        await asyncio.sleep(5)
    else:
        echo = {"method": request.method, "target": request.target, "body": request.body.decode()}
        await reply(writer, 201, json.dumps(echo), {"Content-Type": "application/json", "X-Served-By": "test"})


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    async with HttpServer(answer) as running:
        yield running


@pytest.fixture
async def http(server: HttpServer) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(ssrf_allowed_cidrs=["127.0.0.1/32"], egress_allowed_ports=[80, 443, server.port])
    async with egress_client(settings, resolver=StubResolver({API: [["127.0.0.1"]]})) as client:
        yield client


async def no_credentials(credential_id: str) -> dict[str, Any]:
    raise NodeError(f"credential {credential_id!r} is not available in this test")


async def no_workflows(workflow_id: str, payload: Any) -> Any:
    raise NodeError(f"workflow {workflow_id!r} is not available in this test")


async def ignore_event(kind: str, data: dict[str, Any]) -> None:
    return None


def context(http: httpx.AsyncClient, *, attempt: int = 1, loop: dict[str, Any] | None = None) -> NodeContext:
    return NodeContext(
        run_id="run_7",
        node_id="fetch",
        trigger={"body": {"id": 42, "name": "Ada"}, "headers": {}, "query": {}},
        outputs={"prev": {"trace": "t-1", "term": "green tea"}},
        inputs={"prev": {"trace": "t-1", "term": "green tea"}},
        emit=ignore_event,
        services=Services(settings=Settings(), http=http, credentials=no_credentials, run_workflow=no_workflows),
        attempt=attempt,
        loop=loop,
    )


async def run(params: dict[str, Any], ctx: NodeContext) -> Any:
    return await NODE.run(Params.model_validate(params), ctx)


def url(server: HttpServer, path: str) -> str:
    return f"http://{API}:{server.port}{path}"


async def test_get_returns_status_headers_and_parsed_json(server: HttpServer, http: httpx.AsyncClient) -> None:
    output = await run({"url": url(server, "/things")}, context(http))
    assert output["status"] == 201
    assert output["headers"]["x-served-by"] == "test"
    assert output["body"] == {"method": "GET", "target": "/things", "body": ""}
    assert server.requests[0].headers["host"] == f"{API}:{server.port}"


async def test_post_sends_rendered_json_body(server: HttpServer, http: httpx.AsyncClient) -> None:
    body = {"name": "{{ trigger.body.name }}", "upstream": "{{ input }}", "tags": ["{{ trigger.body.id }}", 1]}
    await run({"method": "POST", "url": url(server, "/people"), "body": body}, context(http))
    received = server.requests[0]
    assert received.headers["content-type"] == "application/json"
    assert json.loads(received.body) == {
        "name": "Ada",
        "upstream": {"trace": "t-1", "term": "green tea"},
        "tags": [42, 1],
    }


async def test_string_body_is_sent_as_is(server: HttpServer, http: httpx.AsyncClient) -> None:
    params = {"method": "PUT", "url": url(server, "/raw"), "body": "id={{ trigger.body.id }}", "headers": {}}
    output = await run(params, context(http))
    assert output["body"]["body"] == "id=42"


async def test_expressions_in_url_headers_and_query_are_rendered(server: HttpServer, http: httpx.AsyncClient) -> None:
    params = {
        "url": f"http://{API}:{server.port}/users/{{{{ trigger.body.id }}}}",
        "headers": {"X-Trace": "{{ nodes.prev.output.trace }}"},
        "query": {"q": "{{ input.term }}", "page": "2"},
    }
    await run(params, context(http))
    received = server.requests[0]
    assert received.target == "/users/42?q=green+tea&page=2"
    assert received.headers["x-trace"] == "t-1"


async def test_text_response_body_is_text(server: HttpServer, http: httpx.AsyncClient) -> None:
    output = await run({"url": url(server, "/text")}, context(http))
    assert output == {"status": 200, "headers": output["headers"], "body": "plain words"}


async def test_idempotency_key_is_the_same_on_every_attempt(server: HttpServer, http: httpx.AsyncClient) -> None:
    await run({"method": "POST", "url": url(server, "/charge"), "body": {"cents": 5}}, context(http, attempt=1))
    await run({"method": "POST", "url": url(server, "/charge"), "body": {"cents": 5}}, context(http, attempt=2))
    await run({"url": url(server, "/item")}, context(http, loop={"item": "a", "index": 3}))
    keys = [request.headers["idempotency-key"] for request in server.requests]
    assert keys == ["run_7:fetch", "run_7:fetch", "run_7:fetch:3"]


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_server_errors_and_rate_limits_are_retryable(
    status: int, server: HttpServer, http: httpx.AsyncClient
) -> None:
    with pytest.raises(NodeError) as failed:
        await run({"url": url(server, f"/status/{status}")}, context(http))
    assert failed.value.retryable
    assert str(status) in str(failed.value)
    assert "something went wrong" in str(failed.value)


async def test_not_found_is_not_retryable(server: HttpServer, http: httpx.AsyncClient) -> None:
    with pytest.raises(NodeError) as failed:
        await run({"url": url(server, "/status/404")}, context(http))
    assert not failed.value.retryable
    assert "'fetch'" in str(failed.value)
    assert "answered 404" in str(failed.value)


async def test_private_address_is_refused_without_retry() -> None:
    async with HttpServer() as canary, egress_client(Settings(egress_allowed_ports=[canary.port])) as guarded:
        with pytest.raises(NodeError) as failed:
            await run({"url": f"http://127.0.0.1:{canary.port}/"}, context(guarded))
    assert not failed.value.retryable
    assert isinstance(failed.value.__cause__, EgressBlocked)
    assert "'fetch'" in str(failed.value) and "127.0.0.1" in str(failed.value)
    assert canary.connections == 0


async def test_timeout_is_retryable_and_says_how_long(server: HttpServer, http: httpx.AsyncClient) -> None:
    with pytest.raises(NodeError) as failed:
        await run({"url": url(server, "/silent"), "timeout_s": 0.3}, context(http))
    assert failed.value.retryable
    assert "within 0.3 s" in str(failed.value)


async def test_connection_refused_is_retryable(http: httpx.AsyncClient) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    settings = Settings(ssrf_allowed_cidrs=["127.0.0.1/32"], egress_allowed_ports=[closed_port])
    async with egress_client(settings) as client:
        with pytest.raises(NodeError) as failed:
            await run({"url": f"http://127.0.0.1:{closed_port}/"}, context(client))
    assert failed.value.retryable
    assert "could not connect" in str(failed.value)


async def test_bad_expression_names_the_field(server: HttpServer, http: httpx.AsyncClient) -> None:
    with pytest.raises(NodeError) as failed:
        await run({"url": url(server, "/"), "headers": {"X-Id": "{{ nodes.missing.output }}"}}, context(http))
    assert not failed.value.retryable
    assert "headers.X-Id" in str(failed.value)
    assert server.connections == 0
