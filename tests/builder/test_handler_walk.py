"""Every Reflex event handler, called as the browser calls it, by (a) the owner of another workspace
and (b) a viewer of this one: nothing of this workspace changes in the database, (a) is told "not
found" for this workspace's ids and sees none of its data, (b) is refused every change and run.

The editor states are pre-filled with this workspace's workflow and run (what a forged `setvar`
could put there), so each handler really is aimed at data the caller must not reach.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import reflex as rx
import sqlalchemy as sa
from sqlmodel import Session, select

from builder.access import POLICY_ATTRIBUTE, Need
from builder.state.credentials import CredentialsState
from builder.state.editor import EditorState
from runtime.executor.dispatch import create_run
from runtime.store import (
    ApiKey,
    AuditEvent,
    Membership,
    Role,
    RunTrigger,
    create_credential,
    latest_version,
    session_scope,
)
from runtime.store.api_keys import create_api_key
from runtime.store.invites import create_invite
from runtime.workflows import import_workflow
from tests.accounts import SignedIn, signed_in_member
from tests.builder.conftest import browser_of, configure_app
from tests.builder.test_access_policy import builder_states
from tests.conftest import PgDatabases
from tests.runtime.executor.conftest import reset_caches

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "branch_if.json"
UNSCOPED_TABLES = {"alembic_version", "user", "workspace", "login_session", "idempotency_key"}
"""Tables without a workspace_id (or, for sessions, touched by every sign-in check)."""


@dataclass(frozen=True)
class Ours:
    """This workspace's records the handlers are aimed at."""

    workspace_id: str
    workflow_id: str
    version_id: str
    run_id: str
    node_id: str
    credential_id: str
    membership_id: str
    key_id: str
    owner_email: str


@pytest.fixture(scope="module")
def world(
    make_pg_database: PgDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[sa.Engine, Ours, SignedIn, SignedIn]]:
    """On PostgreSQL: our workspace (owner, workflow, run, credential, key, invite), a stranger owning
    another workspace, and a viewer of ours."""
    with pytest.MonkeyPatch.context() as patch:
        engine = configure_app(make_pg_database(), tmp_path_factory.mktemp("walk"), patch)
        owner = signed_in_member(engine, "owner@ours.example", Role.OWNER)
        workspace_id = owner.member.workspace_id
        with session_scope(engine) as session:
            workflow = import_workflow(session, workspace_id, json.loads(EXAMPLE.read_text()))
            version = latest_version(session, workspace_id, workflow.id)
            run = create_run(session, workspace_id, workflow.id, {"body": {}}, RunTrigger.MANUAL)
            credential = create_credential(session, workspace_id, "our key", "openai", "not-a-real-token")
            key = create_api_key(session, workspace_id, "ours", Role.EDITOR).key
            create_invite(session, owner.member, "invitee@ours.example", Role.EDITOR)
            membership = session.exec(select(Membership).where(Membership.workspace_id == workspace_id)).one()
            ours = Ours(workspace_id, workflow.id, version.id, run.id, version.document["nodes"][1]["id"],
                        credential.id, membership.id, key.id, owner.member.email)  # fmt: skip
        stranger = signed_in_member(engine, "stranger@theirs.example", Role.OWNER)
        viewer = signed_in_member(engine, "viewer@ours.example", Role.VIEWER, workspace_id)
        yield engine, ours, stranger, viewer
        reset_caches()


def upload() -> tuple[list[rx.UploadFile]]:
    """The arguments of an upload handler: one fresh file (a file can be read once)."""
    return ([rx.UploadFile(file=io.BytesIO(EXAMPLE.read_bytes()), path=Path("branch_if.json"))],)


def handler_args(o: Ours) -> dict[str, tuple[Any, ...] | Callable[[], tuple[Any, ...]]]:
    """The arguments each handler is called with, aimed at our records; a handler missing here fails the walk."""
    node = o.node_id
    return {
        "EditorState.set_run_input": ("{}",), "EditorState.run": (), "EditorState.follow_run": (),
        "EditorState.set_side_tab": ("runs",), "EditorState.open_editor": (), "EditorState.watch_runs": (),
        "EditorState.open_run": (o.run_id,),
        "EditorState.clear_run": (), "EditorState.cancel": (), "EditorState.resync_statuses": ({"seq": 0},),
        "EditorState.save": ({"note": "mine now"},), "EditorState.toggle_history": (),
        "EditorState.restore_version": (o.version_id,), "EditorState.export": (), "EditorState.import_file": upload,
        "EditorState.dismiss_import_problems": (), "EditorState.load_credentials": (),
        "EditorState.set_palette_query": ("set",), "EditorState.set_param": ("values", "{}"),
        "EditorState.set_flag": ("keep", True), "EditorState.set_title": ("Mine",),
        "EditorState.set_node_id": ("mine",),
        "EditorState.set_credential": ("openai", o.credential_id), "EditorState.set_note": ("mine",),
        "EditorState.copy_reference": ("trigger.body",), "EditorState.load": (),
        "EditorState.nodes_moved": ([{"id": node, "x": 5, "y": 5}],),
        "EditorState.connect_edge": ({"source": node, "source_handle": "out", "target": node, "target_handle": "in"},),
        "EditorState.drop_node": ({"kind": "set", "x": 0, "y": 0},),
        "EditorState.delete_items": ({"nodes": [node], "edges": []},), "EditorState.select_ids": ([node],),
        "EditorState.focus_node": (node,), "EditorState.undo": (), "EditorState.redo": (),
        "EditorState.copy_nodes": ([node],), "EditorState.paste_text": ("{}",), "EditorState.tidy_up": (),
        "EditorState.add_sticky_note": (),
        "WorkflowListState.load": (), "WorkflowListState.set_create_open": (True,),
        "WorkflowListState.create": ({"name": "theirs"},), "WorkflowListState.start_rename": (o.workflow_id, "x"),
        "WorkflowListState.cancel_rename": (), "WorkflowListState.rename": ({"name": "renamed"},),
        "WorkflowListState.duplicate": (o.workflow_id,), "WorkflowListState.ask_delete": (o.workflow_id, "x"),
        "WorkflowListState.cancel_delete": (), "WorkflowListState.confirm_delete": (),
        "WorkflowListState.export": (o.workflow_id,), "WorkflowListState.import_files": upload,
        "WorkflowListState.dismiss_import_problems": (), "WorkflowListState.switch_workspace": (o.workspace_id,),
        "MembersState.load": (), "MembersState.invite": ({"email": "friend@theirs.example", "role": "editor"},),
        "MembersState.set_role": (o.membership_id, "viewer"), "MembersState.remove": (o.membership_id,),
        "ApiKeysState.load": (), "ApiKeysState.create": ({"name": "k", "role": "viewer"},),
        "ApiKeysState.revoke": (o.key_id,), "ApiKeysState.forget_new_key": (),
        "AuditState.load": (), "AuditState.apply_filters": ({"action": "any", "actor": "any"},),
        "AuditState.turn_page": (1,), "InviteState.open": (),
        "EditorState.set_approval_comment": ("ok",), "EditorState.decide_approval": (node, "approve"),
        "EditorState.resume_run": (), "EditorState.open_replay": (), "EditorState.set_replay_input": ("{}",),
        "EditorState.replay": (), "EditorState.close_replay": (),
        "CredentialsState.load": (), "CredentialsState.start_create": (),
        "CredentialsState.set_form_type": ("http_header",), "CredentialsState.start_edit": (o.credential_id,),
        "CredentialsState.set_editor_open": (True,), "CredentialsState.save": ({"__name": "mine", "api_key": "sk-x"},),
        "CredentialsState.ask_delete": (o.credential_id,), "CredentialsState.cancel_delete": (),
        "CredentialsState.confirm_delete": (), "AccountState.load": (), "LoginState.load": (), "SetupState.load": (),
    }  # fmt: skip


NAMES_OURS = {
    "EditorState.open_editor", "EditorState.load", "EditorState.open_run", "EditorState.cancel", "EditorState.save",
    "EditorState.run", "EditorState.restore_version", "EditorState.export", "WorkflowListState.rename",
    "WorkflowListState.duplicate", "WorkflowListState.confirm_delete", "WorkflowListState.export",
    "MembersState.set_role", "MembersState.remove", "ApiKeysState.revoke", "WorkflowListState.switch_workspace",
    "CredentialsState.start_edit", "CredentialsState.confirm_delete",
}  # fmt: skip
"""Handlers that name one of our records: another workspace's member must be told it is not found."""


def all_handlers() -> dict[str, tuple[type[rx.State], str, Need]]:
    return {
        f"{cls.__name__}.{name}": (cls, name, getattr(handler.fn, POLICY_ATTRIBUTE))
        for cls in builder_states()
        for name, handler in cls.event_handlers.items()
        if name != "setvar"
    }


def our_rows(engine: sa.Engine, workspace_id: str, skip: frozenset[str] = frozenset()) -> dict[str, list[Any]]:
    """Every row of every workspace-scoped table (but `skip`) that belongs to our workspace."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {
            name: sorted(map(repr, connection.execute(sa.select(table).where(table.c.workspace_id == workspace_id))))
            for name, table in metadata.tables.items()
            if name not in UNSCOPED_TABLES | skip and "workspace_id" in table.c
        }


def aimed_at_ours(cls: type[rx.State], who: SignedIn, o: Ours, engine: sa.Engine) -> rx.State:
    """A state of `cls` in `who`'s browser, already holding our workflow, run and ids."""
    state = browser_of(cls, who, f"/workflows/{o.workflow_id}", id=o.workflow_id)
    if isinstance(state, EditorState):
        with Session(engine) as session:
            document = dict(latest_version(session, o.workspace_id, o.workflow_id).document)
        state.workflow_id, state.run_id = o.workflow_id, o.run_id
        state._load_saved(document)
        state.dirty = True  # as if edited: run and save would store it
    if hasattr(state, "rename_id"):
        state.rename_id = state.delete_id = o.workflow_id  # type: ignore[attr-defined]
    if isinstance(state, CredentialsState):
        state.delete_id = o.credential_id
    return state


def call(state: rx.State, name: str, args: tuple[Any, ...]) -> Any:
    """Run the handler the way Reflex's event processing does: its function, on the state."""
    answer = type(state).event_handlers[name].fn(state, *args)
    return asyncio.run(answer) if inspect.isawaitable(answer) else answer


def test_the_walk_covers_every_handler(world: tuple[sa.Engine, Ours, SignedIn, SignedIn]) -> None:
    assert set(all_handlers()) == set(handler_args(world[1]))
    assert set(all_handlers()) >= NAMES_OURS


def test_another_workspaces_owner_reaches_nothing_of_ours(world: tuple[sa.Engine, Ours, SignedIn, SignedIn]) -> None:
    engine, ours, stranger, _ = world
    before = our_rows(engine, ours.workspace_id)
    secrets = [ours.workflow_id, ours.run_id, ours.credential_id, ours.key_id, ours.owner_email, "invitee@ours"]
    for qualified, (cls, name, _need) in all_handlers().items():
        state = aimed_at_ours(cls, stranger, ours, engine)
        preset = json.dumps(state.dict(), default=str)
        args = handler_args(ours)[qualified]
        answer = call(state, name, args() if callable(args) else args)
        assert our_rows(engine, ours.workspace_id) == before, qualified
        if qualified in NAMES_OURS:
            told = (str(answer) + json.dumps(state.dict(), default=str)).lower()  # a toast, or an error on the page
            assert "not found" in told, (qualified, answer)
        if cls is not EditorState:  # the editor was handed our ids on purpose; lists must not gain any
            shown = json.dumps(state.dict(), default=str)
            leaked = [s for s in secrets if s in shown and s not in preset]
            assert leaked == [], (qualified, leaked)
    assert our_rows(engine, ours.workspace_id) == before


def test_a_viewer_is_refused_every_change_and_run(world: tuple[sa.Engine, Ours, SignedIn, SignedIn]) -> None:
    engine, ours, _, viewer = world
    audit = frozenset({"audit_event"})  # a viewer may export, and exports are audited; checked below
    before = our_rows(engine, ours.workspace_id, audit)
    refused = 0
    for qualified, (cls, name, need) in all_handlers().items():
        if qualified == "EditorState.follow_run":
            continue  # may read (it follows our queued run until it ends); it changes nothing
        state = aimed_at_ours(cls, viewer, ours, engine)
        vars_before = json.dumps(state.dict(), default=str, sort_keys=True)
        args = handler_args(ours)[qualified]
        answer = str(call(state, name, args() if callable(args) else args))
        # Whatever a handler declares, a viewer's call never changes our records.
        assert our_rows(engine, ours.workspace_id, audit) == before, qualified
        if need in (Need.WRITE, Need.ADMIN):
            assert "may look but not change" in answer or "Only owners and admins" in answer, (qualified, answer)
            assert json.dumps(state.dict(), default=str, sort_keys=True) == vars_before, qualified
            refused += 1
    assert refused >= 30
    with Session(engine) as session:
        assert session.get(ApiKey, ours.key_id).revoked_at is None  # type: ignore[union-attr]
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.workspace_id == ours.workspace_id)).all()
    # The fixture's key and invitation, and the viewer's two exports (list page and editor): nothing else.
    assert sorted(actions) == ["api_key.created", "invite.created", "workflow.exported", "workflow.exported"]
