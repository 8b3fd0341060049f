"""Resuming a failed run from its checkpoint, and replaying a finished run from a node with a new input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from runtime.config import get_settings
from runtime.executor.replays import NotReplayable
from runtime.executor.reruns import NotResumable, resume_run, start_replay
from runtime.store import RunStatus
from tests.loopback import LoopbackServer
from tests.runtime.approvals.flows import (
    edge,
    latest,
    node,
    node_runs,
    refund_flow,
    run_row,
    start,
    wait_until_finished,
)


@pytest.fixture
def counter(configured: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    """A loopback server nodes may reach, counting the requests it gets."""
    server = LoopbackServer(body=b'{"name": "Ada"}')
    monkeypatch.setenv("TRELLIS_EGRESS_ALLOWED_PORTS", f"80,443,{server.port}")
    get_settings.cache_clear()
    yield server
    server.close()


def flow(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": "trellis.workflow", "format_version": 1, "name": "Flow", "nodes": nodes, "edges": edges,
            "settings": {"timeout_s": 60}}  # fmt: skip


def test_a_failed_run_resumes_at_its_failed_node_without_rerunning_finished_ones(
    configured: str, counter: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = LoopbackServer()  # its port is not allowed yet: the node fails as a refused destination
    document = flow(
        [node("start", "manual_trigger"), node("first", "http_request", url=counter.url("/a")),
         node("second", "http_request", url=blocked.url("/b")),
         node("done", "output", value="{{ nodes.second.output.body }}")],
        [edge("start", "first"), edge("first", "second"), edge("second", "done")],
    )  # fmt: skip
    _, run_id, status = start(configured, document, {})
    assert status is RunStatus.FAILED and run_row(run_id).error["node_id"] == "second"
    assert counter.requests == 1 and blocked.requests == 0

    monkeypatch.setenv("TRELLIS_EGRESS_ALLOWED_PORTS", f"80,443,{counter.port},{blocked.port}")  # the fix
    get_settings.cache_clear()
    assert resume_run(get_settings(), configured, run_id).status is RunStatus.QUEUED

    run = wait_until_finished(run_id)
    assert (run.status, run.output, run.error) == (RunStatus.SUCCEEDED, {"ok": True}, None)
    assert counter.requests == 1 and blocked.requests == 1  # `first` finished before: it did not run again
    assert [row.node_id for row in node_runs(run_id)].count("first") == 1
    with pytest.raises(NotResumable, match="only a failed run"):
        resume_run(get_settings(), configured, run_id)
    blocked.close()


def test_a_replay_reuses_the_nodes_before_the_chosen_one_and_runs_it_on_the_new_input(
    configured: str, counter: LoopbackServer
) -> None:
    document = flow(
        [node("start", "manual_trigger"), node("fetch", "http_request", url=counter.url("/a")),
         node("greet", "template", template="Hello {{ input.body.name }}"), node("done", "output")],
        [edge("start", "fetch"), edge("fetch", "greet"), edge("greet", "done")],
    )  # fmt: skip
    _, original, status = start(configured, document, {})
    assert status is RunStatus.SUCCEEDED and counter.requests == 1
    assert run_row(original).output == "Hello Ada"

    replay = start_replay(get_settings(), configured, original, "greet", {"body": {"name": "Bob"}})
    assert replay.id != original and replay.replay_of == original
    run = wait_until_finished(replay.id)
    assert (run.status, run.output) == (RunStatus.SUCCEEDED, "Hello Bob")
    assert counter.requests == 1  # fetch was taken from the original run, not called again
    rows = latest(replay.id)
    assert rows["fetch"].output == latest(original)["fetch"].output and rows["fetch"].input is None
    assert rows["greet"].input == {"body": {"name": "Bob"}}
    assert rows["start"].status == "succeeded"


def test_a_replay_keeps_the_routing_of_the_original(configured: str) -> None:
    _, original, _ = start(configured, refund_flow(), {"amount": 3})
    with pytest.raises(NotReplayable, match="waiting"):
        start_replay(get_settings(), configured, original, "pay", {})
    from runtime.approvals.decide import Decider, decide

    decide(get_settings(), configured, original, "ask", "reject", None, Decider(None, "ada@example.com"))
    wait_until_finished(original)
    replay = start_replay(get_settings(), configured, original, "refuse", {"again": True})
    assert wait_until_finished(replay.id).status is RunStatus.SUCCEEDED
    rows = latest(replay.id)
    assert rows["ask"].output["decision"] == "rejected"  # the decision came from the original: no new approval
    assert rows["refuse"].output == {"refused": "yes"} and rows["pay"].status == "skipped"
    with pytest.raises(ValueError, match="not a node"):
        start_replay(get_settings(), configured, original, "nope", {})
