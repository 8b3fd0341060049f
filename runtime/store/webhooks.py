"""Webhooks: one row per `webhook_trigger` node, kept in step with the workflow's latest version,
and the deliveries that carried an idempotency key.

The URL token is never stored in clear: `token_hash` (SHA-256, what a request is looked up by) and
`token_ciphertext` (Fernet, so the editor can show the URL again).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from runtime.secrets import encrypt_fields
from runtime.store.columns import JSONType, id_field, ref_field, utcnow

WEBHOOK_NODE_TYPE = "webhook_trigger"
WEBHOOK_CREDENTIAL_SLOT = "webhook"
"""The key under a node's `credentials` naming the credential that holds the hook's token or secrets."""
KEY_MAX_LENGTH = 255


def new_token() -> str:
    """An unguessable URL token: 192 random bits, URL-safe (32 characters)."""
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    """The SHA-256 hex digest a token is stored and looked up as."""
    return hashlib.sha256(token.encode()).hexdigest()


# The public entry point of a webhook trigger node; one per (workflow, node).
class Webhook(SQLModel, table=True):
    __tablename__ = "webhook"
    __table_args__ = (sa.UniqueConstraint("workflow_id", "node_id"),)

    id: str = id_field("hook")
    workspace_id: str = ref_field("workspace.id")
    workflow_id: str = ref_field("workflow.id")
    node_id: str = Field(max_length=200)
    token_hash: str = Field(max_length=64, unique=True)
    token_ciphertext: str = Field(sa_type=sa.Text)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    """The node's `params` as saved in the latest version (defaults are applied when read)."""
    credential_id: str | None = Field(default=None, max_length=64)
    """The node's `credentials.webhook`; not a foreign key, so saving a document naming a missing one works."""
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow)


# A delivery that carried an `Idempotency-Key` / `webhook-id`: its run answers every retry.
class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (sa.UniqueConstraint("webhook_id", "key"),)

    id: str = id_field("dlv")
    webhook_id: str = ref_field("webhook.id")
    key: str = Field(max_length=KEY_MAX_LENGTH)
    body_hash: str = Field(max_length=64)
    run_id: str | None = ref_field("run.id", ondelete="SET NULL")
    """None while the first delivery is still storing its run."""
    created_at: datetime = Field(default_factory=utcnow, index=True)


def sync_webhooks(session: Session, workspace_id: str, workflow_id: str, document: dict[str, Any]) -> list[Webhook]:
    """Give every `webhook_trigger` node of `document` an enabled hook with its current params and
    disable the hooks of nodes no longer in it; returns the workflow's hooks."""
    nodes = {node["id"]: node for node in document.get("nodes", []) if node.get("type") == WEBHOOK_NODE_TYPE}
    hooks = list(session.exec(select(Webhook).where(Webhook.workflow_id == workflow_id)).all())
    existing = {hook.node_id for hook in hooks}
    for node_id in nodes.keys() - existing:
        token = new_token()
        hook = Webhook(
            workspace_id=workspace_id, workflow_id=workflow_id, node_id=node_id, token_hash=token_hash(token),
            token_ciphertext=encrypt_fields({"token": token}),
        )  # fmt: skip
        hooks.append(hook)
    for hook in hooks:
        node = nodes.get(hook.node_id)
        hook.enabled = node is not None
        if node is not None:
            hook.settings = dict(node.get("params") or {})
            hook.credential_id = (node.get("credentials") or {}).get(WEBHOOK_CREDENTIAL_SLOT)
        session.add(hook)
    session.flush()
    return hooks


def get_webhook_for_node(session: Session, workspace_id: str, workflow_id: str, node_id: str) -> Webhook | None:
    """The hook of this workflow node in this workspace, enabled or not; None if it never had one."""
    query = select(Webhook).where(
        Webhook.workspace_id == workspace_id, Webhook.workflow_id == workflow_id, Webhook.node_id == node_id
    )
    return session.exec(query).first()
