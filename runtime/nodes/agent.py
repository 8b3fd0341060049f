"""Let a language model work towards a goal by calling tools, for a bounded number of steps.

Wire other nodes (an HTTP request, a sub-workflow, ...) into the `tools` input: each becomes a
tool the model may call. Needs an `openai` credential.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field, ValidationError

from runtime.errors import NodeError
from runtime.llm import DEFAULT_TIMEOUT_S, ChatRequest, Completion, LlmSession, ToolCall, open_session
from runtime.nodes.context import NodeContext, Tool
from runtime.nodes.spec import NodeParams, NodeType


class Params(NodeParams):
    model: str = Field(min_length=1, description="Model name; it must support tool calling.")
    instructions: str = Field(
        "",
        description="How the agent should behave and when to use which tool.",
        json_schema_extra={"widget": "textarea"},
    )
    prompt: str = Field(
        min_length=1,
        description="The task for this run; may contain expressions.",
        json_schema_extra={"widget": "textarea"},
    )
    max_iterations: int = Field(
        5, ge=1, le=50, description="Stop after this many model turns, even if it wants more tools."
    )
    timeout_s: float = Field(
        DEFAULT_TIMEOUT_S, gt=0, le=3600, description="Give up when the model server sends nothing for this long."
    )


async def run(params: Params, ctx: NodeContext) -> dict[str, Any]:
    """Let the model call the wired tools until it answers, emitting `tool_call`/`tool_result` events.

    Output: `{"text": final answer, "steps": [{"tool", "arguments", "result" or "error"}, ...],
    "usage": {"prompt_tokens", "completion_tokens"} summed over every turn}`.
    """
    session = await open_session(ctx, timeout_s=params.timeout_s)
    tools = {tool.name: tool for tool in ctx.tools}
    offered = [
        {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
        for t in ctx.tools
    ]
    messages = _first_messages(params, ctx)
    steps: list[dict[str, Any]] = []
    usage = {"prompt_tokens": 0, "completion_tokens": 0}
    for turn in range(1, params.max_iterations + 1):
        request = ChatRequest(model=params.model, messages=list(messages), tools=offered or None)
        answer = await _turn(session, request, ctx, turn)
        usage = {name: usage[name] + answer.usage[name] for name in usage}
        if not answer.tool_calls:
            return {"text": answer.text, "steps": steps, "usage": usage}
        if turn == params.max_iterations:
            break
        messages.append(answer.assistant_message())
        for call in answer.tool_calls:
            step = await _use_tool(call, tools, ctx, f"{ctx.node_id}.call{len(steps) + 1}")
            steps.append(step)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": _for_model(step)})
    raise NodeError(
        f"Node {ctx.node_id!r}: the agent did not finish in {params.max_iterations} steps (max_iterations); "
        "raise max_iterations or make the task or instructions more specific.",
    )


def _first_messages(params: Params, ctx: NodeContext) -> list[dict[str, Any]]:
    instructions = ctx.render_param("instructions", params.instructions)
    prompt = ctx.render_param("prompt", params.prompt)
    messages = [{"role": "system", "content": instructions}] if instructions.strip() else []
    return [*messages, {"role": "user", "content": prompt}]


async def _turn(session: LlmSession, request: ChatRequest, ctx: NodeContext, turn: int) -> Completion:
    """One model turn; its text streams as `node_token` events."""

    async def on_token(text: str) -> None:
        await ctx.emit("node_token", {"text": text})

    # Each turn is a different request, so each gets its own key (stable across attempts).
    return await session.complete(request, on_token, idempotency_key=f"{ctx.idempotency_key}:turn{turn}")


async def _use_tool(call: ToolCall, tools: dict[str, Tool], ctx: NodeContext, call_key: str) -> dict[str, Any]:
    """Run one tool call; a bad name, bad arguments or a failing tool become an `error` for the model.

    `call_key` (this agent's id and the call's number in its run) ends the tool's idempotency key, so
    two calls of one tool differ and a re-run of the agent repeats the same keys."""
    arguments = _arguments(call.arguments)
    await ctx.emit("tool_call", {"tool": call.name, "arguments": arguments})
    step: dict[str, Any] = {"tool": call.name, "arguments": arguments}
    tool = tools.get(call.name)
    if tool is None:
        known = ", ".join(sorted(tools)) or "none"
        step["error"] = f"there is no tool named {call.name!r}; the tools are: {known}"
    elif not isinstance(arguments, dict):
        step["error"] = f"the arguments must be a JSON object, got {call.arguments!r}"
    else:
        try:
            step["result"] = await tool.call(arguments, call_key)
        except (NodeError, ValidationError) as error:
            step["error"] = str(error)
    outcome = {"result": step["result"]} if "result" in step else {"error": step["error"]}
    await ctx.emit("tool_result", {"tool": call.name, **outcome})
    return step


def _arguments(text: str) -> Any:
    """The model's arguments parsed from JSON, or the raw text when it is not JSON."""
    try:
        return json.loads(text or "{}")
    except json.JSONDecodeError:
        return text


def _for_model(step: dict[str, Any]) -> str:
    if "error" in step:
        return f"Error: {step['error']}"
    return json.dumps(step["result"], ensure_ascii=False, default=str)


NODE = NodeType(
    type="agent",
    version=1,
    title="Agent",
    category="ai",
    description=(__doc__ or "").strip(),
    params=Params,
    inputs=("in", "tools"),
    outputs=("out",),
    run=run,
    credentials=("openai",),
)
