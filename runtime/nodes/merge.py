"""Wait for every node wired into `in`, then combine their outputs into one."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType


class Params(NodeParams):
    mode: Literal["object", "list"] = Field(
        "object",
        description="`object`: outputs keyed by source node id. `list`: outputs in the order of the wires.",
    )


async def run(params: Params, ctx: NodeContext) -> Any:
    """The outputs of the wired nodes that ran: by source node id (`object`) or in wire order (`list`).

    Branches that were skipped are simply absent.
    """
    if params.mode == "list":
        return list(ctx.inputs.values())
    return dict(ctx.inputs)


NODE = NodeType(
    type="merge",
    version=1,
    title="Merge",
    category="flow",
    description=(__doc__ or "").strip(),
    params=Params,
    inputs=("in",),
    outputs=("out",),
    run=run,
)
