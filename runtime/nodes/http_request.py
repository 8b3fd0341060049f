"""Call an HTTP endpoint and pass the response (status, headers, body) on.

Requests go through the egress guard: private and local addresses are refused unless an
administrator allows them. URL, headers, query values and body may contain expressions.
An optional `auth` credential adds a header token (`http_header`) or basic auth (`basic_auth`);
recorded response headers never show Authorization, Cookie, X-Api-Key or the credential's header.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any, Literal

import httpx
from pydantic import Field

from runtime.egress import TOTAL_TIMEOUT, EgressBlocked, display_url, read_limited
from runtime.errors import NodeError
from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType
from runtime.redaction import mask_headers

EXCERPT_CHARS = 200
AUTH_SLOT = "auth"


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


async def run(params: Params, ctx: NodeContext) -> dict[str, Any]:
    """Send the request; returns `{"status", "headers", "body"}`, the body parsed when it is JSON.

    Raises `NodeError`: retryable for 5xx, 429, timeouts and connection failures; not retryable
    for other 4xx answers, refused destinations and bad expressions.
    """
    parts = _rendered_parts(params, ctx)
    auth_headers = await _credential_headers(ctx)
    parts["headers"].update(auth_headers)
    where = f"Node {ctx.node_id!r}: {params.method} {_shown(parts['url'])}"
    try:
        async with asyncio.timeout(params.timeout_s):
            response, content = await _exchange(params, ctx, parts)
    except EgressBlocked as exc:
        raise NodeError(f"Node {ctx.node_id!r}: {exc}") from exc
    except (TimeoutError, httpx.TimeoutException):
        raise NodeError(f"{where} got no complete answer within {params.timeout_s:g} s.", retryable=True) from None
    except httpx.TransportError as exc:
        raise NodeError(f"{where} failed: {_reason(exc)}.", retryable=True) from exc
    except httpx.RequestError as exc:
        raise NodeError(f"{where} failed: {_reason(exc)}.") from exc
    text = content.decode(response.encoding or "utf-8", errors="replace")
    status = response.status_code
    if status >= 400:
        excerpt = ctx.scrub(" ".join(text.split()))[:EXCERPT_CHARS] or "(empty body)"
        raise NodeError(f"{where} answered {status}: {excerpt}", retryable=status >= 500 or status == 429)
    headers = mask_headers(dict(response.headers.items()), also=auth_headers)
    return {"status": status, "headers": headers, "body": _parsed(response, text)}


async def _credential_headers(ctx: NodeContext) -> dict[str, str]:
    """The header the node's `auth` credential adds (none without one); its value is concealed."""
    if AUTH_SLOT not in ctx.credential_ids:
        return {}
    fields = await ctx.credential(AUTH_SLOT)
    if fields.get("password") is not None and fields.get("username") is not None:
        pair = f"{fields['username']}:{fields['password']}".encode()
        header, value = "Authorization", f"Basic {base64.b64encode(pair).decode()}"
    elif fields.get("header") and fields.get("token"):
        header, value = str(fields["header"]), str(fields["token"])
    else:
        raise NodeError(f"Node {ctx.node_id!r}: its {AUTH_SLOT!r} credential is neither a header token nor basic auth.")
    ctx.conceal(value)
    return {header: value}


async def _exchange(params: Params, ctx: NodeContext, parts: dict[str, Any]) -> tuple[httpx.Response, bytes]:
    """The closed response and its body, read within the size limit."""
    settings = ctx.services.settings
    client = ctx.services.http
    request = client.build_request(
        params.method,
        parts["url"],
        headers=parts["headers"],
        params=parts["query"],
        timeout=httpx.Timeout(params.timeout_s, connect=min(settings.egress_connect_timeout_s, params.timeout_s)),
        extensions={TOTAL_TIMEOUT: params.timeout_s},
        **_body_argument(parts["body"]),
    )
    response = await client.send(request, stream=True)
    try:
        content = await read_limited(response, settings.egress_max_body_bytes)
    finally:
        await response.aclose()
    return response, content


def _rendered_parts(params: Params, ctx: NodeContext) -> dict[str, Any]:
    """URL, headers, query and body with their expressions rendered; the idempotency key added."""
    headers = {name: ctx.render_param(f"headers.{name}", value) for name, value in params.headers.items()}
    if not any(name.lower() == "idempotency-key" for name in headers):
        headers["Idempotency-Key"] = ctx.idempotency_key
    return {
        "url": ctx.render_param("url", params.url).strip(),
        "headers": headers,
        "query": {name: ctx.render_param(f"query.{name}", value) for name, value in params.query.items()},
        "body": _render_body(ctx, "body", params.body),
    }


def _render_body(ctx: NodeContext, field: str, value: Any) -> Any:
    """`value` with every string evaluated, so `{{ input }}` sends the input itself as JSON."""
    if isinstance(value, str):
        return ctx.evaluate_param(field, value)
    if isinstance(value, dict):
        return {key: _render_body(ctx, f"{field}.{key}", item) for key, item in value.items()}
    if isinstance(value, list):
        return [_render_body(ctx, f"{field}[{index}]", item) for index, item in enumerate(value)]
    return value


def _body_argument(body: Any) -> dict[str, Any]:
    if body is None or body == "":
        return {}
    if isinstance(body, str):
        return {"content": body.encode()}
    return {"json": body}


def _parsed(response: httpx.Response, text: str) -> Any:
    """JSON when the response says so and parses; otherwise the text."""
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            return text
    return text


def _shown(url: str) -> str:
    try:
        return display_url(httpx.URL(url))
    except httpx.InvalidURL:
        return repr(url)


def _reason(exc: httpx.RequestError) -> str:
    return str(exc) or type(exc).__name__


NODE = NodeType(
    type="http_request",
    version=1,
    title="HTTP request",
    category="network",
    description=(__doc__ or "").strip(),
    params=Params,
    inputs=("in",),
    outputs=("out",),
    credentials=(AUTH_SLOT,),
    run=run,
)
