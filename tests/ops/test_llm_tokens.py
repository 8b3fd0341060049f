"""LLM token counters: a real `openai` client call against the scripted server moves them by its usage."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from runtime.config import get_settings
from runtime.ops import render_metrics
from tests.openai_server import OpenAIServer, text_reply
from tests.runtime.llm.test_session import call


def tokens_counted() -> dict[tuple[str, str], float]:
    """`{(model, kind): tokens}` as this process's `/metrics` text would show them."""
    text = render_metrics(get_settings()).decode()
    return {
        (sample.labels["model"], sample.labels["kind"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "trellis_openai_tokens"
        for sample in family.samples
        if sample.name.endswith("_total")
    }


def test_each_answered_call_counts_its_prompt_and_completion_tokens(openai_server: OpenAIServer) -> None:
    before = tokens_counted()
    openai_server.queue(text_reply("Hi", usage=(11, 2)), text_reply("Hello", usage=(5, 4)))

    model = call(openai_server).model
    call(openai_server)

    after = tokens_counted()
    assert after.get((model, "prompt"), 0) - before.get((model, "prompt"), 0) == 16
    assert after.get((model, "completion"), 0) - before.get((model, "completion"), 0) == 6
