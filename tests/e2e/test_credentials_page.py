"""The credentials page in a real browser: create a credential, see it masked (never the secret), edit it
with the secret left blank, pick it in the editor's panel, and a viewer seeing names only."""

from __future__ import annotations

import re

import sqlmodel
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from runtime.credentials import add_credential, open_credential
from runtime.store import Credential, Role, ensure_local_workspace
from runtime.workflows import starter_document
from tests.e2e.conftest import new_tab, sign_in
from tests.e2e.editor_helpers import latest_document, open_editor, save, select, stored_workflow
from tests.processes import Server

SECRET = "sk-browser-canary-31c4d2a7"


def test_create_see_masked_edit_and_pick_in_the_editor(page: Page, server: Server, db: Session) -> None:
    sign_in(page, server, "editor@example.com", Role.EDITOR)
    page.goto(server.url)
    page.get_by_test_id("credentials-link").click()
    expect(page).to_have_url(f"{server.url}/settings/credentials")

    page.get_by_test_id("new-credential-button").click()
    page.get_by_test_id("credential-name-input").fill("Browser key")
    page.get_by_test_id("credential-field-api_key").fill(SECRET)
    page.get_by_test_id("credential-field-base_url").fill("http://127.0.0.1:9/v1")
    page.get_by_test_id("credential-save").click()

    row = page.locator("[data-testid^=credential-row-]", has_text="Browser key")
    expect(row.get_by_test_id("credential-masked")).to_have_text("…" + SECRET[-4:])
    expect(row).to_contain_text("editor@example.com")
    assert SECRET not in page.content()

    row.get_by_test_id("credential-edit-button").click()
    expect(page.get_by_test_id("credential-field-api_key")).to_have_value("")
    expect(page.get_by_test_id("credential-field-base_url")).to_have_value("http://127.0.0.1:9/v1")
    page.get_by_test_id("credential-name-input").fill("Browser key (renamed)")
    page.get_by_test_id("credential-save").click()
    expect(page.get_by_test_id("credential-name").filter(has_text="Browser key (renamed)")).to_be_visible()
    db.expire_all()
    stored = db.exec(sqlmodel.select(Credential).where(Credential.name == "Browser key (renamed)")).one()
    assert open_credential(stored.plain_fields, stored.ciphertext)["api_key"] == SECRET  # blank kept it

    document = starter_document("Uses the browser key")
    document["nodes"].append({"id": "ask", "type": "llm", "type_version": 1, "title": "Ask",
                              "position": {"x": 260, "y": 120}, "params": {"model": "m", "prompt": "Hi"}})  # fmt: skip
    workflow_id = stored_workflow(db, document)
    open_editor(page, server.url, workflow_id)
    select(page, "ask")
    page.get_by_test_id("credential-openai").click()
    page.get_by_role("option", name="Browser key (renamed) (openai)").click()
    save(page)
    assert latest_document(db, workflow_id)["nodes"][-1]["credentials"] == {"openai": stored.id}

    page.goto(f"{server.url}/settings/credentials")
    used_by = page.locator(f"[data-testid=credential-row-{stored.id}]").get_by_test_id("credential-used-by")
    expect(used_by).to_have_text("Uses the browser key")


def test_a_viewer_sees_names_and_types_only(page: Page, server: Server, db: Session) -> None:
    add_credential(db, ensure_local_workspace(db).id, None, "Shared key", "openai", {"api_key": SECRET})
    db.commit()
    sign_in(page, server, "viewer@example.com", Role.VIEWER)
    page.goto(f"{server.url}/settings/credentials")

    expect(page.get_by_test_id("credential-name").filter(has_text="Shared key")).to_be_visible()
    assert SECRET[-4:] not in page.content()
    expect(page.get_by_test_id("credential-masked")).to_have_count(0)
    expect(page.get_by_test_id("new-credential-button")).to_have_count(0)
    expect(page.get_by_test_id("credential-edit-button")).to_have_count(0)


def test_without_a_session_the_page_sends_you_to_sign_in(browser: Browser, server: Server) -> None:
    with new_tab(browser) as page:
        page.goto(f"{server.url}/settings/credentials")
        # to sign in, or (while no account has a password yet) on to the owner setup that comes first
        expect(page).to_have_url(re.compile(r"/(login\?next=(%2F|/)settings(%2F|/)credentials|setup)$"))
        expect(page.get_by_test_id("credential-masked")).to_have_count(0)
