"""The address of a workflow node's webhook, as the editor shows it."""

from __future__ import annotations

from sqlmodel import Session

from runtime.config import Settings
from runtime.secrets import decrypt_fields, key_ring
from runtime.store.webhooks import get_webhook_for_node

HOOKS_PATH = "/api/hooks/"


def hook_url(settings: Settings, token: str) -> str:
    """`{public_url}/api/hooks/{token}`."""
    return f"{settings.resolved_public_url}{HOOKS_PATH}{token}"


def hook_url_for_node(
    session: Session, settings: Settings, workspace_id: str, workflow_id: str, node_id: str
) -> str | None:
    """The URL that starts this workflow from its `webhook_trigger` node `node_id`; None when the node
    has no enabled hook (not saved yet, removed, or not a webhook trigger)."""
    webhook = get_webhook_for_node(session, workspace_id, workflow_id, node_id)
    if webhook is None or not webhook.enabled:
        return None
    return hook_url(settings, decrypt_fields(webhook.token_ciphertext, key_ring(settings))["token"])
