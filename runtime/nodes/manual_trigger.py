"""Start the workflow by hand: from the Run button, the REST API or `trellis exec`.

The JSON input given when starting becomes `trigger.body` in expressions. Set an input schema
to have inputs that do not match it refused before the run starts.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType


class Params(NodeParams):
    input_schema: dict[str, Any] | None = Field(
        None,
        description="JSON Schema the run input must match; leave empty to accept any JSON input.",
        json_schema_extra={"widget": "code", "language": "json"},
    )


async def run(params: Params, ctx: NodeContext) -> Any:
    raise NotImplementedError  # TODO(runtime issue): replaced by the real run


NODE = NodeType(
    type="manual_trigger",
    version=1,
    title="Manual trigger",
    category="trigger",
    description=(__doc__ or "").strip(),
    params=Params,
    inputs=(),
    outputs=("out",),
    run=run,
    is_trigger=True,
)
