"""Let a language model work towards a goal by calling tools, for a bounded number of steps.

Wire other nodes (an HTTP request, a sub-workflow, ...) into the `tools` input: each becomes a
tool the model may call. Needs an `openai` credential.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType


class Params(NodeParams):
    model: str = Field(min_length=1, description="Model name; it must support tool calling.")
    instructions: str = Field(
        "",
        description="How the agent should behave and when to use which tool.",
        json_schema_extra={"widget": "textarea"},
    )
    prompt: str = Field(
        min_length=1,
        description="The task for this run; may contain expressions.",
        json_schema_extra={"widget": "textarea"},
    )
    max_iterations: int = Field(
        5, ge=1, le=50, description="Stop after this many model turns, even if it wants more tools."
    )


async def run(params: Params, ctx: NodeContext) -> Any:
    raise NotImplementedError  # TODO(runtime issue): replaced by the real run


NODE = NodeType(
    type="agent",
    version=1,
    title="Agent",
    category="ai",
    description=(__doc__ or "").strip(),
    params=Params,
    inputs=("in", "tools"),
    outputs=("out",),
    run=run,
    credentials=("openai",),
)
