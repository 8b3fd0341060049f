"""The workflow list page: the first thing a user sees."""

import reflex as rx
from reflex.event import EventSpec, EventType

from builder import routes
from builder.pages.account import account_menu
from builder.state.workflows import WorkflowListState as State

IMPORT_UPLOAD_ID = "import-workflow"
READ_ONLY = ~State.can_write
"""True for a viewer: create, import, rename, duplicate and delete are disabled."""
EDITOR_PREFIX = routes.editor_url("")


def import_button() -> rx.Component:
    """A file picker that imports the chosen JSON documents at once."""
    return rx.upload.root(
        rx.button(rx.icon("upload", size=16), "Import JSON", variant="soft", disabled=READ_ONLY),
        id=IMPORT_UPLOAD_ID,
        disabled=READ_ONLY,
        accept={"application/json": [".json"]},
        multiple=True,
        no_drag=True,
        on_drop=State.import_files(rx.upload_files(upload_id=IMPORT_UPLOAD_ID)),
        custom_attrs={"data-testid": "import-input"},
    )


def name_form(on_submit: EventType[()], default: rx.Var[str] | str, submit_label: str) -> rx.Component:
    """A one-field form for a workflow name, with the last error under it."""
    return rx.form(
        rx.vstack(
            rx.input(name="name", default_value=default, placeholder="Workflow name", auto_focus=True,
                     required=True, max_length=200, width="100%", data_testid="name-input"),
            rx.cond(State.dialog_error != "", rx.text(State.dialog_error, color_scheme="red", size="2")),
            rx.hstack(
                rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                rx.button(submit_label, type="submit", data_testid="name-submit"),
                justify="end", width="100%",
            ),
            spacing="3",
        ),
        on_submit=on_submit,
        reset_on_submit=False,
    )  # fmt: skip


def create_dialog() -> rx.Component:
    """The new-workflow dialog."""
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(rx.icon("plus", size=16), "New workflow", data_testid="new-workflow-button", disabled=READ_ONLY)
        ),
        rx.dialog.content(
            rx.dialog.title("New workflow"),
            rx.dialog.description("It starts with a manual trigger wired to an output.", size="2", mb="3"),
            name_form(State.create, "", "Create"),
        ),
        open=State.create_open,
        on_open_change=State.set_create_open,
    )


def rename_dialog() -> rx.Component:
    """The rename dialog, open while a workflow is being renamed."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Rename workflow"),
            rx.box(name_form(State.rename, State.rename_value, "Rename"), key=State.rename_id),
        ),
        open=State.rename_id != "",
        on_open_change=State.cancel_rename,
    )


def delete_dialog() -> rx.Component:
    """The confirmation shown before a workflow is deleted."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete workflow?"),
            rx.alert_dialog.description(
                "“", State.delete_name, "” and all its versions and runs will be deleted. This cannot be undone."
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button("Delete", color_scheme="red", on_click=State.confirm_delete,
                              data_testid="confirm-delete"),
                ),
                justify="end", spacing="3", mt="4",
            ),
        ),
        open=State.delete_id != "",
        on_open_change=State.cancel_delete,
    )  # fmt: skip


def import_problems() -> rx.Component:
    """Every problem of the last rejected import, listed at once."""
    return rx.cond(
        State.import_problems.length() > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle-alert")),
            rx.vstack(
                rx.hstack(
                    rx.text(State.import_title, weight="bold"),
                    rx.spacer(),
                    rx.icon_button(rx.icon("x", size=14), variant="ghost", size="1",
                                   on_click=State.dismiss_import_problems, aria_label="Dismiss"),
                    width="100%",
                ),
                rx.unordered_list(rx.foreach(State.import_problems, rx.list_item)),
                width="100%",
            ),
            color_scheme="red",
            width="100%",
            data_testid="import-errors",
        ),
    )  # fmt: skip


def action_button(icon: str, label: str, on_click: EventSpec, testid: str, **props: str | rx.Var) -> rx.Component:
    """A small labelled icon button for a row action."""
    return rx.tooltip(
        rx.icon_button(rx.icon(icon, size=15), variant="ghost", size="2", on_click=on_click,
                       aria_label=label, data_testid=testid, **props),
        content=label,
    )  # fmt: skip


def workflow_row(workflow: rx.Var[dict[str, str]]) -> rx.Component:
    """One workflow with its actions."""
    workflow_id, name = workflow["id"], workflow["name"]
    return rx.table.row(
        rx.table.row_header_cell(
            rx.link(rx.text(name, weight="medium", data_testid="workflow-name"), href=EDITOR_PREFIX + workflow_id,
                    color_scheme="gray", high_contrast=True),
            rx.text(workflow["description"], color_scheme="gray", size="1", max_width="36em", trim="both"),
            rx.code(workflow_id, variant="ghost", color_scheme="gray", size="1", title="Workflow id (for the CLI)"),
        ),
        rx.table.cell(rx.text(workflow["updated"], color_scheme="gray", size="2")),
        rx.table.cell(
            rx.hstack(
                rx.link(rx.button(rx.icon("pencil-ruler", size=15), "Open", size="1", variant="soft"),
                        href=EDITOR_PREFIX + workflow_id, data_testid="open-button"),
                action_button("pencil", "Rename", State.start_rename(workflow_id, name), "rename-button",
                              disabled=READ_ONLY),
                action_button("copy", "Duplicate", State.duplicate(workflow_id), "duplicate-button",
                              disabled=READ_ONLY),
                action_button("download", "Export JSON", State.export(workflow_id), "export-button"),
                action_button("trash-2", "Delete", State.ask_delete(workflow_id, name), "delete-button",
                              color_scheme="red", disabled=READ_ONLY),
                spacing="3", justify="end",
            ),
        ),
        data_testid="workflow-row-" + workflow_id,
        class_name="workflow-row",
    )  # fmt: skip


def empty_state() -> rx.Component:
    """What the page says when there is no workflow yet."""
    return rx.center(
        rx.vstack(
            rx.icon("workflow", size=40, color=rx.color("gray", 9)),
            rx.heading("No workflows yet", size="5"),
            rx.text(
                "Create one with “New workflow”, or import a workflow JSON file "
                "(the examples/ folder has a few to start from).",
                color_scheme="gray", text_align="center", max_width="28em",
            ),
            rx.hstack(create_dialog(), import_button(), spacing="3"),
            align="center", spacing="3",
        ),
        padding="4em", border=f"1px dashed {rx.color('gray', 6)}", border_radius="12px",
        data_testid="empty-state",
    )  # fmt: skip


def workflow_table() -> rx.Component:
    """The table of workflows, newest first."""
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("Name"),
                rx.table.column_header_cell("Last saved"),
                rx.table.column_header_cell(""),
            )
        ),
        rx.table.body(rx.foreach(State.workflows, workflow_row)),
        width="100%",
        data_testid="workflow-list",
    )


def workspace_switcher() -> rx.Component:
    """Pick the workspace to act in (shown when the user belongs to several)."""
    return rx.select.root(
        rx.select.trigger(data_testid="workspace-switcher", variant="ghost"),
        rx.select.content(rx.foreach(State.workspaces, lambda w: rx.select.item(w["name"], value=w["id"]))),
        value=State.workspace_id, on_change=State.switch_workspace, size="2",
    )  # fmt: skip


def settings_links() -> rx.Component:
    """Links to the workspace's admin pages (shown to owners and admins only)."""
    return rx.hstack(
        rx.link("Members", href=routes.MEMBERS, size="2", data_testid="members-link"),
        rx.link("API keys", href=routes.API_KEYS, size="2", data_testid="api-keys-link"),
        rx.link("Audit log", href=routes.AUDIT, size="2", data_testid="audit-link"),
        spacing="4", align="center",
    )  # fmt: skip


def workflows_page() -> rx.Component:
    """The page listing the workspace's workflows."""
    return rx.container(
        rx.vstack(
            rx.hstack(
                rx.hstack(rx.icon("git-fork", size=26), rx.heading("Workflows", size="7"),
                          rx.cond(State.workspaces.length() > 1, workspace_switcher()), align="center"),
                rx.spacer(),
                rx.link(rx.button(rx.icon("key-round", size=16), "Credentials", variant="soft", color_scheme="gray"),
                        href=routes.CREDENTIALS, data_testid="credentials-link"),
                rx.cond(State.can_admin, settings_links()),
                rx.cond(State.workflows.length() > 0, rx.hstack(import_button(), create_dialog(), spacing="3")),
                account_menu(),
                width="100%", align="center",
            ),
            import_problems(),
            rx.cond(
                State.loaded,
                rx.cond(State.workflows.length() > 0, workflow_table(), empty_state()),
                rx.center(rx.spinner(size="3"), padding="4em"),
            ),
            rename_dialog(),
            delete_dialog(),
            spacing="5", width="100%",
        ),
        size="3", padding_y="2em",
    )  # fmt: skip
