"""The side panel: the selected node's form, id and title, credentials, help and problems."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import select

from builder.access import Need, acting_workspace_id, guarded, open_to_all
from builder.forms import FieldValueError, form_fields, parse_value, scope_references
from builder.graph_adapter import NOTE_PREFIX
from builder.graph_edit import EditRefused, rename_node, set_note_text, update_node
from builder.state.editor.document import DocumentMixin
from runtime.config import get_settings
from runtime.credential_types import types_for_slot
from runtime.nodes import REGISTRY
from runtime.store import Credential, get_engine, session_scope
from runtime.webhooks import hook_url_for_node


def workspace_credentials() -> list[dict[str, str]]:
    """The credentials of the current workspace, by name: id, name and type (never the secret)."""
    with session_scope(get_engine()) as session:
        rows = session.exec(select(Credential).where(Credential.workspace_id == acting_workspace_id())).all()
        return sorted(({"id": c.id, "name": c.name, "type": c.type} for c in rows), key=lambda c: c["name"])


def saved_hook_url(workflow_id: str, node_id: str) -> str:
    """The URL of the webhook node's saved address, or "" until a version with the node is saved."""
    with session_scope(get_engine()) as session:
        url = hook_url_for_node(session, get_settings(), acting_workspace_id(), workflow_id, node_id)
    return url or ""


class PanelMixin(DocumentMixin, mixin=True):
    """What the side panel shows for the selection, and the edits made there."""

    palette_query: str = ""
    selected_id: str = ""
    selected_kind: str = ""
    panel_title: str = ""
    panel_type: str = ""
    panel_help: str = ""
    panel_fields: list[dict[str, Any]] = []
    panel_scope: list[str] = []
    panel_issues: list[str] = []
    panel_credentials: list[dict[str, Any]] = []
    panel_hook_url: str = ""
    note_text: str = ""
    form_epoch: int = 0
    field_errors: dict[str, str] = {}
    credential_options: list[dict[str, str]] = []

    _editing_form: bool = False

    def _selected_node(self) -> dict[str, Any] | None:
        return next((n for n in self._doc.get("nodes", []) if n["id"] == self.selected_id), None)

    def _refresh_panel(self) -> None:
        ids = self.selected_ids
        self.selected_id = ids[0] if len(ids) == 1 else ""
        editing, self._editing_form = self._editing_form, False
        if not editing:
            self.form_epoch += 1
            self.field_errors = {}
        self._refresh_run_detail()
        node = self._selected_node()
        if self.selected_id.startswith(NOTE_PREFIX):
            note = next((n for n in self._doc.get("notes", []) if NOTE_PREFIX + n["id"] == self.selected_id), None)
            self.selected_kind, self.note_text = ("note", note.get("text", "")) if note else ("", "")
            return
        if node is None:
            self.selected_kind = "multi" if len(ids) > 1 else ""
            return
        self.selected_kind = "node"
        self._fill_node_panel(node)

    def _fill_node_panel(self, node: dict[str, Any]) -> None:
        node_type = REGISTRY.get(node["type"], node.get("type_version", 0))
        self.panel_title = node.get("title", "")
        self.panel_type = node["type"]
        self.panel_issues = next((item["data"]["issues"] for item in self.nodes if item["id"] == node["id"]), [])
        self.panel_scope = scope_references(self._doc, node["id"])
        is_hook = node["type"] == "webhook_trigger"
        self.panel_hook_url = saved_hook_url(self.workflow_id, node["id"]) if is_hook else ""
        if node_type is None:
            self.panel_help, self.panel_fields, self.panel_credentials = "Unknown node type.", [], []
            return
        self.panel_help = f"{node_type.title} ({node_type.category}). {node_type.description}"
        self.panel_fields = form_fields(node_type.params.model_json_schema(), node.get("params", {}))
        chosen = node.get("credentials", {})
        self.panel_credentials = [
            {"slot": slot, "value": chosen.get(slot, ""), "options": self._credentials_for(slot)}
            for slot in node_type.credentials
        ]

    def _credentials_for(self, slot: str) -> list[dict[str, str]]:
        accepted = types_for_slot(slot)
        return [c for c in self.credential_options if c["type"] in accepted]

    def _edit_node(self, **fields: Any) -> None:
        self._editing_form = True
        self._apply(update_node(self._doc, self.selected_id, **fields))

    @rx.event
    @guarded(Need.READ)
    def load_credentials(self) -> None:
        """Read the workspace's credentials for the pickers."""
        self.credential_options = workspace_credentials()

    @rx.event
    @open_to_all
    def set_palette_query(self, query: str) -> None:
        """Filter the palette by the text typed in its search box."""
        self.palette_query = query.strip().lower()

    @rx.event
    @guarded(Need.WRITE)
    def set_param(self, name: str, text: str) -> None:
        """Store what was typed into a parameter field (an empty field falls back to the default)."""
        node = self._selected_node()
        node_type = node and REGISTRY.get(node["type"], node.get("type_version", 0))
        if not node or not node_type:
            return
        schema = node_type.params.model_json_schema()
        shown = next((f for f in form_fields(schema, node.get("params", {})) if f["name"] == name), None)
        if shown is not None and not shown["is_set"] and text == shown["value"]:
            return  # leaving a field that shows the default: params keep only what the user set
        try:
            keep, value = parse_value(schema, name, text)
        except FieldValueError as error:
            self.field_errors = {**self.field_errors, name: str(error)}
            return
        self.field_errors = {k: v for k, v in self.field_errors.items() if k != name}
        params = {k: v for k, v in node.get("params", {}).items() if k != name}
        if keep:
            params[name] = value
        self._edit_node(params=params)

    @rx.event
    @guarded(Need.WRITE)
    def set_flag(self, name: str, checked: bool) -> None:
        """Store a boolean parameter."""
        self.set_param(name, "true" if checked else "false")

    @rx.event
    @guarded(Need.WRITE)
    def set_title(self, title: str) -> None:
        """Rename the node's label (its id and the expressions using it stay)."""
        self._edit_node(title=title.strip()[:200])

    @rx.event
    @guarded(Need.WRITE)
    def set_node_id(self, new_id: str) -> EventSpec | None:
        """Change the node's id; wires and every `nodes.<old>` expression follow."""
        old = self.selected_id
        try:
            document = rename_node(self._doc, old, new_id.strip())
        except EditRefused as refusal:
            self.form_epoch += 1
            return rx.toast.warning(str(refusal))
        self.selected_ids = [new_id.strip()]
        self._apply(document)
        return None

    @rx.event
    @guarded(Need.WRITE)
    def set_credential(self, slot: str, credential_id: str) -> None:
        """Pick the stored credential a slot uses."""
        node = self._selected_node()
        if node is not None:
            chosen = {k: v for k, v in node.get("credentials", {}).items() if k != slot}
            if credential_id:
                chosen[slot] = credential_id
            self._edit_node(credentials=chosen)

    @rx.event
    @guarded(Need.WRITE)
    def set_note(self, text: str) -> None:
        """Change the selected sticky note's text."""
        self._editing_form = True
        self._apply(set_note_text(self._doc, self.selected_id, text))

    @rx.event
    @open_to_all
    def copy_reference(self, reference: str) -> list[EventSpec]:
        """Copy `{{ reference }}` for pasting into a field."""
        return [rx.set_clipboard("{{ " + reference + " }}"), rx.toast.info(f"Copied {{{{ {reference} }}}}")]
