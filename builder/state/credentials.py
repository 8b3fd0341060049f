"""State of the credentials page: list (secrets masked), create, edit (secrets write-only), delete.

Admins and editors manage; viewers see names and types only. Nothing here decrypts a credential.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from builder.access import Need, acting_member, guarded, open_to_all
from runtime.credential_types import CREDENTIAL_TYPES, CredentialFieldsInvalid, credential_type
from runtime.credentials import CredentialView, add_credential, credential_views, edit_credential, remove_credential
from runtime.errors import NotFound
from runtime.store import InvalidValueError, Member, get_engine, session_scope

NAME_FIELD = "__name"
"""The form input holding the credential's name (never a type's field name)."""


def credential_row(view: CredentialView, full: bool) -> dict[str, str]:
    """One row of the list; without `full` (viewers) only the name and type are filled in."""
    row = {"id": view.id, "name": view.name, "type": CREDENTIAL_TYPES[view.type].title if view.type in
           CREDENTIAL_TYPES else view.type, "masked": "", "updated": "", "used_by": ""}  # fmt: skip
    if full:
        who = view.updated_by or "command line"
        row["masked"] = view.hint or "—"
        row["updated"] = f"{view.updated_at:%Y-%m-%d %H:%M} by {who}"
        row["used_by"] = ", ".join(name for _id, name in view.used_by) or "—"
    return row


def form_fields(type_id: str, plain: dict[str, Any], editing: bool) -> list[dict[str, str]]:
    """The inputs of a type's form: plain fields prefilled, secret ones always empty."""
    fields = []
    for item in credential_type(type_id).fields:
        keep = "Leave blank to keep the stored value" if editing and item.secret else ""
        value = "" if item.secret else plain.get(item.name, "")
        fields.append({
            "name": item.name, "label": item.label + ("" if item.required else " (optional)"),
            "input_type": "password" if item.secret else "text", "kind": item.kind,
            "placeholder": keep or item.help, "value": "\n".join(value) if isinstance(value, list) else str(value),
        })  # fmt: skip
    return fields


class CredentialsState(rx.State):
    """The credentials of the signed-in member's workspace and the dialogs acting on them."""

    credentials: list[dict[str, str]] = []
    loaded: bool = False
    can_manage: bool = False
    editor_open: bool = False
    editing_id: str = ""
    form_type: str = "openai"
    form_name: str = ""
    form_fields: list[dict[str, str]] = []
    form_error: str = ""
    form_epoch: int = 0
    delete_id: str = ""
    delete_name: str = ""
    delete_used_by: str = ""
    type_options: list[dict[str, str]] = [{"id": kind.id, "title": kind.title} for kind in CREDENTIAL_TYPES.values()]

    @rx.event
    @guarded(Need.READ)
    def load(self) -> None:
        """Page load: the workspace's credentials as the member's role may see them."""
        self._refresh(acting_member())

    def _refresh(self, member: Member) -> None:
        self.loaded, self.can_manage = True, member.may_write
        with session_scope(get_engine()) as session:
            views = credential_views(session, member.workspace_id)
        self.credentials = [credential_row(view, member.may_write) for view in views]

    @rx.event
    @guarded(Need.WRITE)
    def start_create(self) -> None:
        """Open the form for a new credential."""
        self.editing_id, self.form_name, self.form_error = "", "", ""
        self.set_form_type(self.form_type)
        self.editor_open = True

    @rx.event
    @guarded(Need.WRITE)
    def set_form_type(self, type_id: str) -> None:
        """Show the fields of `type_id` in the new-credential form."""
        if type_id not in CREDENTIAL_TYPES:
            return
        self.form_type, self.form_fields = type_id, form_fields(type_id, {}, editing=False)
        self.form_epoch += 1

    @rx.event
    @guarded(Need.WRITE)
    def start_edit(self, credential_id: str) -> None:
        """Open the form for an existing credential: plain fields shown, secret ones blank."""
        with session_scope(get_engine()) as session:
            view = credential_views(session, acting_member().workspace_id, credential_id)[0]
        self.editing_id, self.form_type, self.form_name, self.form_error = view.id, view.type, view.name, ""
        self.form_fields = form_fields(view.type, view.plain_fields, editing=True)
        self.form_epoch += 1
        self.editor_open = True

    @rx.event
    @open_to_all
    def set_editor_open(self, is_open: bool) -> None:
        """Close (or keep open) the credential form."""
        self.editor_open = is_open

    @rx.event
    @guarded(Need.WRITE)
    def save(self, form_data: dict[str, Any]) -> None:
        """Create or update the credential from the submitted form; problems stay in the form."""
        member = acting_member()
        name = str(form_data.get(NAME_FIELD, ""))
        fields = {key: value for key, value in form_data.items() if key != NAME_FIELD}
        try:
            with session_scope(get_engine()) as session:
                if self.editing_id:
                    edit_credential(session, member.workspace_id, member.user_id, self.editing_id, name, fields)
                else:
                    add_credential(session, member.workspace_id, member.user_id, name, self.form_type, fields)
        except (CredentialFieldsInvalid, InvalidValueError, NotFound) as error:
            self.form_error = str(error)
            return
        self.editor_open = False
        self._refresh(member)

    @rx.event
    @guarded(Need.WRITE)
    def ask_delete(self, credential_id: str) -> None:
        """Ask before deleting, naming the workflows that use the credential."""
        row = next((row for row in self.credentials if row["id"] == credential_id), None)
        if row is not None:
            self.delete_id, self.delete_name, self.delete_used_by = row["id"], row["name"], row["used_by"]

    @rx.event
    @open_to_all
    def cancel_delete(self, _open: bool = False) -> None:
        """Close the delete confirmation."""
        self.delete_id = ""

    @rx.event
    @guarded(Need.WRITE)
    def confirm_delete(self) -> None:
        """Delete the credential asked about."""
        member = acting_member()
        delete_id, self.delete_id = self.delete_id, ""
        if delete_id:
            with session_scope(get_engine()) as session:
                remove_credential(session, member.workspace_id, member.user_id, delete_id)
        self._refresh(member)
