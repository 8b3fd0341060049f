"""Run the branch wired to `item` once per element of a list, then continue from `done`.

Wire the end of the per-item branch back into the `back` input; `done` outputs the list of
what each item's branch produced (an item whose branch does not reach `back` adds nothing).
Inside the branch, `loop.item` and `loop.index` are in scope.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.errors import NodeError
from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType


class Params(NodeParams):
    items: str = Field(
        min_length=1,
        description="Expression giving the list to go through, e.g. `{{ trigger.body.urls }}`.",
        json_schema_extra={"widget": "code", "language": "jinja"},
    )


async def run(params: Params, ctx: NodeContext) -> list[Any]:
    """The items to go through; the engine then runs the branch wired to `item` once per item, in
    order, and the node's output is what `back` got for each of them."""
    items = ctx.evaluate_param("items", params.items)
    if isinstance(items, tuple):
        items = list(items)
    if not isinstance(items, list):
        raise NodeError(
            f"Loop {ctx.node_id!r}: items must give a list, but {params.items!r} gave {_kind(items)}"
            f" ({_preview(items)})."
        )
    return items


def _kind(value: Any) -> str:
    names = {dict: "an object", str: "a text", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), f"a {type(value).__name__}")


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


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
