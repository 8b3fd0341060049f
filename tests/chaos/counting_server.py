"""A loopback HTTP server that records every request a workflow makes: which run and node, the
`Idempotency-Key` it carried and when it arrived. It can hold answers back to widen kill windows.

Paths are `/<tag>/<node_id>`: the workflow puts a per-run tag (the run's `trigger.body.n`) first,
so the test can tell runs apart without knowing their ids in advance.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Call:
    """One request as the server received it."""

    tag: str
    node_id: str
    key: str | None
    """The `Idempotency-Key` header, None when absent."""
    at: datetime
    """Arrival time (UTC, the same clock the workers stamp node runs with)."""
    seq: int
    """1 for the first request the server got, 2 for the next, ..."""


Delay = Callable[[str, str, int], float]
"""(tag, node_id, how many calls this tag+node had before) -> seconds to hold the answer."""


class CountingServer:
    """Answers `GET /<tag>/<node_id>` with `{"tag", "node", "seq"}` after `delay(...)` seconds."""

    def __init__(self, delay: Delay = lambda tag, node, before: 0.0) -> None:
        self.delay = delay
        self.calls: list[Call] = []
        self._changed = threading.Condition()
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, tag: str, node_id: str) -> str:
        """The URL a node calls; `tag` may be an expression such as `{{ trigger.body.n }}`."""
        return f"http://127.0.0.1:{self.port}/{tag}/{node_id}"

    def calls_to(self, tag: str, node_id: str) -> list[Call]:
        """The requests made for one node of one run, oldest first."""
        with self._changed:
            return [call for call in self.calls if (call.tag, call.node_id) == (tag, node_id)]

    def wait_for(self, predicate: Callable[[list[Call]], bool], timeout_s: float) -> bool:
        """Block until `predicate(calls)` holds (True) or `timeout_s` passes (False)."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not predicate(self.calls):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def close(self) -> None:
        """Let held answers go and stop serving."""
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    def _record(self, path: str, key: str | None) -> Call:
        tag, _, node_id = path.strip("/").partition("/")
        with self._changed:
            before = sum(1 for call in self.calls if (call.tag, call.node_id) == (tag, node_id))
            call = Call(tag, node_id, key, datetime.now(UTC), len(self.calls) + 1)
            self.calls.append(call)
            self._changed.notify_all()
        self._released.wait(self.delay(tag, node_id, before))
        return call

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                call = owner._record(self.path.split("?")[0], self.headers.get("Idempotency-Key"))
                body = json.dumps({"tag": call.tag, "node": call.node_id, "seq": call.seq}).encode()
                with contextlib.suppress(OSError):  # the caller may have been killed meanwhile
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass  # keep test output quiet

        return Handler
