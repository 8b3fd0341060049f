"""Finding the hook a request addresses, by the SHA-256 of its URL token, with its settings and secrets."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, select

from runtime.nodes.webhook_trigger import Params
from runtime.secrets import decrypt_fields
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
def _credential_fields(ciphertext: str) -> dict[str, Any]:
    # Keyed by ciphertext: a changed credential has a new one, so a stale entry is never used.
    return decrypt_fields(ciphertext)


def find_hook(engine: sa.Engine, token: str) -> Hook:
    """The enabled hook whose token is `token`; the same 404 for an unknown, malformed or disabled one."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        raise hook_not_found()
    credential_matches = sa.and_(
        Credential.id == Webhook.credential_id, Credential.workspace_id == Webhook.workspace_id
    )
    query = (
        select(Webhook, Credential.ciphertext)
        .outerjoin(Credential, credential_matches)
        .where(Webhook.token_hash == token_hash(token), Webhook.enabled == sa.true())
    )
    with Session(engine) as session:
        row = session.exec(query).first()
    if row is None:
        raise hook_not_found()
    webhook, ciphertext = row
    try:
        params = Params.model_validate(webhook.settings)
    except ValidationError as error:
        message = f"The settings of webhook node {webhook.node_id!r} are invalid: {error.errors()[0]['msg']}"
        raise HookError(500, "hook_invalid", message) from None
    credential = _credential_fields(ciphertext) if ciphertext else None
    return Hook(webhook.id, webhook.workspace_id, webhook.workflow_id, webhook.node_id, params, credential)
