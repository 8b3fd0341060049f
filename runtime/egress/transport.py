"""The guarded httpx client: every request and every redirect hop passes `EgressPolicy` first.

Direct connections resolve the host once per new connection, check every address and connect
to a checked one, so a DNS answer that changes between check and connect (rebinding) never
matters. The pool stays keyed by host name, so TLS SNI, certificate checks and the Host header
all use the name from the URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpcore
import httpx

from runtime.config import Settings
from runtime.egress.policy import (
    EgressBlocked,
    EgressPolicy,
    Resolver,
    SystemResolver,
    check_scheme,
    display_url,
    parse_ip,
)

MAX_REDIRECTS = 5
MAX_TOTAL_TIMEOUT_S = 300.0
TOTAL_TIMEOUT = "trellis.total_timeout"
"""Request extension: seconds one exchange (headers and body, per redirect hop) may take, at most 300."""

SocketOptions = Iterable[tuple[int, int, int | bytes] | tuple[int, int, None, int]]


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to addresses the policy accepted, resolving each host once."""

    def __init__(self, policy: EgressPolicy, resolver: Resolver) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: SocketOptions | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """A stream to the first reachable checked address of `host`; raises `EgressBlocked` if any is not allowed."""
        for address in await self._checked_addresses(host, port, timeout):
            with contextlib.suppress(httpcore.ConnectError, httpcore.ConnectTimeout):
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
        raise httpcore.ConnectError(f"could not connect to {host} on port {port}")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

    async def _checked_addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        literal = parse_ip(host)
        if literal is not None:
            return self._policy.check_addresses(host, [str(literal)])
        try:
            async with asyncio.timeout(timeout):
                answers = await self._resolver.resolve(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took longer than {timeout} s") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"could not find host {host} ({exc.strerror or exc})") from None
        return self._policy.check_addresses(host, answers)


class LimitedStream(httpx.AsyncByteStream):
    """A response body that stops past `max_bytes` (raw bytes on the wire) or after `deadline`."""

    def __init__(self, inner: httpx.AsyncByteStream, request: httpx.Request, max_bytes: int, deadline: float) -> None:
        self._inner = inner
        self._request = request
        self._max_bytes = max_bytes
        self._deadline = deadline

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._inner.__aiter__()
        received = 0
        try:
            while True:
                try:
                    async with asyncio.timeout_at(self._deadline):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise httpx.ReadTimeout("the response took too long to arrive", request=self._request) from None
                received += len(chunk)
                if received > self._max_bytes:
                    raise body_too_large(self._request.url, self._max_bytes)
                yield chunk
        finally:
            closer = getattr(chunks, "aclose", None)
            if closer is not None:
                await closer()

    async def aclose(self) -> None:
        await self._inner.aclose()


class GuardedTransport(httpx.AsyncHTTPTransport):
    """An httpx transport that refuses what `EgressPolicy` refuses and caps time and body size."""

    def __init__(self, settings: Settings, resolver: Resolver) -> None:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(verify=_tls_context(), trust_env=False, proxy=settings.egress_proxy, limits=limits)
        self._policy = EgressPolicy(settings)
        self._resolver = resolver
        self._max_bytes = settings.egress_max_body_bytes
        self._default_total = settings.egress_timeout_s
        self._proxied = settings.egress_proxy is not None
        if not self._proxied:
            # httpx has no parameter for the network backend, so replace the pool it built with
            # the same pool over our pinned backend.
            self._pool = httpcore.AsyncConnectionPool(
                ssl_context=_tls_context(),
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
                network_backend=PinnedBackend(self._policy, resolver),
            )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """The response, its body limited; raises `EgressBlocked` before connecting where refused."""
        self._policy.check_url(request.url)
        total = min(float(request.extensions.get(TOTAL_TIMEOUT, self._default_total)), MAX_TOTAL_TIMEOUT_S)
        deadline = asyncio.get_running_loop().time() + total
        try:
            async with asyncio.timeout_at(deadline):
                if self._proxied:
                    await self._check_before_proxy(request.url)
                response = await super().handle_async_request(request)
        except EgressBlocked as exc:
            raise EgressBlocked(exc.reason, display_url(request.url), exc.detail) from None
        except TimeoutError:
            raise httpx.TimeoutException(f"no response within {total:g} s", request=request) from None
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_bytes:
            await response.aclose()
            raise body_too_large(request.url, self._max_bytes)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = LimitedStream(response.stream, request, self._max_bytes, deadline)
        return response

    async def _check_before_proxy(self, url: httpx.URL) -> None:
        # The proxy resolves the name itself, so this check cannot pin the address: it catches
        # literal and plainly internal targets, and the proxy's own destination rules do the rest.
        # A name that only the proxy can resolve is left to the proxy.
        literal = parse_ip(url.host)
        if literal is not None:
            self._policy.check_addresses(url.host, [str(literal)])
            return
        port = url.port or (443 if url.scheme == "https" else 80)
        with contextlib.suppress(OSError):
            self._policy.check_addresses(url.host, await self._resolver.resolve(url.host, port))


class EgressClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` that turns unusable URLs and redirect loops into `EgressBlocked`."""

    def build_request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Request:
        try:
            # Checked before merging with `base_url`, which would turn `file:///x` into `/x`.
            parsed = httpx.URL(url)
            if parsed.scheme or not str(self.base_url):
                check_scheme(parsed)
            return super().build_request(method, url, **kwargs)
        except httpx.InvalidURL as exc:
            raise EgressBlocked("invalid_url", str(url), f"the address is not valid ({exc}).") from None

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        try:
            return await super().send(request, **kwargs)
        except httpx.TooManyRedirects:
            detail = f"it redirected more than {MAX_REDIRECTS} times."
            raise EgressBlocked("too_many_redirects", display_url(request.url), detail) from None


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle takes tens of milliseconds; one context serves every client.
    return httpx.create_ssl_context(trust_env=False)


def egress_client(settings: Settings, *, resolver: Resolver | None = None) -> httpx.AsyncClient:
    """A new guarded client (follows up to 5 redirects, each re-checked); close it with `aclose()`.

    `resolver` replaces the system resolver, for tests. Environment proxies are ignored; set
    `TRELLIS_EGRESS_PROXY` to send everything through a proxy.
    """
    return EgressClient(
        transport=GuardedTransport(settings, resolver or SystemResolver()),
        trust_env=False,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=httpx.Timeout(settings.egress_timeout_s, connect=settings.egress_connect_timeout_s),
    )


async def read_limited(response: httpx.Response, max_bytes: int) -> bytes:
    """The decoded body of a streamed `response`; raises `EgressBlocked` past `max_bytes` (stops zip bombs)."""
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_bytes():
        received += len(chunk)
        if received > max_bytes:
            raise body_too_large(response.url, max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def body_too_large(url: httpx.URL, max_bytes: int) -> EgressBlocked:
    """The error for a response body over the limit."""
    return EgressBlocked("body_too_large", display_url(url), f"the response body is larger than {max_bytes} bytes.")
