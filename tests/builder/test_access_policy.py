"""Every event handler of every builder state declares who may call it (T6.6: a handler without a
policy fails CI), and the guard sends signed-out browsers to sign in and refuses weaker roles."""

from __future__ import annotations

import reflex as rx
import sqlalchemy as sa

import builder.builder  # noqa: F401  (imports every page and so every state)
from builder.access import POLICY_ATTRIBUTE, Need
from builder.state.workflows import WorkflowListState
from runtime.store import Role, Workflow, session_scope
from tests.accounts import signed_in_member
from tests.builder.conftest import browser_of

REFLEX_BUILT_INS = {"setvar"}
"""Handlers Reflex puts on every state; they set one public var, which every guarded handler re-checks."""


def builder_states() -> list[type[rx.State]]:
    """Every state class defined in the builder package."""
    found, queue = [], list(rx.State.get_substates())
    while queue:
        cls = queue.pop()
        queue.extend(cls.get_substates())
        if cls.__module__.startswith("builder."):
            found.append(cls)
    return found


def declared_policies() -> dict[str, Need | None]:
    """`State.handler` -> its declared policy (None when it has none), for every builder handler."""
    return {
        f"{cls.__name__}.{name}": getattr(handler.fn, POLICY_ATTRIBUTE, None)
        for cls in builder_states()
        for name, handler in cls.event_handlers.items()
        if name not in REFLEX_BUILT_INS
    }


def test_every_handler_of_every_builder_state_declares_a_policy() -> None:
    policies = declared_policies()
    assert len(builder_states()) >= 2 and len(policies) > 40
    missing = sorted(name for name, need in policies.items() if need is None)
    assert missing == [], f"handlers without @guarded(Need...) or @open_to_all: {missing}"


def test_changing_and_running_handlers_need_write() -> None:
    policies = declared_policies()
    for name in ("EditorState.save", "EditorState.run", "EditorState.cancel", "EditorState.drop_node",
                 "EditorState.set_param", "WorkflowListState.confirm_delete", "WorkflowListState.import_files",
                 "WorkflowListState.rename", "WorkflowListState.create"):  # fmt: skip
        assert policies[name] is Need.WRITE, name


def test_signed_out_browser_is_sent_to_sign_in_and_comes_back(app_engine: sa.Engine) -> None:
    state = browser_of(WorkflowListState, None, "/workflows/wf_x")
    answer = state.load()
    assert "/login?next=/workflows/wf_x" in str(answer)
    assert not state.loaded


def test_viewer_sees_the_list_read_only_and_cannot_create(app_engine: sa.Engine) -> None:
    viewer = signed_in_member(app_engine, "viewer@example.com", Role.VIEWER)
    state = browser_of(WorkflowListState, viewer)
    state.load()
    assert state.loaded and not state.can_write and not state.can_admin
    answer = state.create({"name": "Sneaky"})
    assert "may look but not change" in str(answer)
    with session_scope(app_engine) as session:
        assert session.exec(sa.select(sa.func.count()).select_from(Workflow)).one()[0] == 0
