"""Build an object from named values, each given by an expression.

For example the field `answer` with `{{ nodes.summary.output.text }}` outputs
`{"answer": "..."}`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType


class Params(NodeParams):
    fields: dict[str, str] = Field(
        default_factory=dict, description="Output field name -> expression giving its value."
    )


async def run(params: Params, ctx: NodeContext) -> Any:
    """An object with one entry per field: its expression's native value (a list stays a list)."""
    return {name: ctx.evaluate_param(f"fields.{name}", expression) for name, expression in params.fields.items()}


NODE = NodeType(
    type="set",
    version=1,
    title="Set fields",
    category="data",
    description=(__doc__ or "").strip(),
    params=Params,
    inputs=("in",),
    outputs=("out",),
    run=run,
)
