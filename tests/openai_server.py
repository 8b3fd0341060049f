"""A real HTTP server on 127.0.0.1 that speaks OpenAI's `POST /v1/chat/completions`, scripted per test.

Tests queue canned replies (text, tool calls, errors, slow answers) and read back every request
the server received. Streaming answers are SSE over chunked transfer encoding, like the real API.

    with OpenAIServer() as server:
        server.queue(text_reply("Hello", "world"))
        ... point the openai client at server.base_url ...
        assert server.requests[0].body["model"] == "gpt-4o-mini"
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted answer; build it with `text_reply`, `tool_reply` or `error_reply`."""

    status: int = 200
    tokens: tuple[str, ...] = ()
    tool_calls: tuple[tuple[str, str], ...] = ()
    """(function name, JSON arguments text) per call."""
    error: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    """Wait before sending anything (a slow or hung server)."""
    token_delay_s: float = 0.0
    usage: tuple[int, int] | None = None
    """(prompt_tokens, completion_tokens); None counts words and tokens."""


def text_reply(*tokens: str, **options: Any) -> Reply:
    """A text answer streamed as exactly these tokens (joined when not streaming)."""
    return Reply(tokens=tokens, **options)


def tool_reply(*calls: tuple[str, Any], **options: Any) -> Reply:
    """An answer asking to call tools: `(name, arguments)`, arguments a dict or raw JSON text."""
    encoded = tuple((name, args if isinstance(args, str) else json.dumps(args)) for name, args in calls)
    return Reply(tool_calls=encoded, **options)


ERROR_TYPES = {
    401: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
    400: "invalid_request_error",
}
JSON_WORD_MISSING = (
    "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'."
)


def error_reply(status: int, message: str = "", code: str | None = None, **options: Any) -> Reply:
    """An OpenAI-shaped error answer with this status, e.g. `error_reply(401, code="invalid_api_key")`."""
    error = {"message": message or f"error {status}", "type": ERROR_TYPES.get(status, "server_error"), "code": code}
    return Reply(status=status, error=error, **options)


@dataclass(frozen=True)
class Recorded:
    """A request the server received; `headers` keys are lower-case."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class OpenAIServer:
    """The server, its reply queue (`queue`, `always`) and every request it got (`requests`)."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._replies: list[Reply] = []
        self._fallback: Reply | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._serve, name="openai-test-server", daemon=True)
        # A distinct path per server keeps per-base-URL state (circuit breakers, cache keys) apart.
        self.base_url = f"http://127.0.0.1:{self._httpd.server_port}/{uuid.uuid4().hex[:8]}/v1"

    def _serve(self) -> None:
        self._httpd.serve_forever(poll_interval=0.02)  # a short poll makes `stop` quick

    def queue(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order."""
        with self._lock:
            self._replies.extend(replies)

    def always(self, reply: Reply | None) -> None:
        """Answer with `reply` whenever the queue is empty (None: answer 500 "nothing scripted")."""
        self._fallback = reply

    def record(self, recorded: Recorded) -> None:
        with self._lock:
            self.requests.append(recorded)

    def next_reply(self) -> Reply:
        """The next queued reply, else the `always` one, else a 500 saying nothing was scripted."""
        with self._lock:
            if self._replies:
                return self._replies.pop(0)
        return self._fallback or error_reply(500, "the test scripted no reply for this request")

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when the server is stopping (the handler should give up)."""
        return self._stopping.wait(seconds) if seconds > 0 else self._stopping.is_set()

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_ChatHandler):
        owner = server

    return Handler


class _ChatHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: OpenAIServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.loads(raw or b"{}")
        self.owner.record(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if self.path.endswith("/chat/completions"):
            reply = self.owner.next_reply()
        else:
            reply = error_reply(404, f"unknown path {self.path}", "unknown_url")
        if self.owner.wait(reply.delay_s):
            return
        # The client may have given up already (a timeout test); then there is no one to answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._answer(reply, body)

    def _answer(self, reply: Reply, body: dict[str, Any]) -> None:
        if reply.error is None and _needs_json_word(body):
            reply = error_reply(400, JSON_WORD_MISSING)
        if reply.error is not None:
            self._send_json(reply.status, {"error": reply.error}, reply.headers)
        elif body.get("stream"):
            self._stream(reply, body)
        else:
            self._send_json(200, _completion(reply, body), reply.headers)

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, reply: Reply, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        for index, chunk in enumerate(_chunks(reply, body)):
            if index and self.owner.wait(reply.token_delay_s):
                return
            self._write_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _needs_json_word(body: dict[str, Any]) -> bool:
    """OpenAI refuses JSON mode unless the word "json" appears in the messages."""
    wants_json = (body.get("response_format") or {}).get("type") == "json_object"
    return wants_json and "json" not in json.dumps(body.get("messages", [])).lower()


def _usage(reply: Reply, body: dict[str, Any]) -> dict[str, int]:
    if reply.usage is not None:
        prompt, completion = reply.usage
    else:
        prompt = sum(len(str(m.get("content") or "").split()) for m in body.get("messages", []))
        completion = len(reply.tokens) + len(reply.tool_calls)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _envelope(body: dict[str, Any], kind: str) -> dict[str, Any]:
    return {"id": "chatcmpl-test", "object": kind, "created": int(time.time()), "model": body.get("model", "")}


def _completion(reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": "".join(reply.tokens) or None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": args}}
            for i, (name, args) in enumerate(reply.tool_calls)
        ]
    finish = "tool_calls" if reply.tool_calls else "stop"
    choice = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
    return _envelope(body, "chat.completion") | {"choices": [choice], "usage": _usage(reply, body)}


def _chunks(reply: Reply, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The SSE payloads of a streamed answer: role, tokens, tool-call fragments, finish, usage."""
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": token} for token in reply.tokens]
    for i, (name, args) in enumerate(reply.tool_calls):
        start = {"index": i, "id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": ""}}
        deltas.append({"tool_calls": [start]})
        middle = len(args) // 2  # arguments arrive in fragments, as from the real API
        deltas += [
            {"tool_calls": [{"index": i, "function": {"arguments": part}}]} for part in (args[:middle], args[middle:])
        ]
    chunk = _envelope(body, "chat.completion.chunk")
    chunks = [chunk | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]} for delta in deltas]
    finish = "tool_calls" if reply.tool_calls else "stop"
    chunks.append(chunk | {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append(chunk | {"choices": [], "usage": _usage(reply, body)})
    return chunks
