"""Call an HTTP endpoint and pass the response (status, headers, body) on.

Requests go through the egress guard: private and local addresses are refused unless an
administrator allows them. URL, headers, query values and body may contain expressions.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType


class Params(NodeParams):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = Field(
        "GET", description="HTTP method."
    )
    url: str = Field(min_length=1, description="Address to call, e.g. `https://example.com/api`.")
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers, name -> value.")
    query: dict[str, str] = Field(default_factory=dict, description="Query string parameters, name -> value.")
    body: Any = Field(
        None,
        description="Request body: a string is sent as is, anything else as JSON. Empty sends no body.",
        json_schema_extra={"widget": "code", "language": "json"},
    )
    timeout_s: float = Field(30.0, gt=0, le=300, description="Give up after this many seconds.")


async def run(params: Params, ctx: NodeContext) -> Any:
    raise NotImplementedError  # TODO(runtime issue): replaced by the real run


NODE = NodeType(
    type="http_request",
    version=1,
    title="HTTP request",
    category="network",
    description=(__doc__ or "").strip(),
    params=Params,
    inputs=("in",),
    outputs=("out",),
    run=run,
)
