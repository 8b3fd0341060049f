"""Pause the run until a person approves or rejects, in the editor, through the API or a signed link.

When the run reaches this node it fires `request` with `{message, approve_url, reject_url}` (wire a
node there to send the links on, e.g. to chat); once those nodes are done the run waits, holding no
process. The decision continues it through `approved` or `rejected`, or through `timed_out` when a
timeout is set and nobody decided in time. The output is `{decision, comment, decided_by, decided_at}`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.errors import NodeError
from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType

REQUEST_HANDLE = "request"
TIMED_OUT_HANDLE = "timed_out"
DECISION_HANDLES = ("approved", "rejected", TIMED_OUT_HANDLE)
MAX_TIMEOUT_S = 365 * 24 * 3600


class Params(NodeParams):
    message: str = Field(
        min_length=1,
        description="What the approver is asked, e.g. `Refund {{ trigger.body.amount }} EUR?`.",
        json_schema_extra={"widget": "code", "language": "jinja"},
    )
    timeout_s: float | None = Field(
        None, gt=0, le=MAX_TIMEOUT_S, description="Continue through `timed_out` after this many seconds undecided."
    )


async def run(params: Params, ctx: NodeContext) -> dict[str, Any]:
    """Open the approval request: `{message, approve_url, reject_url, expires_at}` (the same on a re-run)."""
    message = ctx.render_param("message", params.message)
    if ctx.services.approvals is None:
        raise NodeError(f"Node {ctx.node_id!r} waits for a person, which only a stored run can do; run it saved.")
    return await ctx.services.approvals.request(ctx.node_id, message, params.timeout_s)


def output_handles(params: Params) -> tuple[str, ...]:
    """`request`, `approved`, `rejected`, and `timed_out` only when a timeout is set."""
    decisions = DECISION_HANDLES if params.timeout_s else DECISION_HANDLES[:-1]
    return (REQUEST_HANDLE, *decisions)


NODE = NodeType(
    type="approval",
    version=1,
    title="Approval",
    category="flow",
    description=(__doc__ or "").strip(),
    params=Params,
    inputs=("in",),
    outputs=(REQUEST_HANDLE, "approved", "rejected"),
    run=run,
    dynamic_outputs=output_handles,
)
