"""The workspace switcher: a user in several workspaces moves their login session between them."""

from __future__ import annotations

import sqlalchemy as sa

from builder.state.workflows import WorkflowListState
from runtime.store import Role, member_for_token, session_scope
from tests.accounts import signed_in_member
from tests.builder.conftest import browser_of


def test_switching_moves_the_session_to_another_of_the_users_workspaces(app_engine: sa.Engine) -> None:
    here = signed_in_member(app_engine, "both@example.com", Role.VIEWER)
    there = signed_in_member(app_engine, "owner@there.example", Role.OWNER)
    signed_in_member(app_engine, "both@example.com", Role.EDITOR, there.member.workspace_id)
    stranger = signed_in_member(app_engine, "stranger@example.com", Role.OWNER)

    state = browser_of(WorkflowListState, here)
    state.load()
    assert sorted(w["id"] for w in state.workspaces) == sorted([here.member.workspace_id, there.member.workspace_id])
    assert state.workspace_id == here.member.workspace_id and not state.can_write

    assert "reload" in str(state.switch_workspace(there.member.workspace_id))
    with session_scope(app_engine) as session:
        now = member_for_token(session, here.token)
    assert now is not None and (now.workspace_id, now.role) == (there.member.workspace_id, Role.EDITOR)

    refused = state.switch_workspace(stranger.member.workspace_id)
    assert "not found among yours" in str(refused)
    with session_scope(app_engine) as session:
        assert member_for_token(session, here.token).workspace_id == there.member.workspace_id  # type: ignore[union-attr]
