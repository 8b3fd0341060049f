"""A threaded HTTP server on 127.0.0.1 for tests that run Trellis in another thread or process."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    """Answers GET and HEAD with `body` after `delay_s`; counts the requests it got.

    `release()` lets a waiting answer go at once (so a test can end without waiting out the delay).
    """

    def __init__(self, body: bytes = b'{"ok": true}', content_type: str = "application/json", delay_s: float = 0):
        self.delay_s = delay_s
        self.requests = 0
        self.idempotency_keys: list[str | None] = []
        """The `Idempotency-Key` header of each request, in arrival order."""
        self._released = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, with_body: bool) -> None:
                owner.requests += 1
                owner.idempotency_keys.append(self.headers.get("Idempotency-Key"))
                owner._released.wait(owner.delay_s)
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

            def do_GET(self) -> None:
                self._answer(with_body=True)

            def do_HEAD(self) -> None:
                self._answer(with_body=False)

            def log_message(self, *args: object) -> None:
                pass  # keep test output quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str = "/") -> str:
        """The absolute URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def release(self) -> None:
        """Answer every waiting and later request at once."""
        self._released.set()

    def close(self) -> None:
        """Stop serving (answers still waiting are released first)."""
        self.release()
        self._server.shutdown()
        self._server.server_close()
