"""Start the workflow by hand: from the Run button, the REST API or `trellis exec`.

The JSON input given when starting becomes `trigger.body` in expressions. Set an input schema
to have inputs that do not match it refused before the run starts.
"""

from __future__ import annotations

from typing import Any

from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for
from pydantic import Field

from runtime.errors import NodeError
from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType


class Params(NodeParams):
    input_schema: dict[str, Any] | None = Field(
        None,
        description="JSON Schema the run input must match; leave empty to accept any JSON input.",
        json_schema_extra={"widget": "code", "language": "json"},
    )


MAX_LISTED_PROBLEMS = 10


async def run(params: Params, ctx: NodeContext) -> Any:
    """The run input (`trigger.body`); a NodeError listing the problems (up to 10) when it breaks `input_schema`."""
    body = ctx.trigger.get("body")
    if params.input_schema is not None:
        problems = input_problems(params.input_schema, body)
        if problems:
            listed = "; ".join(problems[:MAX_LISTED_PROBLEMS])
            more = len(problems) - MAX_LISTED_PROBLEMS
            suffix = f"; and {more} more" if more > 0 else ""
            raise NodeError(f"node {ctx.node_id!r}: the run input does not match its input schema: {listed}{suffix}")
    return body


def input_problems(schema: dict[str, Any], value: Any) -> list[str]:
    """Every way `value` breaks the JSON Schema `schema`, as `at <path>: <problem>`; empty when it matches.

    An invalid schema is reported as one problem, so callers can refuse a run before it starts.
    """
    validator_class = validator_for(schema)
    try:
        validator_class.check_schema(schema)
    except SchemaError as error:
        return [f"the input schema itself is invalid: {error.message}"]
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(value), key=lambda error: list(map(str, error.absolute_path)))
    return [f"at {error.json_path}: {error.message}" for error in errors]


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
