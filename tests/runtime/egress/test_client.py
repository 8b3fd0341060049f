"""The guarded client on allowed paths: pinning, redirects, limits, timeouts and proxies."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ssl
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from runtime.config import Settings
from runtime.egress import TOTAL_TIMEOUT, EgressBlocked, egress_client, read_limited
from tests.runtime.egress.servers import HttpServer, Received, StubResolver, reply

pytestmark = pytest.mark.anyio

GOOD = "127.0.0.2"
"""Stands in for a public address: allowlisted, unlike the canary's 127.0.0.1."""


def allowing(*ports: int, **fields: object) -> Settings:
    return Settings(egress_allowed_ports=[80, 443, *ports], ssrf_allowed_cidrs=[f"{GOOD}/32"], **fields)


async def test_pinned_request_keeps_the_host_name_in_the_host_header() -> None:
    async with HttpServer(host=GOOD) as server:
        resolver = StubResolver({"api.example.com": [[GOOD]]})
        async with egress_client(allowing(server.port), resolver=resolver) as client:
            response = await client.get(f"http://api.example.com:{server.port}/v1/items?x=1")
    assert (response.status_code, response.text) == (200, "hello")
    assert server.requests[0].headers["host"] == f"api.example.com:{server.port}"
    assert server.requests[0].target == "/v1/items?x=1"


async def test_rebinding_answer_never_reaches_the_canary() -> None:
    async with HttpServer(host=GOOD) as good, HttpServer(host="127.0.0.1", port_wanted=good.port) as canary:
        resolver = StubResolver({"rebind.example": [[GOOD], ["127.0.0.1"]]})
        async with egress_client(allowing(good.port), resolver=resolver) as client:
            first = await client.get(f"http://rebind.example:{good.port}/")
            calls_for_first = list(resolver.calls)
            # A new connection resolves again, and the new answer is checked again.
            with pytest.raises(EgressBlocked) as blocked:
                await client.get(f"http://rebind.example:{good.port}/")
    assert first.status_code == 200
    assert calls_for_first == ["rebind.example"]
    assert blocked.value.reason == "private_address"
    assert (len(good.requests), canary.connections) == (1, 0)


async def test_allowed_host_name_reaches_a_private_address() -> None:
    async with HttpServer() as server:
        settings = Settings(egress_allowed_ports=[server.port], ssrf_allowed_hosts=["*.corp.example"])
        resolver = StubResolver({"billing.corp.example": [["127.0.0.1"]], "other.example": [["127.0.0.1"]]})
        async with egress_client(settings, resolver=resolver) as client:
            allowed = await client.get(f"http://billing.corp.example:{server.port}/")
            with pytest.raises(EgressBlocked):
                await client.get(f"http://other.example:{server.port}/")
    assert allowed.status_code == 200
    assert server.connections == 1


def _certificate_for(name: str, folder: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


async def test_https_sends_the_host_name_as_sni_and_checks_the_certificate(tmp_path: Path) -> None:
    tls = _certificate_for("secure.example", tmp_path)
    names: list[str | None] = []
    tls.sni_callback = lambda sock, name, ctx: names.append(name)
    async with HttpServer(host=GOOD, tls=tls) as server:
        resolver = StubResolver({"secure.example": [[GOOD]]})
        async with egress_client(allowing(server.port), resolver=resolver) as client:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.get(f"https://secure.example:{server.port}/")
    assert names == ["secure.example"]
    assert server.requests == []


async def redirect_handler(request: Received, writer: asyncio.StreamWriter) -> None:
    """`/hop/N` redirects to `/hop/N-1`; `/hop/0` answers; `/old` moves to `/new`; `/meta` to the metadata service."""
    path = request.target
    if path.startswith("/hop/") and path != "/hop/0":
        await reply(writer, 302, headers={"Location": f"/hop/{int(path[5:]) - 1}"})
    elif path == "/old":
        await reply(writer, 303, headers={"Location": "/new"})
    elif path == "/meta":
        await reply(writer, 302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    else:
        await reply(writer, 200, f"{request.method} {path}")


async def test_redirect_to_another_allowed_path_is_followed() -> None:
    async with HttpServer(redirect_handler, host=GOOD) as server, egress_client(allowing(server.port)) as client:
        moved = await client.post(server.url("/old"), json={"a": 1})
        five = await client.get(server.url("/hop/5"))
    assert (moved.text, str(moved.url)) == ("GET /new", server.url("/new"))
    assert five.text == "GET /hop/0"


async def test_redirect_to_the_metadata_service_is_blocked() -> None:
    async with HttpServer(redirect_handler, host=GOOD) as server, egress_client(allowing(server.port)) as client:
        with pytest.raises(EgressBlocked) as blocked:
            await client.get(server.url("/meta"))
    assert blocked.value.reason == "private_address"
    assert "169.254.169.254" in str(blocked.value)


async def test_more_than_five_redirects_are_blocked() -> None:
    async with HttpServer(redirect_handler, host=GOOD) as server, egress_client(allowing(server.port)) as client:
        with pytest.raises(EgressBlocked) as blocked:
            await client.get(server.url("/hop/6"))
    assert blocked.value.reason == "too_many_redirects"
    assert len(server.requests) == 6


async def big_body(request: Received, writer: asyncio.StreamWriter) -> None:
    """`/sized` sends 4 KiB with a Content-Length, `/unsized` without one, `/zip` a 4 KiB gzip of zeros."""
    if request.target == "/sized":
        await reply(writer, 200, b"x" * 4096)
        return
    if request.target == "/zip":
        await reply(writer, 200, gzip.compress(b"\0" * 4096), {"Content-Encoding": "gzip"})
        return
    writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
    for _ in range(8):
        writer.write(b"y" * 512)
        await writer.drain()


@pytest.mark.parametrize("path", ["/sized", "/unsized"])
async def test_body_over_the_limit_is_refused(path: str) -> None:
    async with HttpServer(big_body, host=GOOD) as server:
        async with egress_client(allowing(server.port, egress_max_body_bytes=1024)) as client:
            with pytest.raises(EgressBlocked) as blocked:
                await client.get(server.url(path))
        async with egress_client(allowing(server.port, egress_max_body_bytes=4096)) as client:
            within = await client.get(server.url(path))
    assert blocked.value.reason == "body_too_large"
    assert len(within.content) == 4096


async def test_read_limited_counts_decompressed_bytes() -> None:
    async with HttpServer(big_body, host=GOOD) as server, egress_client(allowing(server.port)) as client:
        async with client.stream("GET", server.url("/zip")) as response:
            with pytest.raises(EgressBlocked) as blocked:
                await read_limited(response, 1024)
        async with client.stream("GET", server.url("/zip")) as response:
            body = await read_limited(response, 4096)
    assert blocked.value.reason == "body_too_large"
    assert body == b"\0" * 4096


async def drip(request: Received, writer: asyncio.StreamWriter) -> None:
    """Headers at once, then one byte every 50 ms for 20 bytes: never idle long, but slow overall."""
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\nConnection: close\r\n\r\n")
    for _ in range(20):
        writer.write(b"z")
        await writer.drain()
        await asyncio.sleep(0.05)


async def silent(request: Received, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(5)


async def test_total_timeout_stops_a_slow_drip() -> None:
    async with (
        HttpServer(drip, host=GOOD) as server,
        egress_client(allowing(server.port, egress_timeout_s=0.3)) as client,
    ):
        started = time.monotonic()
        with pytest.raises(httpx.TimeoutException):
            await client.get(server.url())
        elapsed = time.monotonic() - started
        slow_but_allowed = await client.get(server.url(), extensions={TOTAL_TIMEOUT: 3.0})
    assert elapsed < 0.8
    assert slow_but_allowed.content == b"z" * 20


async def test_a_server_that_never_answers_times_out() -> None:
    async with (
        HttpServer(silent, host=GOOD) as server,
        egress_client(allowing(server.port, egress_timeout_s=0.2)) as client,
    ):
        started = time.monotonic()
        with pytest.raises(httpx.TimeoutException):
            await client.get(server.url())
    assert time.monotonic() - started < 0.8


async def test_slow_dns_counts_against_the_connect_timeout() -> None:
    resolver = StubResolver({"slow.example": [[GOOD]]}, delay_s=2)
    async with egress_client(allowing(egress_connect_timeout_s=0.2), resolver=resolver) as client:
        started = time.monotonic()
        with pytest.raises(httpx.ConnectTimeout):
            await client.get("http://slow.example/")
    assert time.monotonic() - started < 1


async def test_environment_proxies_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    async with HttpServer(host=GOOD) as server, HttpServer() as proxy:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, proxy.url())
        monkeypatch.delenv("NO_PROXY", raising=False)
        async with egress_client(allowing(server.port)) as client:
            response = await client.get(server.url("/direct"))
    assert response.status_code == 200
    assert proxy.connections == 0


async def test_configured_proxy_carries_requests_and_the_guard_still_applies(canary: HttpServer) -> None:
    async with HttpServer() as proxy:
        settings = Settings(egress_proxy=proxy.url(), egress_allowed_ports=[80, 443, canary.port])
        resolver = StubResolver({"api.example.com": [["93.184.216.34"]]})
        async with egress_client(settings, resolver=resolver) as client:
            response = await client.get("http://api.example.com/v1")
            with pytest.raises(EgressBlocked):
                await client.get(f"http://127.0.0.1:{canary.port}/")
            with pytest.raises(EgressBlocked):
                await client.get("http://169.254.169.254/")
    assert response.status_code == 200
    assert [request.target for request in proxy.requests] == ["http://api.example.com/v1"]
    assert canary.connections == 0


def test_list_settings_accept_commas_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRELLIS_SSRF_ALLOWED_CIDRS", "10.0.0.0/8, fd00::/8")
    monkeypatch.setenv("TRELLIS_SSRF_ALLOWED_HOSTS", '["a.internal", "*.corp.example"]')
    monkeypatch.setenv("TRELLIS_EGRESS_ALLOWED_PORTS", "80,443,8080")
    settings = Settings()
    assert settings.ssrf_allowed_cidrs == ["10.0.0.0/8", "fd00::/8"]
    assert settings.ssrf_allowed_hosts == ["a.internal", "*.corp.example"]
    assert settings.egress_allowed_ports == [80, 443, 8080]


def test_defaults_allow_nothing_internal() -> None:
    settings = Settings()
    assert (settings.ssrf_allowed_cidrs, settings.ssrf_allowed_hosts) == ([], [])
    assert settings.egress_allowed_ports == [80, 443]
    assert settings.egress_max_body_bytes == 10 * 1024 * 1024
