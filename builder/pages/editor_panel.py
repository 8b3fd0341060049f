"""The editor's node panel: the form generated from the node's Params schema, credentials, help, run details."""

from __future__ import annotations

import reflex as rx

from builder.pages.editor_run_actions import replay_controls
from builder.state.editor import EditorState as State

MONO = {"font_family": "var(--code-font-family, monospace)", "font_size": "12px"}


def _key(field: rx.Var) -> rx.Var:
    return State.form_epoch.to_string() + State.selected_id + field["name"].to(str)


def field_widget(field: rx.Var) -> rx.Component:
    """One parameter's widget, picked by the kind `builder.forms` gave it."""
    name = field["name"].to(str)
    testid = "field-" + name
    blur = {"on_blur": lambda value: State.set_param(name, value), "key": _key(field), "data_testid": testid,
            "default_value": field["value"].to(str), "width": "100%"}  # fmt: skip
    return rx.match(
        field["kind"],
        ("boolean", rx.switch(checked=field["value"] == "true", on_change=lambda on: State.set_flag(name, on),
                              data_testid=testid)),
        ("enum", rx.select(field["options"].to(list[str]), value=field["value"].to(str), data_testid=testid,
                           on_change=lambda value: State.set_param(name, value), width="100%")),
        ("number", rx.input(type="number", step="any", **blur)),
        ("integer", rx.input(type="number", step="1", **blur)),
        ("text", rx.input(**blur)),
        ("textarea", rx.text_area(rows="4", **blur)),
        rx.text_area(rows="4", style=MONO, **blur),
    )  # fmt: skip


def form_field(field: rx.Var) -> rx.Component:
    """Label, widget, help text and the field's error, if any."""
    name = field["name"].to(str)
    return rx.vstack(
        rx.hstack(
            rx.text(field["label"], size="2", weight="medium"),
            rx.cond(field["required"], rx.text("*", color_scheme="red", size="2")),
            rx.text(field["kind"], size="1", color_scheme="gray"),
            spacing="1", align="center",
        ),
        field_widget(field),
        rx.cond(State.field_errors.contains(name), rx.text(State.field_errors[name], color_scheme="red", size="1")),
        rx.text(field["help"], size="1", color_scheme="gray"),
        spacing="1", width="100%",
    )  # fmt: skip


def credential_picker(slot: rx.Var) -> rx.Component:
    """Choose the stored credential (by name) a credential slot uses."""
    return rx.vstack(
        rx.text("Credential: ", slot["slot"], size="2", weight="medium"),
        rx.cond(
            slot["options"].to(list).length() > 0,
            rx.select.root(
                rx.select.trigger(placeholder="Choose a credential", width="100%",
                                  data_testid="credential-" + slot["slot"].to(str)),
                rx.select.content(
                    rx.foreach(slot["options"].to(list[dict[str, str]]),
                               lambda c: rx.select.item(c["name"] + " (" + c["type"] + ")", value=c["id"])),
                ),
                value=slot["value"].to(str), on_change=lambda v: State.set_credential(slot["slot"].to(str), v),
            ),
            rx.text("No matching credential yet: ", rx.link("add one", href="/settings/credentials",
                    data_testid="credential-add-link"), ".", size="1", color_scheme="gray"),
        ),
        spacing="1", width="100%",
    )  # fmt: skip


def scope_list() -> rx.Component:
    """The values expressions in this node can use; a click copies `{{ ... }}`."""
    return rx.vstack(
        rx.text("In scope for expressions", size="2", weight="medium"),
        rx.flex(
            rx.foreach(State.panel_scope, lambda ref: rx.badge(ref, variant="soft", cursor="pointer",
                                                                 on_click=State.copy_reference(ref))),
            wrap="wrap", gap="1",
        ),
        spacing="1", width="100%", data_testid="scope-list",
    )  # fmt: skip


PRE_STYLE = {**MONO, "maxHeight": "220px", "overflow": "auto", "margin": "0", "width": "100%", "padding": "6px",
             "borderRadius": "6px", "background": "var(--gray-3)"}  # fmt: skip


def _pre(label: str, value: rx.Var, testid: str) -> rx.Component:
    return rx.cond(
        value != "",
        rx.vstack(
            rx.text(label, size="1", weight="bold"),
            rx.el.pre(value, custom_attrs={"data-testid": testid}, style=PRE_STYLE),
            spacing="1", width="100%",
        ),
    )  # fmt: skip


def run_detail() -> rx.Component:
    """The selected node in the run on screen: status, timings, input, output, error, live tokens."""
    detail = State.node_detail
    return rx.vstack(
        rx.cond(
            detail.length() > 0,
            rx.vstack(
                rx.hstack(rx.text("Last run", size="2", weight="bold"), rx.badge(detail["status"]),
                          rx.text(detail["duration"], size="1", color_scheme="gray", data_testid="detail-duration"),
                          rx.text("attempt ", detail["attempt"], size="1", color_scheme="gray"), align="center"),
                rx.text("started ", detail["started"], size="1", color_scheme="gray"),
                rx.cond(detail["error"] != "", rx.callout(detail["error"], color_scheme="red", size="1",
                                                           data_testid="detail-error")),
                _pre("Input", detail["input"], "detail-input"),
                _pre("Output", detail["output"], "detail-output"),
                replay_controls(),
                spacing="2", width="100%",
            ),
        ),
        rx.cond(State.tokens != "", rx.vstack(rx.text("Streaming", size="1", weight="bold"),
                                              rx.text(State.tokens, size="2", white_space="pre-wrap",
                                                      data_testid="node-tokens"), width="100%")),
        width="100%", spacing="2",
    )  # fmt: skip


def webhook_address() -> rx.Component:
    """A webhook node's URL with a copy button, or what to do to get one."""
    return rx.vstack(
        rx.text("Webhook URL (POST)", size="2", weight="medium"),
        rx.cond(
            State.panel_hook_url != "",
            rx.hstack(
                rx.code(State.panel_hook_url, size="1", data_testid="webhook-url", style={"word_break": "break-all"}),
                rx.icon_button(rx.icon("copy", size=14), size="1", variant="soft", data_testid="copy-webhook-url",
                               on_click=[rx.set_clipboard(State.panel_hook_url), rx.toast.info("Webhook URL copied")]),
                align="center", width="100%",
            ),
            rx.text("Save the workflow to give this node its URL.", size="1", color_scheme="gray",
                    data_testid="webhook-url-pending"),
        ),
        spacing="1", width="100%",
    )  # fmt: skip


def node_form() -> rx.Component:
    """Everything about the one selected node."""
    return rx.vstack(
        rx.hstack(rx.badge(State.panel_type, variant="surface"), rx.spacer(), width="100%"),
        rx.text(State.panel_help, size="1", color_scheme="gray", data_testid="node-help"),
        rx.cond(State.panel_type == "webhook_trigger", webhook_address()),
        rx.cond(State.panel_issues.length() > 0,
                rx.callout.root(rx.unordered_list(rx.foreach(State.panel_issues, rx.list_item)), color_scheme="red",
                                size="1", width="100%", data_testid="node-issues")),
        rx.text("Title", size="2", weight="medium"),
        rx.input(default_value=State.panel_title, key=State.form_epoch.to_string() + State.selected_id + "title",
                 on_blur=State.set_title, data_testid="node-title", width="100%"),
        rx.text("Id (used in expressions as nodes.<id>)", size="2", weight="medium"),
        rx.input(default_value=State.selected_id, key=State.form_epoch.to_string() + State.selected_id + "id",
                 on_blur=State.set_node_id, data_testid="node-id", width="100%", style=MONO),
        rx.foreach(State.panel_fields, form_field),
        rx.foreach(State.panel_credentials, credential_picker),
        scope_list(),
        run_detail(),
        spacing="3", width="100%",
    )  # fmt: skip


def note_form() -> rx.Component:
    """The selected sticky note's text."""
    return rx.vstack(
        rx.text("Sticky note", size="2", weight="bold"),
        rx.text_area(default_value=State.note_text, key=State.form_epoch.to_string() + State.selected_id,
                     on_blur=State.set_note, rows="8", width="100%", data_testid="note-text"),
        width="100%",
    )  # fmt: skip


def node_panel() -> rx.Component:
    """The panel body for the current selection."""
    # A disabled fieldset disables every input, select and switch inside it: a viewer's panel is read-only.
    return rx.el.fieldset(
        rx.match(
            State.selected_kind,
            ("node", node_form()),
            ("note", note_form()),
            ("multi", rx.text(State.selected_ids.length(), " items selected. Ctrl+C copies them, Delete removes them.",
                              size="2", color_scheme="gray")),
            rx.text("Select a node to edit it. Drag nodes in from the palette; wire an output handle (right) to an "
                    "input handle (left). Shift+drag selects several.", size="2", color_scheme="gray"),
        ),
        disabled=~State.can_write, data_testid="node-panel", width="100%", border="none", padding="0", margin="0",
        min_width="0",
    )  # fmt: skip
