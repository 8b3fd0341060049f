"""Set the workflow's result: what the run returns and what a `when_finished` webhook answers."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType


class Params(NodeParams):
    value: str = Field(
        "",
        description="Expression giving the result; empty means the output of the node wired in.",
        json_schema_extra={"widget": "code", "language": "jinja"},
    )


async def run(params: Params, ctx: NodeContext) -> Any:
    """The workflow's result: the value expression's native value, or the input when it is empty."""
    if not params.value.strip():
        return ctx.input
    return ctx.evaluate_param("value", params.value)


NODE = NodeType(
    type="output",
    version=1,
    title="Output",
    category="flow",
    description=(__doc__ or "").strip(),
    params=Params,
    inputs=("in",),
    outputs=(),
    run=run,
)
