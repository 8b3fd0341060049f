"""State of the workflow list page: list, create, rename, duplicate, delete, import, export."""

from __future__ import annotations

import json
import re

import reflex as rx
from reflex.event import EventSpec

from builder.workspace import current_workspace_id
from runtime.errors import WorkflowError, WorkflowInvalid
from runtime.store import (
    delete_workflow,
    duplicate_workflow,
    get_engine,
    list_workflows,
    rename_workflow,
    session_scope,
)
from runtime.workflows import create_blank_workflow, export_workflow, import_workflow


def download_name(name: str) -> str:
    """A safe file name for a workflow's exported JSON."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "workflow"
    return f"{slug}.json"


def export_download(workflow_id: str) -> EventSpec:
    """A browser download of the workflow's latest saved document as indented JSON."""
    with session_scope(get_engine()) as session:
        document = export_workflow(session, current_workspace_id(), workflow_id)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return rx.download(data=text, filename=download_name(document["name"]), mime_type="application/json")


def import_failure(file_name: str, error: WorkflowError) -> tuple[str, list[str]]:
    """The heading and the lines that tell why `file_name` was not imported (every problem of an invalid one)."""
    if isinstance(error, WorkflowInvalid):
        return f"{file_name} was not imported: {len(error.issues)} problem(s)", [str(i) for i in error.issues]
    return f"{file_name} was not imported", [str(error)]


class WorkflowListState(rx.State):
    """The workflows of the current workspace and the dialogs acting on them."""

    workflows: list[dict[str, str]] = []
    loaded: bool = False
    import_problems: list[str] = []
    import_title: str = ""
    dialog_error: str = ""
    create_open: bool = False
    rename_id: str = ""
    rename_value: str = ""
    delete_id: str = ""
    delete_name: str = ""

    @rx.event
    def load(self) -> None:
        """Read the workflow list from the store."""
        with session_scope(get_engine()) as session:
            rows = list_workflows(session, current_workspace_id())
            self.workflows = [
                {
                    "id": row.id,
                    "name": row.name,
                    "description": row.description,
                    "updated": row.updated_at.strftime("%Y-%m-%d %H:%M UTC"),
                }
                for row in rows
            ]
        self.loaded = True

    @rx.event
    def set_create_open(self, is_open: bool) -> None:
        """Open or close the new-workflow dialog."""
        self.create_open = is_open
        self.dialog_error = ""

    @rx.event
    def create(self, form: dict[str, str]) -> EventSpec | None:
        """Create a workflow with the starter document under the name typed."""
        try:
            with session_scope(get_engine()) as session:
                create_blank_workflow(session, current_workspace_id(), form.get("name", ""))
        except WorkflowError as error:
            self.dialog_error = str(error)
            return None
        self.create_open = False
        self.load()
        return rx.toast.success(f"Created “{form['name'].strip()}”")

    @rx.event
    def start_rename(self, workflow_id: str, name: str) -> None:
        """Open the rename dialog for one workflow."""
        self.rename_id, self.rename_value, self.dialog_error = workflow_id, name, ""

    @rx.event
    def cancel_rename(self, is_open: bool = False) -> None:
        """Close the rename dialog without changes."""
        if not is_open:
            self.rename_id = ""

    @rx.event
    def rename(self, form: dict[str, str]) -> None:
        """Give the workflow in the rename dialog the name typed."""
        try:
            with session_scope(get_engine()) as session:
                rename_workflow(session, current_workspace_id(), self.rename_id, form.get("name", ""))
        except WorkflowError as error:
            self.dialog_error = str(error)
            return
        self.rename_id = ""
        self.load()

    @rx.event
    def duplicate(self, workflow_id: str) -> EventSpec:
        """Copy a workflow's latest document into a new workflow."""
        with session_scope(get_engine()) as session:
            copy = duplicate_workflow(session, current_workspace_id(), workflow_id)
            name = copy.name
        self.load()
        return rx.toast.success(f"Created “{name}”")

    @rx.event
    def ask_delete(self, workflow_id: str, name: str) -> None:
        """Ask for confirmation before deleting a workflow."""
        self.delete_id, self.delete_name = workflow_id, name

    @rx.event
    def cancel_delete(self, is_open: bool = False) -> None:
        """Close the delete confirmation without deleting."""
        if not is_open:
            self.delete_id = ""

    @rx.event
    def confirm_delete(self) -> EventSpec:
        """Delete the workflow the confirmation was for, with its versions and runs."""
        with session_scope(get_engine()) as session:
            delete_workflow(session, current_workspace_id(), self.delete_id)
        name, self.delete_id = self.delete_name, ""
        self.load()
        return rx.toast.success(f"Deleted “{name}”")

    @rx.event
    def export(self, workflow_id: str) -> EventSpec:
        """Download the workflow's latest document as a JSON file."""
        return export_download(workflow_id)

    @rx.event
    async def import_files(self, files: list[rx.UploadFile]) -> EventSpec | None:
        """Import uploaded JSON documents; an invalid one is listed with every problem and not stored."""
        self.import_problems, self.import_title = [], ""
        for upload in files:
            raw = await upload.read()
            try:
                with session_scope(get_engine()) as session:
                    import_workflow(session, current_workspace_id(), raw)
            except WorkflowError as error:
                self.import_title, self.import_problems = import_failure(upload.name, error)
                return None
        self.load()
        return rx.toast.success(f"Imported {len(files)} workflow(s)")

    @rx.event
    def dismiss_import_problems(self) -> None:
        """Hide the list of import problems."""
        self.import_problems, self.import_title = [], ""
