"""The httpx2 bridge (authlib's OIDC client): requests reach an allowed server, refusals stay refusals."""

from __future__ import annotations

import httpx2
import pytest

from runtime.config import Settings
from runtime.egress import EgressBlocked, GuardedHttpx2Transport
from tests.runtime.egress.servers import HttpServer

pytestmark = pytest.mark.anyio


async def test_an_httpx2_client_reaches_an_allowed_server_through_the_guard() -> None:
    async with HttpServer(host="127.0.0.2") as server:
        settings = Settings(egress_allowed_ports=[server.port], ssrf_allowed_cidrs=["127.0.0.2/32"])
        async with httpx2.AsyncClient(transport=GuardedHttpx2Transport(settings)) as client:
            response = await client.post(f"http://127.0.0.2:{server.port}/token", data={"code": "abc"})
    assert (response.status_code, response.text) == (200, "hello")
    assert server.requests[0].target == "/token"


async def test_an_httpx2_client_cannot_reach_loopback_unless_allowed(canary: HttpServer) -> None:
    settings = Settings(egress_allowed_ports=[canary.port])
    async with httpx2.AsyncClient(transport=GuardedHttpx2Transport(settings)) as client:
        with pytest.raises(EgressBlocked):
            await client.get(canary.url("/.well-known/openid-configuration"))
    assert canary.requests == []
