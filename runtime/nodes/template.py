"""Render a text template (Jinja2 syntax) and output the text."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType


class Params(NodeParams):
    template: str = Field(
        min_length=1,
        description="The text to render; `{{ ... }}` parts are expressions.",
        json_schema_extra={"widget": "code", "language": "jinja"},
    )


async def run(params: Params, ctx: NodeContext) -> Any:
    """The rendered text, always a string."""
    return ctx.render_param("template", params.template)


NODE = NodeType(
    type="template",
    version=1,
    title="Template",
    category="data",
    description=(__doc__ or "").strip(),
    params=Params,
    inputs=("in",),
    outputs=("out",),
    run=run,
)
