"""`trellis exec` on the examples, run as a user runs it, with loopback peers standing in for the web."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.loopback import LoopbackServer
from tests.openai_server import OpenAIServer, text_reply

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TRELLIS = str(Path(sys.executable).with_name("trellis"))


def trellis(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([TRELLIS, *args], env={**os.environ, **env}, input=stdin, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """Every JSON line `trellis exec` printed."""
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"TRELLIS_DATABASE_URL": f"sqlite:///{tmp_path / 'trellis.db'}", "TRELLIS_DATA_DIR": str(tmp_path)}


@pytest.fixture
def page() -> Iterator[LoopbackServer]:
    server = LoopbackServer(b"<html><body>Trellis runs workflows.</body></html>", "text/html")
    yield server
    server.close()


def allow_loopback(env: dict[str, str], *ports: int) -> dict[str, str]:
    """Let nodes reach these loopback ports (the egress guard refuses loopback by default)."""
    return {**env, "TRELLIS_SSRF_ALLOWED_CIDRS": "127.0.0.1/32",
            "TRELLIS_EGRESS_ALLOWED_PORTS": ",".join(map(str, (80, 443, *ports)))}  # fmt: skip


def test_branch_example_prints_every_event_then_the_output(env: dict[str, str]) -> None:
    result = trellis(env, "exec", str(EXAMPLES / "branch_if.json"), "--input", '{"amount": 150, "id": "A-7"}')
    assert result.returncode == 0, result.stderr
    printed = lines(result)
    events, final = printed[:-1], printed[-1]
    assert events[0]["type"] == "run_started" and events[-1]["type"] == "run_finished"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {e["node_id"] for e in events if e["type"] == "node_skipped"} == {"approve"}
    assert final == {"status": "succeeded", "output": {"review": {"decision": "review", "order": "A-7"}},
                     "error": None}  # fmt: skip


def test_webhook_example_answers_with_a_greeting(env: dict[str, str]) -> None:
    result = trellis(env, "exec", str(EXAMPLES / "webhook_answer.json"), "--input", '{"name": "Ada"}')
    assert result.returncode == 0, result.stderr
    assert lines(result)[-1]["output"]["message"] == "Hello, Ada!"


def test_loop_example_checks_each_url(env: dict[str, str], page: LoopbackServer) -> None:
    urls = [page.url("/a"), page.url("/b"), page.url("/c")]
    result = trellis(allow_loopback(env, page.port), "exec", str(EXAMPLES / "loop_status.json"),
                     "--input", json.dumps({"urls": urls}))  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(lines(result)[-1]["output"]) == 3
    assert page.requests == 3


def test_llm_example_fetches_and_summarises_with_streamed_tokens(env: dict[str, str], page: LoopbackServer) -> None:
    with OpenAIServer() as llm:
        llm.queue(text_reply("Trellis ", "runs ", "workflows."))
        port = int(llm.base_url.split(":")[2].split("/")[0])
        configured = allow_loopback(env, page.port, port)
        fields = json.dumps({"api_key": "sk-test", "base_url": llm.base_url})
        added = trellis(configured, "credential", "add", "demo", "--type", "openai", "--id", "cred_demo", stdin=fields)
        assert added.returncode == 0, added.stderr
        result = trellis(configured, "exec", str(EXAMPLES / "llm_summary.json"),
                         "--input", json.dumps({"url": page.url("/article")}))  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        printed = lines(result)
        tokens = [e["data"]["text"] for e in printed[:-1] if e["type"] == "node_token"]
        assert "".join(tokens) == "Trellis runs workflows."
        assert printed[-1]["output"] == "Trellis runs workflows."
        request = llm.requests[0]
        assert "Trellis runs workflows." in json.dumps(request.body["messages"])
        assert request.headers["authorization"] == "Bearer sk-test"
    assert "sk-test" not in result.stdout


def test_a_failing_run_exits_1_with_the_node_and_reason(env: dict[str, str]) -> None:
    result = trellis(env, "exec", str(EXAMPLES / "loop_status.json"), "--input", '{"urls": "not a list"}')
    assert result.returncode == 1
    final = lines(result)[-1]
    assert final["status"] == "failed" and final["error"]["node_id"] == "each_url"


def test_invalid_document_or_input_exits_2(env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"format": "trellis.workflow", "format_version": 1, "name": "x",
                                  "nodes": [{"id": "Bad", "type": "nope", "type_version": 1,
                                             "position": {"x": 0, "y": 0}}]}))  # fmt: skip
    result = trellis(env, "exec", str(broken))
    assert result.returncode == 2 and "nope" in result.stderr and "Bad" in result.stderr
    result = trellis(env, "exec", str(EXAMPLES / "branch_if.json"), "--input", "{not json")
    assert result.returncode == 2 and "--input" in result.stderr
