"""Saving versions, the version history, and export / import from the editor."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.event import EventSpec

from builder.access import Need, acting_workspace_id, guarded, open_to_all
from builder.state.editor.document import DocumentMixin
from builder.state.workflows import export_download, import_failure
from runtime.errors import WorkflowError
from runtime.graph.schema import dump_document
from runtime.graph.validate import validate_document
from runtime.store import get_engine, get_version, list_versions, save_version, session_scope
from runtime.workflows import parse_upload

EDITOR_UPLOAD_ID = "editor-import"


class VersionsMixin(DocumentMixin, mixin=True):
    """Save (a new immutable version), history and restore, export and import."""

    versions: list[dict[str, str]] = []
    import_problems: list[str] = []
    import_title: str = ""

    def _save(self, note: str = "") -> int:
        """Store the document on screen as the workflow's next version; returns its number."""
        with session_scope(get_engine()) as session:
            version = save_version(
                session, acting_workspace_id(), self.workflow_id, self._doc, note=note.strip()[:500] or None
            )
            number = version.number
        self._saved = dict(self._doc)
        self.dirty = False
        self._refresh_panel()  # a first save gives a webhook node its URL
        if self.side_tab == "history":
            self._read_versions()
        return number

    @rx.event
    @guarded(Need.WRITE)
    def save(self, form: dict[str, Any]) -> EventSpec:
        """Save the document as a new version with the note typed (optional)."""
        number = self._save(str(form.get("note", "")))
        if self.problems:
            return rx.toast.warning(
                f"Saved version {number} with {len(self.problems)} problem(s) to fix before running"
            )
        return rx.toast.success(f"Saved version {number}")

    def _read_versions(self) -> None:
        with session_scope(get_engine()) as session:
            self.versions = [
                {"id": v.id, "number": str(v.number), "created": v.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                 "note": v.note or ""}
                for v in list_versions(session, acting_workspace_id(), self.workflow_id)
            ]  # fmt: skip

    @rx.event
    @guarded(Need.READ)
    def toggle_history(self) -> None:
        """Show the version history in the side panel (or go back to the node panel)."""
        self.side_tab = "node" if self.side_tab == "history" else "history"
        if self.side_tab == "history":
            self._read_versions()

    @rx.event
    @guarded(Need.WRITE)
    def restore_version(self, version_id: str) -> EventSpec:
        """Put a saved version's document on the canvas (an undoable edit; save to keep it)."""
        with session_scope(get_engine()) as session:
            version = get_version(session, acting_workspace_id(), version_id)
            document, number = dict(version.document), version.number
        document.setdefault("notes", [])
        self._apply(document)
        self.fit_nonce += 1
        return rx.toast.info(f"Version {number} restored on the canvas; save to make it the latest")

    @rx.event
    @guarded(Need.READ)
    def export(self) -> list[EventSpec]:
        """Download the latest saved version as JSON (unsaved edits are not in it)."""
        events = [export_download(self.workflow_id)]
        if self.dirty:
            events.append(rx.toast.info("Exported the last saved version; save first to include your edits"))
        return events

    @rx.event
    @guarded(Need.WRITE)
    async def import_file(self, files: list[rx.UploadFile]) -> EventSpec | None:
        """Replace the graph with an uploaded workflow JSON; an invalid one is listed problem by problem."""
        self.import_problems, self.import_title = [], ""
        for upload in files[:1]:
            raw = await upload.read()
            try:
                document = dump_document(validate_document(parse_upload(raw)))
            except WorkflowError as error:
                self.import_title, self.import_problems = import_failure(upload.name, error)
                return None
            document["name"] = self._doc.get("name", document["name"])
            self._apply(document)
            self.fit_nonce += 1
            return rx.toast.success(f"Imported {upload.name}; save to keep it")
        return None

    @rx.event
    @open_to_all
    def dismiss_import_problems(self) -> None:
        """Hide the list of import problems."""
        self.import_problems, self.import_title = [], ""
