"""Start the workflow when an HTTP POST arrives at `/api/hooks/{hook_id}`.

The request body, headers and query string become `trigger.body`, `trigger.headers` and
`trigger.query`. Choose whether the caller gets an immediate 202 with the run id, waits for the
workflow's output, or receives the run's events as a stream.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType

MIB = 1024 * 1024


class Params(NodeParams):
    respond: Literal["immediately", "when_finished", "stream"] = Field(
        "immediately",
        description=(
            "`immediately`: answer 202 with the run id. `when_finished`: answer with the output node's "
            "value. `stream`: answer with the run's events as server-sent events."
        ),
    )
    auth: Literal["none", "header_token", "hmac"] = Field(
        "none",
        description=(
            "`header_token`: require the `token` of the `webhook` credential in its `header` "
            "(default X-Webhook-Token). `hmac`: require a Standard Webhooks signature made with one of "
            "the credential's `secrets` (whsec_...)."
        ),
    )
    max_body_bytes: int = Field(
        MIB, gt=0, le=16 * MIB, description="Refuse request bodies larger than this many bytes (at most 16 MiB)."
    )
    wait_s: float = Field(
        30.0,
        gt=0,
        le=300,
        description="With `when_finished`, how long to wait for the output before answering 202 instead.",
    )
    rate_limit_per_minute: int = Field(
        60, ge=1, le=100_000, description="Refuse calls beyond this many per minute with 429."
    )
    rate_limit_burst: int = Field(
        20, ge=1, le=100_000, description="How many calls may arrive at once before the per-minute rate applies."
    )


async def run(params: Params, ctx: NodeContext) -> Any:
    """`{"body", "headers", "query"}` of the request that started the run."""
    return {
        "body": ctx.trigger.get("body"),
        "headers": ctx.trigger.get("headers", {}),
        "query": ctx.trigger.get("query", {}),
    }


NODE = NodeType(
    type="webhook_trigger",
    version=1,
    title="Webhook",
    category="trigger",
    description=(__doc__ or "").strip(),
    params=Params,
    inputs=(),
    outputs=("out",),
    run=run,
    is_trigger=True,
    single_per_workflow=True,
    credentials=("webhook",),
)
