"""Network peers for egress tests: a tiny HTTP/1.1 server on a loopback address and a stub resolver.

The server records every connection and request it sees; a handler decides the answer. Each
connection serves one request and closes, which keeps the server short and connection counts exact.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from runtime.egress import SystemResolver


@dataclass
class Received:
    """One request as the server saw it; header names are lower-case."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Received, asyncio.StreamWriter], Awaitable[None]]


async def reply(
    writer: asyncio.StreamWriter,
    status: int = 200,
    body: bytes | str = b"",
    headers: dict[str, str] | None = None,
) -> None:
    """Write a complete response with a Content-Length and close the connection."""
    payload = body.encode() if isinstance(body, str) else body
    lines = [f"HTTP/1.1 {status} Status", f"Content-Length: {len(payload)}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
    await writer.drain()


async def ok(request: Received, writer: asyncio.StreamWriter) -> None:
    """Answer 200 with a short text body."""
    await reply(writer, 200, "hello", {"Content-Type": "text/plain"})


@dataclass
class HttpServer:
    """`async with HttpServer(handler) as server:` serves on `server.url(path)` until the block ends."""

    handler: Handler = ok
    host: str = "127.0.0.1"
    port_wanted: int = 0
    tls: ssl.SSLContext | None = None
    connections: int = 0
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    """The port it listens on, set on entering the block."""
    _server: asyncio.Server | None = None

    def url(self, path: str = "/") -> str:
        """The absolute URL of `path` on this server."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}{path}"

    async def __aenter__(self) -> HttpServer:
        self._server = await asyncio.start_server(self._serve, self.host, self.port_wanted, ssl=self.tls)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            request = await _read_request(reader)
            if request is not None:
                self.requests.append(request)
                await self.handler(request, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, asyncio.CancelledError):
            pass  # the client went away or the test ended: nothing left to serve
        finally:
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> Received | None:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return None
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Received(method=parts[0], target=parts[1], headers=headers, body=body)


class StubResolver:
    """Answers names from `answers` (one list of addresses per call, the last one repeating).

    Names it does not know go to the system resolver, which turns numeric forms such as
    `2130706433` into addresses without any network.
    """

    def __init__(self, answers: dict[str, list[list[str]]] | None = None, delay_s: float = 0.0) -> None:
        self.answers = answers or {}
        self.delay_s = delay_s
        self.calls: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        await asyncio.sleep(self.delay_s)
        sequence = self.answers.get(host)
        if sequence is None:
            return await SystemResolver().resolve(host, port)
        return sequence[min(self.calls.count(host), len(sequence)) - 1]
