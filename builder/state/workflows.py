"""State of the workflow list page: list, create, rename, duplicate, delete, import, export."""

from __future__ import annotations

import json
import re

import reflex as rx
from reflex.event import EventSpec

from builder.access import Need, acting_member, acting_workspace_id, guarded, open_to_all
from builder.identity import session_token
from runtime.errors import WorkflowError, WorkflowInvalid
from runtime.store import (
    delete_workflow,
    duplicate_workflow,
    get_engine,
    get_workflow,
    list_workflows,
    record_audit,
    rename_workflow,
    session_scope,
)
from runtime.store.login_sessions import switch_workspace, workspaces_of
from runtime.workflows import create_blank_workflow, export_workflow, import_workflow


def download_name(name: str) -> str:
    """A safe file name for a workflow's exported JSON."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "workflow"
    return f"{slug}.json"


def export_download(workflow_id: str) -> EventSpec:
    """A browser download of the workflow's latest saved document as indented JSON (audited)."""
    member = acting_member()
    with session_scope(get_engine()) as session:
        document = export_workflow(session, member.workspace_id, workflow_id)
        record_audit(session, member.workspace_id, member.user_id, "workflow.exported", ("workflow", workflow_id))
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
    can_write: bool = False
    can_admin: bool = False
    workspace_id: str = ""
    workspaces: list[dict[str, str]] = []
    import_problems: list[str] = []
    import_title: str = ""
    dialog_error: str = ""
    create_open: bool = False
    rename_id: str = ""
    rename_value: str = ""
    delete_id: str = ""
    delete_name: str = ""

    @rx.event
    @guarded(Need.READ)
    def load(self) -> None:
        """Read the workflow list from the store, and what the member's role may do with it."""
        member = acting_member()
        self.can_write, self.can_admin = member.may_write, member.may_admin
        self.workspace_id = member.workspace_id
        with session_scope(get_engine()) as session:
            self.workspaces = [{"id": i, "name": n} for i, n in workspaces_of(session, member.user_id)]
            rows = list_workflows(session, member.workspace_id)
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
    @guarded(Need.READ)
    def switch_workspace(self, workspace_id: str) -> EventSpec:
        """Act in another of the member's workspaces from now on (this browser's login session)."""
        token = session_token(self.router.headers.cookie) or ""
        with session_scope(get_engine()) as session:
            switched = switch_workspace(session, token, workspace_id)
        if not switched:
            return rx.toast.error(f"Workspace {workspace_id!r} not found among yours.")
        return rx.call_script("window.location.reload()")  # every page state reloads in the new workspace

    @rx.event
    @open_to_all
    def set_create_open(self, is_open: bool) -> None:
        """Open or close the new-workflow dialog."""
        self.create_open = is_open
        self.dialog_error = ""

    @rx.event
    @guarded(Need.WRITE)
    def create(self, form: dict[str, str]) -> EventSpec | None:
        """Create a workflow with the starter document under the name typed."""
        try:
            with session_scope(get_engine()) as session:
                create_blank_workflow(session, acting_workspace_id(), form.get("name", ""))
        except WorkflowError as error:
            self.dialog_error = str(error)
            return None
        self.create_open = False
        self.load()
        return rx.toast.success(f"Created “{form['name'].strip()}”")

    @rx.event
    @open_to_all
    def start_rename(self, workflow_id: str, name: str) -> None:
        """Open the rename dialog for one workflow."""
        self.rename_id, self.rename_value, self.dialog_error = workflow_id, name, ""

    @rx.event
    @open_to_all
    def cancel_rename(self, is_open: bool = False) -> None:
        """Close the rename dialog without changes."""
        if not is_open:
            self.rename_id = ""

    @rx.event
    @guarded(Need.WRITE)
    def rename(self, form: dict[str, str]) -> None:
        """Give the workflow in the rename dialog the name typed."""
        try:
            with session_scope(get_engine()) as session:
                rename_workflow(session, acting_workspace_id(), self.rename_id, form.get("name", ""))
        except WorkflowError as error:
            self.dialog_error = str(error)
            return
        self.rename_id = ""
        self.load()

    @rx.event
    @guarded(Need.WRITE)
    def duplicate(self, workflow_id: str) -> EventSpec:
        """Copy a workflow's latest document into a new workflow."""
        with session_scope(get_engine()) as session:
            copy = duplicate_workflow(session, acting_workspace_id(), workflow_id)
            name = copy.name
        self.load()
        return rx.toast.success(f"Created “{name}”")

    @rx.event
    @open_to_all
    def ask_delete(self, workflow_id: str, name: str) -> None:
        """Ask for confirmation before deleting a workflow."""
        self.delete_id, self.delete_name = workflow_id, name

    @rx.event
    @open_to_all
    def cancel_delete(self, is_open: bool = False) -> None:
        """Close the delete confirmation without deleting."""
        if not is_open:
            self.delete_id = ""

    @rx.event
    @guarded(Need.WRITE)
    def confirm_delete(self) -> EventSpec:
        """Delete the workflow the confirmation was for, with its versions and runs."""
        member = acting_member()
        with session_scope(get_engine()) as session:
            name = get_workflow(session, member.workspace_id, self.delete_id).name
            delete_workflow(session, member.workspace_id, self.delete_id)
            record_audit(session, member.workspace_id, member.user_id, "workflow.deleted",
                         ("workflow", self.delete_id), name=name)  # fmt: skip
        self.delete_id = ""
        self.load()
        return rx.toast.success(f"Deleted “{name}”")

    @rx.event
    @guarded(Need.READ)
    def export(self, workflow_id: str) -> EventSpec:
        """Download the workflow's latest document as a JSON file."""
        return export_download(workflow_id)

    @rx.event
    @guarded(Need.WRITE)
    async def import_files(self, files: list[rx.UploadFile]) -> EventSpec | None:
        """Import uploaded JSON documents; an invalid one is listed with every problem and not stored."""
        self.import_problems, self.import_title = [], ""
        for upload in files:
            raw = await upload.read()
            try:
                with session_scope(get_engine()) as session:
                    workflow = import_workflow(session, acting_workspace_id(), raw)
                    record_audit(session, workflow.workspace_id, acting_member().user_id, "workflow.imported",
                                 ("workflow", workflow.id), name=workflow.name, file=upload.name)  # fmt: skip
            except WorkflowError as error:
                self.import_title, self.import_problems = import_failure(upload.name, error)
                return None
        self.load()
        return rx.toast.success(f"Imported {len(files)} workflow(s)")

    @rx.event
    @open_to_all
    def dismiss_import_problems(self) -> None:
        """Hide the list of import problems."""
        self.import_problems, self.import_title = [], ""
