"""Counters moved in this process, read back through the same rendering `/metrics` uses."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from runtime.config import get_settings
from runtime.executor.dispatch import cancel_run, create_run, trigger_payload
from runtime.ops import render_metrics
from runtime.store import RunTrigger, get_engine, session_scope
from tests.openai_server import OpenAIServer, text_reply
from tests.runtime.executor.conftest import store_workflow
from tests.runtime.executor.test_in_process import GREETING
from tests.runtime.llm.test_session import call


def counted(family_name: str, *labels: str) -> dict[tuple[str, ...], float]:
    """`{label values: total}` of one counter as this process's `/metrics` text would show it."""
    text = render_metrics(get_settings()).decode()
    return {
        tuple(sample.labels[label] for label in labels): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == family_name
        for sample in family.samples
        if sample.name.endswith("_total")
    }


def tokens_counted() -> dict[tuple[str, ...], float]:
    return counted("trellis_openai_tokens", "model", "kind")


def test_each_answered_call_counts_its_prompt_and_completion_tokens(openai_server: OpenAIServer) -> None:
    before = tokens_counted()
    openai_server.queue(text_reply("Hi", usage=(11, 2)), text_reply("Hello", usage=(5, 4)))

    model = call(openai_server).model
    call(openai_server)

    after = tokens_counted()
    assert after.get((model, "prompt"), 0) - before.get((model, "prompt"), 0) == 16
    assert after.get((model, "completion"), 0) - before.get((model, "completion"), 0) == 6


def test_a_run_cancelled_before_it_started_is_counted(configured: str) -> None:
    workflow_id = store_workflow(configured, GREETING)
    before = counted("trellis_workflow_runs", "status", "trigger")
    with session_scope(get_engine()) as session:
        run = create_run(session, configured, workflow_id, trigger_payload({}), RunTrigger.API)
    with session_scope(get_engine()) as session:
        cancel_run(session, get_settings(), configured, run.id)

    after = counted("trellis_workflow_runs", "status", "trigger")
    assert after.get(("cancelled", "api"), 0) - before.get(("cancelled", "api"), 0) == 1
