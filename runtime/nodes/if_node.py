"""Send the input on through `true` or `false`, depending on a condition."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType, Routed


class Params(NodeParams):
    condition: str = Field(
        min_length=1,
        description="Expression that is true or false, e.g. `{{ trigger.body.amount > 100 }}`.",
        json_schema_extra={"widget": "code", "language": "jinja"},
    )


FALSE_TEXTS = frozenset({"false", "0", "", "no", "none"})
"""Texts that count as false (compared lowercased and stripped), e.g. a rendered `False`."""


async def run(params: Params, ctx: NodeContext) -> Routed:
    """The input, unchanged, routed to `true` or `false` by the condition's truthiness."""
    value = ctx.evaluate_param("condition", params.condition)
    return Routed(output=ctx.input, handles=("true",) if is_true(value) else ("false",))


def is_true(value: Any) -> bool:
    """Python truthiness, except that texts such as "false", "0", "no" and "none" are false."""
    if isinstance(value, str):
        return value.strip().lower() not in FALSE_TEXTS
    return bool(value)


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
