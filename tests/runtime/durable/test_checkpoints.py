"""Checkpointed runs on LangGraph's real SQLite and PostgreSQL savers: resuming re-runs only what had not finished."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.engine.checkpoints import stored_progress
from runtime.errors import NodeError
from runtime.executor.checkpointer import open_checkpointer, prune_checkpoints
from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, Registry
from runtime.store import make_engine
from tests.runtime.engine.helpers import TEST_REGISTRY, _test_type, document, edge, node, start

calls: Counter[tuple[str, str]] = Counter()
"""Calls per (run id, node id), across attempts and resumes."""
broken: set[str] = set()
"""Node ids that fail while listed (the outage a resume outlives)."""


async def _counted(params: NodeParams, ctx: NodeContext) -> Any:
    calls[ctx.run_id, ctx.node_id] += 1
    if ctx.node_id in broken:
        raise NodeError(f"{ctx.node_id} is down", retryable=False)
    return {"node": ctx.node_id, "input": ctx.input}


@pytest.fixture(autouse=True)
def fresh_counts() -> None:
    calls.clear()


REGISTRY = Registry([*TEST_REGISTRY, _test_type("counted", NodeParams, _counted)])
Events = list[tuple[str, str | None, dict[str, Any]]]


def chain_with_branch() -> dict[str, Any]:
    """start -> a -> check(if) -> [true] b -> result(output of a and b); [false] never."""
    return document(
        [
            node("start", "manual_trigger"),
            node("a", "counted"),
            node("check", "if", params={"condition": "{{ trigger.body.go }}"}),
            node("b", "counted"),
            node("never", "counted"),
            node("result", "output", params={"value": "{{ {'a': nodes.a.output.node, 'b': nodes.b.output.node} }}"}),
        ],
        [
            edge("e1", "start", "a"),
            edge("e2", "a", "check"),
            edge("e3", "check", "b", source_handle="true"),
            edge("e4", "check", "never", source_handle="false"),
            edge("e5", "b", "result"),
        ],  # fmt: skip
    )


async def run_twice(db_url: str, run_id: str, raw: dict[str, Any]) -> tuple[Any, Any, Events, Events]:
    """Run `raw` with `b` broken (it fails), then resume it with `b` working; both outcomes and event lists."""
    first: Events = []
    second: Events = []
    async with open_checkpointer(db_url) as checkpointer:
        broken.add("b")
        try:
            failed = await start(raw, {"go": True}, run_id=run_id, events=first, registry=REGISTRY,
                                 checkpointer=checkpointer)  # fmt: skip
        finally:
            broken.discard("b")
        resumed = await start(raw, {"go": True}, run_id=run_id, events=second, registry=REGISTRY,
                              checkpointer=checkpointer, resume=True)  # fmt: skip
    return failed, resumed, first, second


def test_a_resumed_run_reruns_only_the_failed_node_and_keeps_earlier_outputs(db_url: str) -> None:
    failed, resumed, first, second = asyncio.run(run_twice(db_url, "run_resume", chain_with_branch()))

    assert failed.status == "failed" and failed.error["node_id"] == "b"
    assert resumed.status == "succeeded"
    assert resumed.output == {"a": "a", "b": "b"}  # `a` ran only in the first run, its output came back
    assert calls["run_resume", "a"] == 1
    assert calls["run_resume", "b"] == 2
    nodes_seen = [(kind, node_id) for kind, node_id, _ in second]
    assert ("node_started", "a") not in nodes_seen and ("node_started", "check") not in nodes_seen
    assert [node_id for kind, node_id in nodes_seen if kind == "node_skipped"] == ["never"]
    assert [node_id for kind, node_id, _ in first if kind == "node_skipped"] == []


def test_resume_without_a_checkpoint_starts_the_run_afresh(db_url: str) -> None:
    async def scenario() -> tuple[Any, Any]:
        async with open_checkpointer(db_url) as checkpointer:
            nothing = await stored_progress(checkpointer, "run_fresh")
            outcome = await start(chain_with_branch(), {"go": True}, run_id="run_fresh", registry=REGISTRY,
                                  checkpointer=checkpointer, resume=True)  # fmt: skip
            return nothing, outcome

    nothing, outcome = asyncio.run(scenario())

    assert nothing is None
    assert outcome.status == "succeeded" and outcome.output == {"a": "a", "b": "b"}


def test_without_an_output_node_a_resumed_run_answers_with_the_last_finished_output(db_url: str) -> None:
    raw = document(
        [node("start", "manual_trigger"), node("a", "counted"), node("b", "counted")],
        [edge("e1", "start", "a"), edge("e2", "a", "b")],
    )
    _, resumed, _, _ = asyncio.run(run_twice(db_url, "run_last", raw))

    assert resumed.output == {"node": "b", "input": {"node": "a", "input": {"go": True}}}


def test_pruning_keeps_only_the_last_checkpoint_and_a_run_still_resumes_from_it(db_url: str) -> None:
    async def scenario() -> Any:
        async with open_checkpointer(db_url) as checkpointer:
            broken.add("b")
            try:
                await start(chain_with_branch(), {"go": True}, run_id="run_prune", registry=REGISTRY,
                            checkpointer=checkpointer)  # fmt: skip
            finally:
                broken.discard("b")
            engine = make_engine(db_url)
            with engine.begin() as connection:
                before = count_checkpoints(connection, "run_prune")
                prune_checkpoints(connection, ["run_prune"])
                after = count_checkpoints(connection, "run_prune")
            engine.dispose()
            resumed = await start(chain_with_branch(), {"go": True}, run_id="run_prune", registry=REGISTRY,
                                  checkpointer=checkpointer, resume=True)  # fmt: skip
            return before, after, resumed

    before, after, resumed = asyncio.run(scenario())

    assert before > 1 and after == 1
    assert resumed.status == "succeeded" and resumed.output == {"a": "a", "b": "b"}
    assert calls["run_prune", "a"] == 1


def count_checkpoints(connection: sa.Connection, run_id: str) -> int:
    query = sa.text("SELECT count(*) FROM checkpoints WHERE thread_id = :t")
    return int(connection.execute(query, {"t": run_id}).scalar_one())
