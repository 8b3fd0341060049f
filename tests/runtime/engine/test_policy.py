"""Per-node retries and timeouts, failures that end a run, and cancelling a run."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.runtime.engine.helpers import document, edge, execute, node, sleep_cancelled, sleep_started, start

TRIGGER = node("start", "manual_trigger")


def after_trigger(*nodes: dict) -> dict:
    """start wired into each of `nodes`, each of them wired into nothing."""
    return document([TRIGGER, *nodes], [edge(f"e{i}", "start", n["id"]) for i, n in enumerate(nodes)])


def retrying(node_id: str, type: str, params: dict, attempts: int, timeout_s: float | None = None) -> dict:
    settings = {"retry_attempts": attempts, "retry_backoff_s": 0, "timeout_s": timeout_s}
    return node(node_id, type, params=params, settings=settings)


def test_a_retryable_failure_is_retried_and_each_attempt_is_reported():
    run = execute(after_trigger(retrying("flaky", "flaky", {"failures": 2}, attempts=3)), {})
    assert run.outcome.status == "succeeded"
    assert run.outcome.output == {"attempt": 3}
    assert [(kind, data["attempt"]) for kind, data in run.of("flaky")] == [
        ("node_started", 1),
        ("node_failed", 1),
        ("node_started", 2),
        ("node_failed", 2),
        ("node_started", 3),
        ("node_finished", 3),
    ]
    failed = run.of("flaky")[1][1]
    assert failed == {"attempt": 1, "error": "upstream refused attempt 1", "retryable": True, "will_retry": True}


def test_a_node_out_of_attempts_fails_the_run_and_later_nodes_do_not_run():
    raw = after_trigger(retrying("flaky", "flaky", {"failures": 5}, attempts=2))
    raw["nodes"].append(node("later", "set", params={"fields": {}}))
    raw["edges"].append(edge("e9", "flaky", "later"))
    run = execute(raw, {})
    assert run.outcome.status == "failed"
    assert run.outcome.error == {"node_id": "flaky", "message": "upstream refused attempt 2"}
    assert run.of("flaky")[-1] == (
        "node_failed",
        {"attempt": 2, "error": "upstream refused attempt 2", "retryable": True, "will_retry": False},
    )
    assert run.kinds("later") == []  # a failed run reports no skipped nodes


def test_a_non_retryable_failure_is_not_retried():
    run = execute(after_trigger(retrying("flaky", "flaky", {"failures": 1, "retryable": False}, attempts=3)), {})
    assert run.outcome.error == {"node_id": "flaky", "message": "upstream refused attempt 1"}
    assert run.kinds("flaky") == ["node_started", "node_failed"]
    assert run.of("flaky")[1][1]["will_retry"] is False


def test_an_unexpected_exception_fails_the_node_with_its_type_and_is_not_retried():
    run = execute(after_trigger(retrying("buggy", "flaky", {"failures": 1, "bug": True}, attempts=3)), {})
    assert run.outcome.error == {"node_id": "buggy", "message": "ValueError: bad value in attempt 1"}
    assert run.kinds("buggy") == ["node_started", "node_failed"]


def test_an_attempt_over_its_time_limit_is_stopped_and_retried():
    run = execute(after_trigger(retrying("slow", "sleep", {"seconds": 10}, attempts=2, timeout_s=0.05)), {})
    assert run.outcome.error == {"node_id": "slow", "message": "Did not finish within 0.05 s."}
    assert [(kind, data["attempt"], data.get("will_retry")) for kind, data in run.of("slow")] == [
        ("node_started", 1, None),
        ("node_failed", 1, True),
        ("node_started", 2, None),
        ("node_failed", 2, False),
    ]


def test_a_failing_node_cancels_the_branches_still_running():
    run_id = "run_sibling"
    raw = after_trigger(
        node("slow", "sleep", params={"seconds": 30}), retrying("flaky", "flaky", {"failures": 1}, attempts=1)
    )
    began = time.monotonic()
    run = execute(raw, {}, run_id=run_id)
    assert time.monotonic() - began < 5
    assert run.outcome.error == {"node_id": "flaky", "message": "upstream refused attempt 1"}
    assert run_id in sleep_cancelled
    assert run.kinds("slow") == ["node_started"]


def test_cancelling_the_run_task_interrupts_the_running_node():
    run_id = "run_cancelled"
    raw = after_trigger(node("slow", "sleep", params={"seconds": 30}))

    async def scenario() -> float:
        task = asyncio.create_task(start(raw, {}, run_id=run_id))
        await asyncio.wait_for(sleep_started.setdefault(run_id, asyncio.Event()).wait(), timeout=5)
        began = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - began

    assert asyncio.run(scenario()) < 1
    assert run_id in sleep_cancelled
