"""Ask a language model for one chat completion; the answer streams onto the canvas.

The prompt and system message may use expressions such as `{{ nodes.fetch.output.text }}`.
Needs an `openai` credential (any server speaking the OpenAI protocol).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from runtime.errors import NodeError
from runtime.llm import DEFAULT_TIMEOUT_S, ChatRequest, Completion, open_session
from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType

JSON_HINT = "Answer with a JSON object."


class Params(NodeParams):
    model: str = Field(min_length=1, description="Model name, e.g. `gpt-4o-mini`.")
    system: str = Field(
        "",
        description="System message setting the model's role and rules.",
        json_schema_extra={"widget": "textarea"},
    )
    prompt: str = Field(
        min_length=1,
        description="The user message sent to the model; may contain expressions.",
        json_schema_extra={"widget": "textarea"},
    )
    temperature: float = Field(0.7, ge=0, le=2, description="Higher is more varied, lower more predictable.")
    max_tokens: int | None = Field(
        None, ge=1, le=1_000_000, description="Longest answer in tokens; empty means the model's limit."
    )
    json_mode: bool = Field(False, description="Ask the model to answer with a JSON object, parsed as output.")
    timeout_s: float = Field(
        DEFAULT_TIMEOUT_S, gt=0, le=3600, description="Give up when the model server sends nothing for this long."
    )
    cache_ttl_s: int = Field(
        0,
        ge=0,
        le=30 * 24 * 3600,
        description="Reuse the answer to an identical request for this many seconds (needs Redis); 0 is off.",
    )


async def run(params: Params, ctx: NodeContext) -> dict[str, Any]:
    """Stream one answer, token by token, as `node_token` events.

    Output: `{"text", "usage": {"prompt_tokens", "completion_tokens"}, "model", "cached"}`, plus
    `"json"` (the parsed object) in JSON mode.
    """
    session = await open_session(ctx, timeout_s=params.timeout_s)
    request = ChatRequest(
        model=params.model,
        messages=_messages(params, ctx),
        temperature=params.temperature,
        max_tokens=params.max_tokens,
        json_mode=params.json_mode,
    )

    async def on_token(text: str) -> None:
        await ctx.emit("node_token", {"text": text})

    answer = await session.complete(
        request, on_token, idempotency_key=ctx.idempotency_key, cache_ttl_s=params.cache_ttl_s
    )
    output: dict[str, Any] = {
        "text": answer.text,
        "usage": answer.usage,
        "model": answer.model,
        "cached": answer.cached,
    }
    if params.json_mode:
        output["json"] = _parsed(answer, ctx.node_id)
    return output


def _messages(params: Params, ctx: NodeContext) -> list[dict[str, Any]]:
    system, prompt = ctx.render_param("system", params.system), ctx.render_param("prompt", params.prompt)
    # OpenAI refuses JSON mode unless the messages mention JSON; say it for the user when they did not.
    if params.json_mode and "json" not in f"{system} {prompt}".lower():
        system = f"{system}\n\n{JSON_HINT}".strip()
    messages = [{"role": "system", "content": system}] if system.strip() else []
    return [*messages, {"role": "user", "content": prompt}]


def _parsed(answer: Completion, node_id: str) -> Any:
    try:
        return json.loads(answer.text)
    except json.JSONDecodeError as error:
        cut = " (the answer was cut off at max_tokens)" if answer.finish_reason == "length" else ""
        raise NodeError(
            f"Node {node_id!r}: json_mode is on but the model's answer is not valid JSON{cut}: "
            f"{error.msg} at character {error.pos}; the answer began {answer.text[:80]!r}",
            retryable=True,  # another sample from the model may well be valid JSON
        ) from error


NODE = NodeType(
    type="llm",
    version=1,
    title="LLM",
    category="ai",
    description=(__doc__ or "").strip(),
    params=Params,
    inputs=("in",),
    outputs=("out",),
    run=run,
    credentials=("openai",),
)
