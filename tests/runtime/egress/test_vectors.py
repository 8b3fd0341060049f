"""SSRF bypass vectors (T3.2): each URL is refused before connecting, directly and behind a redirect.

A canary HTTP server listens on 127.0.0.1 at the port the loopback vectors name, and that port
is allowed, so only the address rules stand between a vector and the canary.
"""

from __future__ import annotations

import asyncio

import pytest

from runtime.config import Settings
from runtime.egress import EgressBlocked, egress_client
from tests.runtime.egress.servers import HttpServer, Received, StubResolver, reply

pytestmark = pytest.mark.anyio

LOOPBACK_VECTORS = [
    "http://127.0.0.1:{port}/",
    "http://2130706433:{port}/",
    "http://0x7f000001:{port}/",
    "http://017700000001:{port}/",
    "http://0x7f.1:{port}/",
    "http://127.1:{port}/",
    "http://127.0.1:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://127.000.000.001:{port}/",
    "http://0:{port}/",
    "http://0.0.0.0:{port}/",
    "http://[::1]:{port}/",
    "http://[::]:{port}/",
    "http://[0:0:0:0:0:0:0:1]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://[::ffff:7f00:1]:{port}/",
    "http://[::127.0.0.1]:{port}/",
    "http://[::ffff:0:127.0.0.1]:{port}/",
    "http://[64:ff9b::127.0.0.1]:{port}/",
    "http://[64:ff9b:1::127.0.0.1]:{port}/",
    "http://[2002:7f00:1::]:{port}/",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{port}/",
    "http://user@127.0.0.1:{port}/",
    "http://user:secret@127.0.0.1:{port}/",
    "http://localhost:{port}/",
    "http://localhost.:{port}/",
    "http://LOCALHOST:{port}/",
    "http://LocalHost.:{port}/",
    "http://app.localhost:{port}/",
    "http://127.0.0.1.nip.io:{port}/",
    "http://evil.example:{port}/",
    "http://mixed.example:{port}/",
    "gopher://127.0.0.1:{port}/_GET%20/",
    "ftp://127.0.0.1:{port}/",
    "dict://127.0.0.1:{port}/info",
    "ws://127.0.0.1:{port}/",
]
OTHER_VECTORS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/",
    "http://0xa9fea9fe/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[fd00:ec2::254]/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata.goog/",
    "http://db.internal/",
    "http://100.100.100.200/",
    "http://100.64.0.1/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://192.0.0.170/",
    "http://198.18.0.1/",
    "http://224.0.0.1/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fc00::1]/",
    "http://public.example:22/",
    "https://public.example:8443/",
    "file:///etc/passwd",
    "file://localhost/etc/passwd",
]
# Names a hostile DNS server would answer with loopback or metadata addresses.
ANSWERS = {
    "127.0.0.1.nip.io": [["127.0.0.1"]],
    "evil.example": [["127.0.0.1"]],
    "mixed.example": [["93.184.216.34", "127.0.0.1"]],
    "public.example": [["93.184.216.34"]],
}
REDIRECTOR = "127.0.0.2"


def settings_for(*ports: int) -> Settings:
    """Settings allowing the test ports and the redirector's address only."""
    return Settings(egress_allowed_ports=[80, 443, *ports], ssrf_allowed_cidrs=[f"{REDIRECTOR}/32"])


def test_the_corpus_holds_at_least_forty_vectors() -> None:
    assert len(LOOPBACK_VECTORS) + len(OTHER_VECTORS) >= 40


@pytest.mark.parametrize("vector", LOOPBACK_VECTORS + OTHER_VECTORS)
async def test_vector_is_blocked_without_connecting(vector: str, canary: HttpServer) -> None:
    url = vector.format(port=canary.port)
    async with egress_client(settings_for(canary.port), resolver=StubResolver(ANSWERS)) as client:
        with pytest.raises(EgressBlocked) as blocked:
            await client.get(url)
    assert not blocked.value.retryable
    assert canary.connections == 0


# httpx refuses these in a Location header before the guard sees them (still no connection).
UNPARSABLE = {"http://0177.0.0.1:{port}/", "http://127.000.000.001:{port}/"}


@pytest.mark.parametrize("vector", [v for v in LOOPBACK_VECTORS + OTHER_VECTORS if v not in UNPARSABLE])
async def test_redirect_to_vector_is_blocked_without_connecting(vector: str, canary: HttpServer) -> None:
    location = vector.format(port=canary.port)

    async def redirect(request: Received, writer: asyncio.StreamWriter) -> None:
        await reply(writer, 302, headers={"Location": location})

    async with HttpServer(redirect, host=REDIRECTOR) as redirector:
        settings = settings_for(canary.port, redirector.port)
        async with egress_client(settings, resolver=StubResolver(ANSWERS)) as client:
            with pytest.raises(EgressBlocked):
                await client.get(redirector.url("/go"))
    assert len(redirector.requests) == 1
    assert canary.connections == 0


async def test_blocked_message_names_the_url_and_the_address(canary: HttpServer) -> None:
    url = f"http://2130706433:{canary.port}/admin"
    async with egress_client(settings_for(canary.port)) as client:
        with pytest.raises(EgressBlocked) as blocked:
            await client.get(url)
    assert blocked.value.reason == "private_address"
    assert url in str(blocked.value)
    assert "127.0.0.1" in str(blocked.value)
