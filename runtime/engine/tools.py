"""Agent tools: the nodes wired into an agent's `tools` input, offered to its model as `Tool`s."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from pydantic import ValidationError

from runtime.engine.node import NodeFailed, NodeRuntime, ToolSpec, execute
from runtime.engine.state import Frame
from runtime.errors import NodeError
from runtime.nodes.context import Tool
from runtime.nodes.spec import Routed


def tool_spec(node: NodeRuntime) -> ToolSpec:
    """How `node` is described to a model: its id, title and type help, and its Params schema.

    Params the node already sets are optional for the model: its arguments only override them.
    """
    schema = node.node_type.params.model_json_schema()
    required = [name for name in schema.get("required", ()) if name not in node.spec.params]
    schema.pop("required", None)
    if required:
        schema["required"] = required
    title, about = node.spec.title.strip(), node.node_type.description
    description = f"{title}: {about}" if title else about
    return ToolSpec(node.spec.id, description, schema, node)


def bind_tools(
    specs: tuple[ToolSpec, ...], frame: Frame, inputs: Mapping[str, Any], outputs: Mapping[str, Any]
) -> tuple[Tool, ...]:
    """One `Tool` per spec whose `call` runs its node in `frame`, seeing the agent's inputs and outputs."""
    return tuple(
        Tool(spec.name, spec.description, spec.parameters, partial(_call, spec.node, frame, inputs, outputs))
        for spec in specs
    )


async def _call(
    node: NodeRuntime,
    frame: Frame,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Any],
    args: dict[str, Any],
    call_key: str | None = None,
) -> Any:
    tool_id = node.spec.id
    if not isinstance(args, dict):
        raise NodeError(f"Tool {tool_id!r} takes an object of arguments, not {type(args).__name__}.")
    try:
        params = node.node_type.params.model_validate({**node.spec.params, **args})
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, details['loc'])) or 'arguments'}: {details['msg']}" for details in error.errors()
        )
        raise NodeError(f"Tool {tool_id!r} got invalid arguments: {problems}.") from None
    tools = bind_tools(node.tools, frame, inputs, outputs)
    try:
        output = await execute(node, frame, inputs, outputs, params=params, tools=tools, call_key=call_key)
    except NodeFailed as failure:
        raise NodeError(f"Tool {tool_id!r} failed: {failure.message}") from None
    return output.output if isinstance(output, Routed) else output
