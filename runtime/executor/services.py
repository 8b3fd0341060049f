"""The clients one run's nodes share, created inside the job that runs it and closed after."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as redis_async

from runtime.approvals.desk import StoredApprovals
from runtime.config import Settings
from runtime.credentials import open_credential
from runtime.egress import egress_client
from runtime.engine import compile_workflow, run_compiled
from runtime.errors import NodeError, NotFound, WorkflowInvalid
from runtime.graph.schema import WorkflowDocument
from runtime.nodes.context import Services
from runtime.secrets import SecretsError
from runtime.store import get_credential, get_engine, latest_version, session_scope

SUB_WORKFLOW_MAX_DEPTH = 5


def credential_resolver(workspace_id: str) -> Callable[[str], Awaitable[dict[str, Any]]]:
    """Credential id -> decrypted fields, looked up in the run's workspace only."""

    async def resolve(credential_id: str) -> dict[str, Any]:
        try:
            with session_scope(get_engine()) as session:
                row = get_credential(session, workspace_id, credential_id)
                stored = (row.plain_fields, row.ciphertext)
            return open_credential(*stored)
        except NotFound:
            raise NodeError(f"Credential {credential_id!r} does not exist in this workspace.") from None
        except SecretsError as error:
            raise NodeError(f"Credential {credential_id!r}: {error}") from None

    return resolve


def load_document(workspace_id: str, workflow_id: str) -> WorkflowDocument:
    """The latest saved document of a workflow in the workspace, for `sub_workflow`."""
    try:
        with session_scope(get_engine()) as session:
            document = latest_version(session, workspace_id, workflow_id).document
    except NotFound:
        raise NodeError(f"Sub-workflow {workflow_id!r} does not exist in this workspace.") from None
    return WorkflowDocument.model_validate(document)


@asynccontextmanager
async def run_services(
    settings: Settings,
    workspace_id: str,
    run_id: str,
    depth: int = 0,
    *,
    redis: redis_async.Redis | None = None,
    stored: bool = True,
) -> AsyncIterator[Services]:
    """Services for one run: guarded HTTP, credentials, Redis (queue mode) and sub-workflows.

    `redis` is a client shared by the runs of one executor (left open); without it, one is made
    for this run when `TRELLIS_REDIS_URL` is set, and closed after. Approvals are offered only to a
    `stored` run (`trellis exec` stores none), never to its sub-workflows.
    """
    owns_redis = redis is None and bool(settings.redis_url)
    redis_client = redis_async.Redis.from_url(settings.redis_url) if owns_redis else redis  # type: ignore[arg-type]
    async with egress_client(settings) as http:

        async def run_workflow(workflow_id: str, payload: Any) -> Any:
            if depth >= SUB_WORKFLOW_MAX_DEPTH:
                raise NodeError(
                    f"Sub-workflows nest deeper than {SUB_WORKFLOW_MAX_DEPTH} levels; is one calling itself?"
                )
            try:
                compiled = compile_workflow(load_document(workspace_id, workflow_id))
            except WorkflowInvalid as error:
                raise NodeError(f"Sub-workflow {workflow_id!r} is invalid: {error}") from None
            async with run_services(settings, workspace_id, run_id, depth + 1, redis=redis_client) as inner:
                outcome = await run_compiled(
                    compiled, {"body": payload, "headers": {}, "query": {}}, run_id=f"{run_id}.{workflow_id}",
                    services=inner, emit=_silent,
                )  # fmt: skip
            if outcome.status != "succeeded":
                raise NodeError(f"Sub-workflow {workflow_id!r} failed: {(outcome.error or {}).get('message')}")
            return outcome.output

        try:
            approvals = StoredApprovals(settings, workspace_id, run_id) if stored and depth == 0 else None
            yield Services(
                settings=settings, http=http, credentials=credential_resolver(workspace_id),
                run_workflow=run_workflow, redis=redis_client, approvals=approvals,
            )  # fmt: skip
        finally:
            if owns_redis and redis_client is not None:
                await redis_client.aclose()


async def _silent(event_type: str, node_id: str | None, data: dict[str, Any]) -> None:
    """Sub-workflow node events stay out of the parent run's stream; its node reports the result."""
