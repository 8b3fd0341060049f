"""Workspaces and roles in Chromium: invitations, role changes, a viewer's read-only editor, another
workspace seeing nothing, and the admin pages for API keys and the audit log."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, col, select

from runtime.store import (
    ApiKey,
    AuditEvent,
    Membership,
    Role,
    User,
    WorkflowVersion,
    ensure_local_workspace,
    make_engine,
)
from tests.accounts import SignedIn, signed_in_member
from tests.e2e.conftest import new_tab
from tests.e2e.editor_helpers import drop_from_palette, node, open_editor, stored_workflow
from tests.processes import Server

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "branch_if.json"


def member_of_local(server: Server, email: str, role: Role) -> SignedIn:
    """A new user with `role` in the local workspace, signed in."""
    engine = make_engine(server.database_url)
    with Session(engine) as session:
        workspace_id = ensure_local_workspace(session).id
        session.commit()
    signed_in = signed_in_member(engine, email, role, workspace_id)
    engine.dispose()
    return signed_in


@pytest.fixture
def workflow_id(db: Session) -> str:
    """A saved workflow of the local workspace."""
    return stored_workflow(db, json.loads(EXAMPLE.read_text()))


@pytest.fixture
def viewer(server: Server) -> SignedIn:
    """A viewer of the local workspace (a new user per test), signed in."""
    return member_of_local(server, f"viewer-{uuid.uuid4().hex[:8]}@e2e.example", Role.VIEWER)


@pytest.fixture
def viewer_tab(browser: Browser, server: Server, viewer: SignedIn) -> Iterator[Page]:
    """A tab signed in as the viewer."""
    with new_tab(browser, server.url, viewer) as tab:
        yield tab


def test_an_invited_person_sets_a_password_and_lands_in_the_workspace_with_the_role(
    page: Page, browser: Browser, server: Server, db: Session
) -> None:
    page.goto(f"{server.url}/settings/members")
    expect(page.get_by_test_id("member-list")).to_contain_text("owner@e2e.example")
    page.get_by_test_id("invite-email").fill("invited@e2e.example")
    page.get_by_test_id("invite-submit").click()
    link = page.get_by_test_id("invite-link")
    expect(link).to_contain_text("/invite/")
    expect(page.get_by_text("Trellis sends no email")).to_be_visible()
    url = link.inner_text()
    assert url.startswith(server.url)

    with new_tab(browser) as guest:
        guest.goto(url)
        expect(guest.get_by_test_id("invite-workspace")).to_contain_text("Local")
        expect(guest.get_by_test_id("invite-role")).to_have_text("editor")
        guest.get_by_test_id("invite-name").fill("Invited Person")
        guest.get_by_test_id("invite-password").fill("a long enough password")
        guest.get_by_test_id("invite-join").click()
        expect(guest.get_by_role("heading", name="Workflows", exact=True)).to_be_visible()
        expect(guest.get_by_test_id("new-workflow-button").first).to_be_enabled()
        [cookie] = [c for c in guest.context.cookies() if c["name"] == "trellis_session"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        guest.goto(url)  # the link works once
        expect(guest.get_by_test_id("invite-problem")).to_contain_text("already used")

    db.expire_all()
    user = db.exec(select(User).where(User.email == "invited@e2e.example")).one()
    assert user.password_hash and user.password_hash.startswith("$argon2id$")
    membership = db.exec(select(Membership).where(Membership.user_id == user.id)).one()
    assert membership.role is Role.EDITOR

    page.goto(f"{server.url}/settings/audit")
    actions = page.get_by_test_id("audit-list")
    expect(actions).to_contain_text("invite.accepted")
    expect(actions).to_contain_text("invite.created")


def test_a_viewer_made_editor_can_run_after_a_reload(
    page: Page, viewer: SignedIn, viewer_tab: Page, server: Server, workflow_id: str
) -> None:
    open_editor(viewer_tab, server.url, workflow_id)
    expect(viewer_tab.get_by_test_id("run-button")).to_be_disabled()

    page.goto(f"{server.url}/settings/members")
    row = page.locator(".member-row").filter(has_text=viewer.member.email)
    row.get_by_test_id("role-select").click()
    page.get_by_role("option", name="editor", exact=True).click()
    expect(page.get_by_text("Role changed to editor")).to_be_visible()

    viewer_tab.reload()
    expect(viewer_tab.get_by_test_id("run-button")).to_be_enabled()
    expect(viewer_tab.get_by_test_id("read-only-badge")).to_have_count(0)


def test_a_viewer_cannot_edit_or_run_and_a_forced_save_is_refused(
    viewer_tab: Page, server: Server, workflow_id: str, db: Session
) -> None:
    viewer_tab.goto(server.url)
    expect(viewer_tab.get_by_test_id(f"workflow-row-{workflow_id}")).to_be_visible()
    for control in ("new-workflow-button", "rename-button", "duplicate-button", "delete-button"):
        expect(viewer_tab.get_by_test_id(control).first).to_be_disabled()
    expect(viewer_tab.get_by_test_id("members-link")).to_have_count(0)

    open_editor(viewer_tab, server.url, workflow_id)
    expect(viewer_tab.get_by_test_id("read-only-badge")).to_be_visible()
    for control in ("run-button", "save-button", "undo-button", "layout-button", "note-button", "import-button"):
        expect(viewer_tab.get_by_test_id(control)).to_be_disabled()
    nodes_before = viewer_tab.locator(".react-flow__node").count()
    drop_from_palette(viewer_tab, "set", 300, 300)
    viewer_tab.wait_for_timeout(500)
    expect(viewer_tab.locator(".react-flow__node")).to_have_count(nodes_before)
    first = json.loads(EXAMPLE.read_text())["nodes"][1]["id"]
    node(viewer_tab, first).click()
    expect(viewer_tab.get_by_test_id("node-title")).to_be_disabled()

    versions = len(db.exec(select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow_id)).all())
    viewer_tab.evaluate("document.querySelector('[data-testid=save-button]').closest('form').requestSubmit()")
    expect(viewer_tab.get_by_text("Your role (viewer) may look but not change")).to_be_visible()
    db.expire_all()
    assert len(db.exec(select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow_id)).all()) == versions

    viewer_tab.goto(f"{server.url}/settings/members")
    expect(viewer_tab.get_by_test_id("admins-only")).to_be_visible()
    expect(viewer_tab.get_by_text("Only owners and admins may do this")).to_be_visible()


def test_another_workspace_sees_none_of_ours_and_our_editor_is_not_found(
    browser: Browser, server: Server, workflow_id: str
) -> None:
    engine = make_engine(server.database_url)
    stranger = signed_in_member(engine, "stranger@elsewhere.example", Role.OWNER)
    engine.dispose()
    with new_tab(browser, server.url, stranger) as tab:
        tab.goto(server.url)
        expect(tab.get_by_test_id("empty-state")).to_be_visible()
        expect(tab.locator(".workflow-row")).to_have_count(0)
        tab.goto(f"{server.url}/workflows/{workflow_id}")
        expect(tab.get_by_role("heading", name="Workflow not found")).to_be_visible()
    with new_tab(browser) as signed_out:
        signed_out.goto(f"{server.url}/workflows/{workflow_id}")
        expect(signed_out).to_have_url(f"{server.url}/login?next=/workflows/{workflow_id}")


def test_an_admin_creates_a_key_shown_once_and_revokes_it(page: Page, server: Server, db: Session) -> None:
    page.goto(f"{server.url}/settings/api-keys")
    page.get_by_test_id("key-name").fill("deploy bot")
    page.get_by_test_id("key-submit").click()
    shown = page.get_by_test_id("new-key")
    expect(shown).to_contain_text("trellis_key_")
    plaintext = shown.inner_text()
    row = page.locator(".key-row").filter(has_text="deploy bot")
    expect(row).to_contain_text(plaintext[-4:])
    expect(row).to_contain_text("viewer")
    page.reload()
    expect(page.get_by_test_id("new-key")).to_have_count(0)  # shown once

    page.locator(".key-row").filter(has_text="deploy bot").get_by_test_id("revoke-key").click()
    expect(page.locator(".key-row").filter(has_text="deploy bot")).to_contain_text("revoked")
    db.expire_all()
    key = db.exec(select(ApiKey).where(ApiKey.name == "deploy bot")).one()
    assert key.revoked_at is not None and plaintext not in key.key_hash
    audited = db.exec(select(AuditEvent.action).where(col(AuditEvent.target_id) == key.id)).all()
    assert sorted(audited) == ["api_key.created", "api_key.revoked"]


def test_a_member_of_two_workspaces_switches_between_them(browser: Browser, server: Server, workflow_id: str) -> None:
    engine = make_engine(server.database_url)
    elsewhere = signed_in_member(engine, "owner@second.example", Role.OWNER)
    with Session(engine) as session:
        workspace_id = ensure_local_workspace(session).id
        session.commit()
    both = signed_in_member(engine, "both@e2e.example", Role.EDITOR, elsewhere.member.workspace_id)
    signed_in_member(engine, "both@e2e.example", Role.VIEWER, workspace_id)
    engine.dispose()
    with new_tab(browser, server.url, both) as tab:
        tab.goto(server.url)
        expect(tab.get_by_test_id("empty-state")).to_be_visible()
        tab.get_by_test_id("workspace-switcher").click()
        tab.get_by_role("option", name="Local").click()
        expect(tab.get_by_test_id(f"workflow-row-{workflow_id}")).to_be_visible()
        expect(tab.get_by_test_id("new-workflow-button")).to_be_disabled()  # a viewer here


def test_a_removed_member_is_signed_out_of_the_workspace(
    page: Page, viewer: SignedIn, viewer_tab: Page, server: Server
) -> None:
    viewer_tab.goto(server.url)
    expect(viewer_tab.get_by_role("heading", name="Workflows", exact=True)).to_be_visible()

    page.goto(f"{server.url}/settings/members")
    page.locator(".member-row").filter(has_text=viewer.member.email).get_by_test_id("remove-member").click()
    expect(page.locator(".member-row").filter(has_text=viewer.member.email)).to_have_count(0)
    expect(page.get_by_text("Member removed")).to_be_visible()

    viewer_tab.reload()
    expect(viewer_tab).to_have_url(f"{server.url}/login?next=/")
