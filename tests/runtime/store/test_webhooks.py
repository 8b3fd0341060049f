"""Webhook rows follow the saved versions: one per `webhook_trigger` node, tokens kept only hashed
and encrypted, disabled when the node goes, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from runtime.config import Settings, get_settings
from runtime.secrets import decrypt_fields
from runtime.store import Webhook, Workspace, create_workflow, duplicate_workflow, save_version
from runtime.store.webhooks import token_hash
from runtime.webhooks import hook_url_for_node
from tests.runtime.store.conftest import make_document


def hook_node(node_id: str = "hook", **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "webhook_trigger", "type_version": 1, "params": params,
            "credentials": {"webhook": "cred_hmac"}}  # fmt: skip


@pytest.fixture
def settings() -> Settings:
    """The process settings (their key ring encrypted the tokens) with a public URL."""
    return get_settings().model_copy(update={"public_url": "https://trellis.example"})


def hooks_of(session: Session, workflow_id: str) -> dict[str, Webhook]:
    return {hook.node_id: hook for hook in session.exec(select(Webhook).where(Webhook.workflow_id == workflow_id))}


def test_each_webhook_node_gets_one_hook_with_an_unguessable_token_kept_hashed_and_encrypted(
    session: Session, workspace: Workspace
) -> None:
    workflow = create_workflow(session, workspace.id, make_document(nodes=[hook_node("a"), hook_node("b")]))
    session.commit()

    hooks = hooks_of(session, workflow.id)
    assert set(hooks) == {"a", "b"}
    tokens = [decrypt_fields(hook.token_ciphertext)["token"] for hook in hooks.values()]
    assert len(set(tokens)) == 2 and all(len(token) == 32 for token in tokens)  # 24 random bytes = 192 bits
    for hook, token in zip(hooks.values(), tokens, strict=True):
        assert hook.token_hash == token_hash(token) and token not in hook.token_ciphertext
        assert hook.enabled and hook.credential_id == "cred_hmac"


def test_saving_updates_settings_keeps_the_url_and_disables_removed_nodes(
    session: Session, workspace: Workspace, settings: Settings
) -> None:
    workflow = create_workflow(session, workspace.id, make_document(nodes=[hook_node(respond="immediately")]))
    url = hook_url_for_node(session, settings, workspace.id, workflow.id, "hook")
    assert url is not None and url.startswith("https://trellis.example/api/hooks/")

    save_version(session, workspace.id, workflow.id, make_document(nodes=[hook_node(respond="stream")]))
    assert hooks_of(session, workflow.id)["hook"].settings == {"respond": "stream"}
    assert hook_url_for_node(session, settings, workspace.id, workflow.id, "hook") == url

    save_version(session, workspace.id, workflow.id, make_document())  # the webhook node is gone
    assert not hooks_of(session, workflow.id)["hook"].enabled
    assert hook_url_for_node(session, settings, workspace.id, workflow.id, "hook") is None

    save_version(session, workspace.id, workflow.id, make_document(nodes=[hook_node()]))  # and back
    assert hook_url_for_node(session, settings, workspace.id, workflow.id, "hook") == url


def test_a_copy_gets_its_own_url_and_other_workspaces_see_none(
    session: Session, workspace: Workspace, other_workspace: Workspace, settings: Settings
) -> None:
    workflow = create_workflow(session, workspace.id, make_document(nodes=[hook_node()]))
    copy = duplicate_workflow(session, workspace.id, workflow.id)

    original_url = hook_url_for_node(session, settings, workspace.id, workflow.id, "hook")
    copy_url = hook_url_for_node(session, settings, workspace.id, copy.id, "hook")
    assert original_url and copy_url and original_url != copy_url
    assert hook_url_for_node(session, settings, other_workspace.id, workflow.id, "hook") is None
    assert hook_url_for_node(session, settings, workspace.id, workflow.id, "no-such-node") is None
