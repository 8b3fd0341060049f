"""Send the input on through the first case whose value equals the switch value, else `default`.

Each case you add becomes an output handle named after it.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field, field_validator

from runtime.nodes.context import NodeContext
from runtime.nodes.spec import HANDLE_PATTERN, NodeParams, NodeType, Routed

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


async def run(params: Params, ctx: NodeContext) -> Routed:
    """The input, unchanged, routed to the first case whose `equals` matches the value, else `default`."""
    value = ctx.evaluate_param("value", params.value)
    for case in params.cases:
        if matches(value, case.equals):
            return Routed(output=ctx.input, handles=(case.name,))
    return Routed(output=ctx.input, handles=(DEFAULT_HANDLE,))


def matches(value: Any, expected: Any) -> bool:
    """Equal as values or as texts, so `"1"` matches `1` and `"true"` matches `true`.

    A boolean never equals a number (`true` does not match `1`), unlike in Python.
    """
    if isinstance(value, bool) == isinstance(expected, bool) and value == expected:
        return True
    return _as_text(value) == _as_text(expected)


def _as_text(value: Any) -> str:
    # JSON spelling for true/false/null, so texts rendered from JSON data compare as users expect.
    return json.dumps(value) if value is None or isinstance(value, bool) else str(value)


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
