"""The workflow editor page: palette, canvas and side panel, with the toolbar above them."""

from __future__ import annotations

import reflex as rx

from builder import routes
from builder.pages.account import account_menu
from builder.pages.editor_panel import node_panel
from builder.pages.editor_runs import history_panel, runs_panel
from builder.pages.palette import palette
from builder.state.editor import EditorState as State
from builder.state.editor.versions import EDITOR_UPLOAD_ID
from components.flow_canvas import flow_canvas

READ_ONLY = ~State.can_write
"""True for a viewer: every control that would change or run the workflow is disabled."""


def tool(icon: str, label: str, testid: str, **props: object) -> rx.Component:
    """A toolbar icon button with a tooltip."""
    return rx.tooltip(
        rx.icon_button(rx.icon(icon, size=16), variant="soft", color_scheme="gray", aria_label=label,
                       data_testid=testid, **props),
        content=label,
    )  # fmt: skip


def save_form() -> rx.Component:
    """A version note (optional) and the Save button."""
    return rx.form(
        rx.hstack(
            rx.input(name="note", placeholder="Version note (optional)", size="2", width="200px",
                     data_testid="save-note"),
            rx.button(rx.icon("save", size=16), "Save", type="submit", data_testid="save-button",
                      variant=rx.cond(State.dirty, "solid", "soft"), disabled=READ_ONLY),
            spacing="2",
        ),
        on_submit=State.save, reset_on_submit=True,
    )  # fmt: skip


def import_button() -> rx.Component:
    """Replace the graph with an uploaded workflow JSON."""
    return rx.upload.root(
        tool("upload", "Import JSON (replaces the graph)", "import-button", disabled=READ_ONLY),
        id=EDITOR_UPLOAD_ID, accept={"application/json": [".json"]}, multiple=False, no_drag=True, disabled=READ_ONLY,
        on_drop=State.import_file(rx.upload_files(upload_id=EDITOR_UPLOAD_ID)),
        custom_attrs={"data-testid": "import-input"},
    )  # fmt: skip


def toolbar() -> rx.Component:
    """Back link, name, edit tools, save, history, import/export and run controls."""
    return rx.hstack(
        rx.link(rx.hstack(rx.icon("arrow-left", size=16), "Workflows", align="center", spacing="1"),
                href=routes.WORKFLOWS, size="2", data_testid="back-link"),
        rx.heading(State.workflow_name, size="4", data_testid="workflow-title", white_space="nowrap", overflow="hidden",
                   text_overflow="ellipsis", max_width="280px", flex_shrink="0"),
        rx.cond(State.dirty, rx.badge("Unsaved changes", color_scheme="amber", data_testid="dirty-badge")),
        rx.cond(READ_ONLY, rx.badge("Read only: your role may look but not change or run", color_scheme="gray",
                                    data_testid="read-only-badge")),
        rx.spacer(),
        tool("undo-2", "Undo (Ctrl+Z)", "undo-button", on_click=State.undo, disabled=~State.can_undo | READ_ONLY),
        tool("redo-2", "Redo (Ctrl+Shift+Z)", "redo-button", on_click=State.redo, disabled=~State.can_redo | READ_ONLY),
        tool("layout-dashboard", "Tidy up", "layout-button", on_click=State.tidy_up, disabled=READ_ONLY),
        tool("sticky-note", "Add a sticky note", "note-button", on_click=State.add_sticky_note,
             disabled=READ_ONLY),
        tool("history", "Version history", "history-button", on_click=State.toggle_history),
        tool("download", "Export JSON (last saved version)", "export-button", on_click=State.export),
        import_button(),
        save_form(),
        rx.cond(
            State.run_status.contains("running") | (State.run_status == "queued"),
            rx.button(rx.icon("square", size=14), "Cancel", color_scheme="red", variant="soft",
                      on_click=State.cancel, data_testid="cancel-button", disabled=READ_ONLY),
        ),
        rx.button(rx.icon("play", size=16), "Run", color_scheme="green", on_click=State.run, data_testid="run-button",
                  disabled=READ_ONLY),
        account_menu(),
        width="100%", padding="8px 12px", align="center", spacing="2",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
    )  # fmt: skip


def problems() -> rx.Component:
    """Validation problems of the document on screen, and of a rejected import."""
    return rx.vstack(
        rx.cond(
            State.import_problems.length() > 0,
            rx.callout.root(
                rx.vstack(
                    rx.hstack(rx.text(State.import_title, weight="bold", size="2"), rx.spacer(),
                              rx.icon_button(rx.icon("x", size=12), size="1", variant="ghost",
                                             on_click=State.dismiss_import_problems), width="100%"),
                    rx.unordered_list(rx.foreach(State.import_problems, rx.list_item)),
                ),
                color_scheme="red", size="1", width="100%", data_testid="import-errors",
            ),
        ),
        rx.cond(
            State.problems.length() > 0,
            rx.callout.root(
                rx.vstack(rx.text(State.problems.length(), " problem(s) to fix before running", weight="bold",
                                  size="2"),
                          rx.unordered_list(rx.foreach(State.problems, rx.list_item)), spacing="1"),
                color_scheme="amber", size="1", width="100%", data_testid="problems",
                max_height="160px", overflow_y="auto",
            ),
        ),
        position="absolute", top="12px", left="12px", width="min(520px, 60%)", z_index="5", spacing="2",
    )  # fmt: skip


def canvas() -> rx.Component:
    """The React Flow canvas, fed from the editor state."""
    return rx.box(
        flow_canvas(
            nodes=State.nodes, edges=State.edges, statuses=State.statuses, status_changes=State.status_changes,
            dirty=State.dirty, fit_nonce=State.fit_nonce, read_only=READ_ONLY, on_nodes_moved=State.nodes_moved,
            on_connect_edge=State.connect_edge, on_drop_node=State.drop_node, on_delete_items=State.delete_items,
            on_select_ids=State.select_ids, on_undo=State.undo, on_redo=State.redo, on_copy_nodes=State.copy_nodes,
            on_paste_text=State.paste_text, on_status_resync=State.resync_statuses, on_focus_node=State.focus_node,
        ),
        problems(),
        flex="1", height="100%", position="relative", data_testid="canvas",
    )  # fmt: skip


def side_panel() -> rx.Component:
    """Node, runs and history tabs."""
    return rx.tabs.root(
        rx.tabs.list(
            rx.tabs.trigger("Node", value="node", data_testid="tab-node"),
            rx.tabs.trigger("Runs", value="runs", data_testid="tab-runs"),
            rx.tabs.trigger("History", value="history", data_testid="tab-history"),
        ),
        rx.tabs.content(node_panel(), value="node", padding="12px"),
        rx.tabs.content(runs_panel(), value="runs", padding="12px"),
        rx.tabs.content(history_panel(), value="history", padding="12px"),
        value=State.side_tab, on_change=State.set_side_tab,
        width="340px", min_width="340px", height="100%", overflow_y="auto",
        border_left=f"1px solid {rx.color('gray', 5)}",
    )  # fmt: skip


def editor_page() -> rx.Component:
    """The whole editor for one workflow."""
    return rx.cond(
        State.not_found != "",
        rx.center(rx.vstack(rx.heading("Workflow not found"), rx.text(State.not_found),
                            rx.link("Back to the workflows", href=routes.WORKFLOWS)), padding="4em"),
        rx.vstack(
            toolbar(),
            rx.hstack(palette(), canvas(), side_panel(), spacing="0", width="100%", flex="1", min_height="0"),
            spacing="0", height="100vh", width="100%",
        ),
    )  # fmt: skip
