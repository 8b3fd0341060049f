"""Webhooks: `POST /api/hooks/{token}` logic without the HTTP framework (see `delivery.deliver`),
the hook URLs the editor shows (`urls.hook_url_for_node`), signatures, limits and idempotency."""

from runtime.webhooks.delivery import HookAnswer, HookRequest, deliver
from runtime.webhooks.errors import HookError
from runtime.webhooks.urls import hook_url, hook_url_for_node

__all__ = ["HookAnswer", "HookError", "HookRequest", "deliver", "hook_url", "hook_url_for_node"]
