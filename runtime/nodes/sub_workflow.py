"""Run another saved workflow as one step and output its result."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType


class Params(NodeParams):
    workflow_id: str = Field(min_length=1, description="Id of the saved workflow to run.")
    input: str = Field(
        "",
        description="Expression giving the other workflow's input; empty passes this node's input on.",
        json_schema_extra={"widget": "code", "language": "jinja"},
    )


async def run(params: Params, ctx: NodeContext) -> Any:
    """The other workflow's output, run on `input` (or on this node's input when it is empty)."""
    data = ctx.evaluate_param("input", params.input) if params.input else ctx.input
    return await ctx.services.run_workflow(params.workflow_id, data)


NODE = NodeType(
    type="sub_workflow",
    version=1,
    title="Sub-workflow",
    category="flow",
    description=(__doc__ or "").strip(),
    params=Params,
    inputs=("in",),
    outputs=("out",),
    run=run,
)
