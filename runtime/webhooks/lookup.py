"""Finding the hook a request addresses, by the SHA-256 of its URL token, with its settings and secrets."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from runtime.credentials import open_credential
from runtime.nodes.webhook_trigger import Params
from runtime.store.credentials import Credential
from runtime.store.webhooks import Webhook, token_hash
from runtime.webhooks.errors import HookError, hook_not_found

TOKEN_MAX_LENGTH = 64


@dataclass(frozen=True)
class Hook:
    """An enabled hook: the workflow it starts, its node's params and its `webhook` credential's fields."""

    id: str
    workspace_id: str
    workflow_id: str
    node_id: str
    params: Params
    credential: dict[str, Any] | None


@lru_cache(maxsize=512)
def _credential_secrets(ciphertext: str) -> dict[str, Any]:
    # Keyed by ciphertext: a changed secret has a new one, so a stale entry is never used.
    return open_credential(None, ciphertext)


def _hook_query() -> sa.Select[Any]:
    """The one statement a call costs: the hook's columns and its credential's ciphertext, by token hash.

    Core, built once: the ORM's per-call query building and entity loading cost more CPU than the query.
    """
    webhook, credential = Webhook.__table__, Credential.__table__  # type: ignore[attr-defined]
    credential_matches = sa.and_(
        credential.c.id == webhook.c.credential_id, credential.c.workspace_id == webhook.c.workspace_id
    )
    columns = [webhook.c[name] for name in ("id", "workspace_id", "workflow_id", "node_id", "settings")]
    return (
        sa.select(*columns, credential.c.ciphertext, credential.c.plain_fields)
        .select_from(webhook.outerjoin(credential, credential_matches))
        .where(webhook.c.token_hash == sa.bindparam("token_hash"), webhook.c.enabled == sa.true())
    )


_HOOK_QUERY = _hook_query()


def find_hook(engine: sa.Engine, token: str) -> Hook:
    """The enabled hook whose token is `token`; the same 404 for an unknown, malformed or disabled one."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        raise hook_not_found()
    with engine.connect() as connection:
        row = connection.execute(_HOOK_QUERY, {"token_hash": token_hash(token)}).first()
    if row is None:
        raise hook_not_found()
    try:
        params = Params.model_validate(row.settings)
    except ValidationError as error:
        message = f"The settings of webhook node {row.node_id!r} are invalid: {error.errors()[0]['msg']}"
        raise HookError(500, "hook_invalid", message) from None
    credential = {**_credential_secrets(row.ciphertext), **(row.plain_fields or {})} if row.ciphertext else None
    return Hook(row.id, row.workspace_id, row.workflow_id, row.node_id, params, credential)
