"""The credentials page (`/settings/credentials`): the workspace's secrets by name, masked, and the forms
that create, edit and delete them."""

import reflex as rx

from builder import routes
from builder.state.credentials import NAME_FIELD
from builder.state.credentials import CredentialsState as State


def field_input(field: rx.Var[dict[str, str]]) -> rx.Component:
    """One input of the credential form; secret ones are password inputs that start empty."""
    name, value, hint = field["name"].to(str), field["value"].to(str), field["placeholder"].to(str)
    testid = "credential-field-" + name
    return rx.vstack(
        rx.text(field["label"], size="2", weight="medium"),
        rx.cond(
            field["kind"] == "list",
            rx.text_area(name=name, default_value=value, placeholder=hint, width="100%", data_testid=testid),
            rx.input(name=name, default_value=value, type=field["input_type"].to(str), placeholder=hint,
                     auto_complete="off", width="100%", data_testid=testid),
        ),
        spacing="1", width="100%",
    )  # fmt: skip


def type_choice() -> rx.Component:
    """The type of a new credential (an existing one keeps its type)."""
    return rx.cond(
        State.editing_id == "",
        rx.select.root(
            rx.select.trigger(width="100%", data_testid="credential-type-select"),
            rx.select.content(
                rx.foreach(State.type_options, lambda t: rx.select.item(t["title"], value=t["id"])),
            ),
            value=State.form_type, on_change=State.set_form_type,
        ),
        rx.text("Type: ", State.form_type, size="2", color_scheme="gray"),
    )  # fmt: skip


def credential_form() -> rx.Component:
    """Create or edit a credential; secret fields are write-only."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(State.editing_id == "", "New credential", "Edit credential")),
            rx.form(
                rx.vstack(
                    rx.input(name=NAME_FIELD, default_value=State.form_name, placeholder="Name, e.g. Team OpenAI key",
                             required=True, max_length=200, width="100%", data_testid="credential-name-input"),
                    type_choice(),
                    rx.foreach(State.form_fields, field_input),
                    rx.cond(State.form_error != "", rx.text(State.form_error, color_scheme="red", size="2",
                                                            data_testid="credential-form-error")),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                        rx.button("Save", type="submit", data_testid="credential-save"),
                        justify="end", width="100%",
                    ),
                    spacing="3",
                ),
                key=State.form_epoch.to(str), on_submit=State.save, reset_on_submit=False,
            ),
        ),
        open=State.editor_open,
        on_open_change=State.set_editor_open,
    )  # fmt: skip


def delete_dialog() -> rx.Component:
    """The confirmation before a credential is deleted, naming the workflows that use it."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete credential?"),
            rx.alert_dialog.description("“", State.delete_name, "” will be deleted. Used by: ", State.delete_used_by,
                                        ". Runs of those workflows will fail until another credential is chosen.",
                                        data_testid="delete-credential-usage"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button("Delete", color_scheme="red", on_click=State.confirm_delete,
                                                 data_testid="confirm-delete-credential")),
                justify="end", spacing="3", mt="4",
            ),
        ),
        open=State.delete_id != "",
        on_open_change=State.cancel_delete,
    )  # fmt: skip


def credential_row(row: rx.Var[dict[str, str]]) -> rx.Component:
    """One credential: name and type for everyone; masked value, changes, use and actions for managers."""
    return rx.table.row(
        rx.table.row_header_cell(rx.text(row["name"], weight="medium", data_testid="credential-name")),
        rx.table.cell(rx.text(row["type"], size="2")),
        rx.cond(State.can_manage, rx.fragment(
            rx.table.cell(rx.code(row["masked"], data_testid="credential-masked")),
            rx.table.cell(rx.text(row["updated"], size="2", color_scheme="gray")),
            rx.table.cell(rx.text(row["used_by"], size="2", data_testid="credential-used-by")),
            rx.table.cell(rx.hstack(
                rx.icon_button(rx.icon("pencil", size=15), variant="ghost", aria_label="Edit",
                               on_click=State.start_edit(row["id"]), data_testid="credential-edit-button"),
                rx.icon_button(rx.icon("trash-2", size=15), variant="ghost", color_scheme="red", aria_label="Delete",
                               on_click=State.ask_delete(row["id"]), data_testid="credential-delete-button"),
                spacing="3", justify="end",
            )),
        )),
        data_testid="credential-row-" + row["id"].to(str),
    )  # fmt: skip


def credential_table() -> rx.Component:
    """Every credential of the workspace, by name."""
    manager_columns = rx.fragment(
        *(rx.table.column_header_cell(title) for title in ("Value", "Updated", "Used by", ""))
    )
    return rx.table.root(
        rx.table.header(rx.table.row(
            rx.table.column_header_cell("Name"), rx.table.column_header_cell("Type"),
            rx.cond(State.can_manage, manager_columns),
        )),
        rx.table.body(rx.foreach(State.credentials, credential_row)),
        width="100%", data_testid="credential-list",
    )  # fmt: skip


def credentials_page() -> rx.Component:
    """The page listing the workspace's credentials."""
    return rx.container(
        rx.vstack(
            rx.hstack(
                rx.link(rx.icon("arrow-left", size=18), href=routes.WORKFLOWS, aria_label="Workflows"),
                rx.icon("key-round", size=26), rx.heading("Credentials", size="7"), rx.spacer(),
                rx.cond(State.can_manage, rx.button(rx.icon("plus", size=16), "New credential",
                                                    on_click=State.start_create, data_testid="new-credential-button")),
                width="100%", align="center",
            ),
            rx.text("Secrets are encrypted at rest and never shown again after saving; nodes name a credential, "
                    "and only the worker running a node decrypts it.", color_scheme="gray", size="2"),
            rx.cond(State.loaded, credential_table(), rx.center(rx.spinner(size="3"), padding="4em")),
            credential_form(),
            delete_dialog(),
            spacing="5", width="100%",
        ),
        size="3", padding_y="2em",
    )  # fmt: skip
