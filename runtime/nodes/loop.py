"""Run the branch wired to `item` once per element of a list, then continue from `done`.

Wire the end of the per-item branch back into the `back` input; `done` outputs the list of
what each item's branch produced. Inside the branch, `loop.item` and `loop.index` are in scope.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType


class Params(NodeParams):
    items: str = Field(
        min_length=1,
        description="Expression giving the list to go through, e.g. `{{ trigger.body.urls }}`.",
        json_schema_extra={"widget": "code", "language": "jinja"},
    )


async def run(params: Params, ctx: NodeContext) -> Any:
    raise NotImplementedError  # TODO(runtime issue): replaced by the real run


NODE = NodeType(
    type="loop",
    version=1,
    title="Loop",
    category="flow",
    description=(__doc__ or "").strip(),
    params=Params,
    inputs=("in", "back"),
    outputs=("item", "done"),
    run=run,
    may_loop=True,
)
