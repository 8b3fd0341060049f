"""Send the input on through the first case whose value equals the switch value, else `default`.

Each case you add becomes an output handle named after it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from runtime.nodes.context import NodeContext
from runtime.nodes.spec import HANDLE_PATTERN, NodeParams, NodeType

DEFAULT_HANDLE = "default"


class Case(NodeParams):
    name: str = Field(
        pattern=HANDLE_PATTERN.pattern,
        description="Name of the case and of its output handle: lowercase letters, digits and underscores.",
    )
    equals: str | int | float | bool | None = Field(description="The case is taken when the switch value equals this.")


class Params(NodeParams):
    value: str = Field(
        min_length=1,
        description="Expression giving the value to compare, e.g. `{{ trigger.body.kind }}`.",
        json_schema_extra={"widget": "code", "language": "jinja"},
    )
    cases: list[Case] = Field(default_factory=list, description="Cases, tried in order.")

    @field_validator("cases")
    @classmethod
    def _names_are_distinct_handles(cls, cases: list[Case]) -> list[Case]:
        seen: set[str] = set()
        for case in cases:
            if case.name == DEFAULT_HANDLE:
                raise ValueError(f"a case cannot be named {DEFAULT_HANDLE!r}; that handle always exists")
            if case.name in seen:
                raise ValueError(f"two cases are named {case.name!r}; case names must be unique")
            seen.add(case.name)
        return cases


def output_handles(params: Params) -> tuple[str, ...]:
    """The case names in order, then `default`."""
    return (*(case.name for case in params.cases), DEFAULT_HANDLE)


async def run(params: Params, ctx: NodeContext) -> Any:
    raise NotImplementedError  # TODO(runtime issue): replaced by the real run


NODE = NodeType(
    type="switch",
    version=1,
    title="Switch",
    category="flow",
    description=(__doc__ or "").strip(),
    params=Params,
    inputs=("in",),
    outputs=(DEFAULT_HANDLE,),
    run=run,
    dynamic_outputs=output_handles,
)
