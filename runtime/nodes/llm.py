"""Ask a language model for one chat completion; the answer streams onto the canvas.

The prompt and system message may use expressions such as `{{ nodes.fetch.output.text }}`.
Needs an `openai` credential (any server speaking the OpenAI protocol).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType


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


async def run(params: Params, ctx: NodeContext) -> Any:
    raise NotImplementedError  # TODO(runtime issue): replaced by the real run


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
