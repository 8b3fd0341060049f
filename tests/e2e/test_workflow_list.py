"""The workflow list page, used as a person would in Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from runtime.store import delete_workflow, ensure_local_workspace, list_workflows, make_engine
from runtime.workflows import export_workflow
from tests.processes import Server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def db(server: Server) -> Iterator[Session]:
    """A session on the server's database, emptied of workflows before each test."""
    engine = make_engine(server.database_url)
    with Session(engine) as session:
        workspace_id = ensure_local_workspace(session).id
        for workflow in list_workflows(session, workspace_id):
            delete_workflow(session, workspace_id, workflow.id)
        session.commit()
        yield session
    engine.dispose()


def stored_names(db: Session) -> list[str]:
    """The names of the workflows in the database, sorted."""
    db.expire_all()
    return sorted(w.name for w in list_workflows(db, ensure_local_workspace(db).id))


def rows(page: Page):  # type: ignore[no-untyped-def]
    return page.locator(".workflow-row")


def open_list(page: Page, server: Server) -> None:
    page.goto(server.url)
    expect(page.get_by_role("heading", name="Workflows", exact=True)).to_be_visible()


def test_empty_state_then_create_rename_duplicate_delete(page: Page, server: Server, db: Session) -> None:
    open_list(page, server)
    expect(page.get_by_test_id("empty-state")).to_contain_text("No workflows yet")

    page.get_by_test_id("new-workflow-button").click()
    page.get_by_test_id("name-input").fill("Daily digest")
    page.get_by_test_id("name-submit").click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first.get_by_test_id("workflow-name")).to_have_text("Daily digest")
    assert stored_names(db) == ["Daily digest"]

    rows(page).first.get_by_test_id("rename-button").click()
    page.get_by_test_id("name-input").fill("Weekly digest")
    page.get_by_test_id("name-submit").click()
    expect(rows(page).first.get_by_test_id("workflow-name")).to_have_text("Weekly digest")

    rows(page).first.get_by_test_id("duplicate-button").click()
    expect(rows(page)).to_have_count(2)
    expect(page.get_by_test_id("workflow-list")).to_contain_text("Weekly digest (copy)")
    assert stored_names(db) == ["Weekly digest", "Weekly digest (copy)"]

    copy_row = rows(page).filter(has_text="(copy)")
    copy_row.get_by_test_id("delete-button").click()
    page.get_by_role("button", name="Cancel").click()
    expect(rows(page)).to_have_count(2)
    copy_row.get_by_test_id("delete-button").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("Weekly digest (copy)")
    page.get_by_test_id("confirm-delete").click()
    expect(rows(page)).to_have_count(1)
    assert stored_names(db) == ["Weekly digest"]


def test_empty_name_is_refused_with_a_message(page: Page, server: Server, db: Session) -> None:
    open_list(page, server)
    page.get_by_test_id("new-workflow-button").click()
    page.get_by_test_id("name-input").fill("   ")
    page.get_by_test_id("name-submit").click()
    expect(page.get_by_role("dialog")).to_contain_text("name")
    assert stored_names(db) == []


def test_import_valid_examples_and_export_round_trip(page: Page, server: Server, db: Session) -> None:
    open_list(page, server)
    files = sorted(EXAMPLES.glob("*.json"))
    page.get_by_test_id("import-input").locator("input[type=file]").set_input_files(files)
    expect(rows(page)).to_have_count(len(files))

    source = json.loads((EXAMPLES / "branch_if.json").read_text())
    row = rows(page).filter(has_text=source["name"])
    with page.expect_download() as download_info:
        row.get_by_test_id("export-button").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".json")
    exported = json.loads(Path(download.path()).read_text())
    assert exported["name"] == source["name"]
    assert [n["id"] for n in exported["nodes"]] == [n["id"] for n in source["nodes"]]
    workspace_id = ensure_local_workspace(db).id
    stored = next(w for w in list_workflows(db, workspace_id) if w.name == source["name"])
    assert exported == export_workflow(db, workspace_id, stored.id)


def test_broken_import_lists_every_problem_and_stores_nothing(
    page: Page, server: Server, db: Session, tmp_path: Path
) -> None:
    broken = json.loads((EXAMPLES / "branch_if.json").read_text())
    broken["nodes"].append(dict(broken["nodes"][0]))  # duplicate node id
    broken["nodes"][1]["type_version"] = 99  # unknown version
    broken["edges"].append({"id": "dangling", "source": "nowhere", "target": broken["nodes"][0]["id"]})
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))

    open_list(page, server)
    page.get_by_test_id("import-input").locator("input[type=file]").set_input_files(path)
    problems = page.get_by_test_id("import-errors")
    expect(problems).to_contain_text("broken.json was not imported")
    expect(problems).to_contain_text("nowhere")
    expect(problems).to_contain_text("99")
    expect(problems).to_contain_text(broken["nodes"][0]["id"])
    assert problems.locator("li").count() >= 3
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    assert stored_names(db) == []
