"""Send the input on through `true` or `false`, depending on a condition."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType


class Params(NodeParams):
    condition: str = Field(
        min_length=1,
        description="Expression that is true or false, e.g. `{{ trigger.body.amount > 100 }}`.",
        json_schema_extra={"widget": "code", "language": "jinja"},
    )


async def run(params: Params, ctx: NodeContext) -> Any:
    raise NotImplementedError  # TODO(runtime issue): replaced by the real run


NODE = NodeType(
    type="if",
    version=1,
    title="If",
    category="flow",
    description=(__doc__ or "").strip(),
    params=Params,
    inputs=("in",),
    outputs=("true", "false"),
    run=run,
)
