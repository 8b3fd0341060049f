"""The egress guard for libraries that build their own `httpx2` client (authlib's OAuth 2 client).

`GuardedHttpx2Transport` is an `httpx2` transport that sends each request through a fresh guarded
`httpx` client (`egress_client`), so those libraries get the same address, port, size and time
checks. Redirects are not followed here: the library's own client follows them, and each hop comes
back through this transport.
"""

from __future__ import annotations

import httpx2

from runtime.config import Settings
from runtime.egress.transport import egress_client


class GuardedHttpx2Transport(httpx2.AsyncBaseTransport):
    """Sends `httpx2` requests through the egress guard; refusals raise `EgressBlocked`."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """The guarded answer to `request`, its body read in full (within the guard's size limit)."""
        body = await request.aread()
        async with egress_client(self._settings) as client:
            outbound = client.build_request(
                request.method, str(request.url), headers=list(request.headers.raw), content=body
            )
            response = await client.send(outbound, follow_redirects=False, stream=True)
            try:
                # Raw bytes: the caller's client undoes any Content-Encoding itself.
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
        return httpx2.Response(response.status_code, headers=response.headers.raw, content=raw, request=request)
