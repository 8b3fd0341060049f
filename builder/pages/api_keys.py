"""The API keys page (`/settings/api-keys`, admins): create, list and revoke REST API keys."""

from __future__ import annotations

import reflex as rx

from builder.pages.settings_frame import role_badge, settings_frame
from builder.state.api_keys import ApiKeysState as State


def create_form() -> rx.Component:
    """Name and role of a new key."""
    return rx.form(
        rx.hstack(
            rx.input(name="name", placeholder="Key name, e.g. ci", required=True, max_length=200, width="220px",
                     data_testid="key-name"),
            rx.select(State.roles, name="role", default_value="viewer", data_testid="key-role"),
            rx.button(rx.icon("key-round", size=16), "Create key", type="submit", data_testid="key-submit"),
            spacing="3", align="center",
        ),
        on_submit=State.create, reset_on_submit=True,
    )  # fmt: skip


def new_key() -> rx.Component:
    """The key just created, shown this once with a copy button."""
    return rx.cond(
        State.new_key != "",
        rx.callout.root(
            rx.vstack(
                rx.text("Copy the key now: only its hash is kept, so it cannot be shown again.", size="2"),
                rx.hstack(
                    rx.code(State.new_key, data_testid="new-key", style={"word_break": "break-all"}),
                    rx.icon_button(rx.icon("copy", size=14), size="1", variant="soft", data_testid="copy-new-key",
                                   on_click=[rx.set_clipboard(State.new_key), rx.toast.info("Key copied")]),
                    rx.button("Done", size="1", variant="soft", on_click=State.forget_new_key),
                    align="center",
                ),
            ),
            color_scheme="green", width="100%",
        ),
    )  # fmt: skip


def key_row(key: rx.Var) -> rx.Component:
    """One key: name, last four characters, role, dates, revoke."""
    return rx.table.row(
        rx.table.row_header_cell(key["name"]),
        rx.table.cell(rx.code("…" + key["last_four"].to(str))),
        rx.table.cell(role_badge(key["role"])),
        rx.table.cell(key["created"]),
        rx.table.cell(key["last_used"]),
        rx.table.cell(rx.cond(
            key["revoked"] != "",
            rx.text("revoked ", key["revoked"], size="1", color_scheme="gray"),
            rx.button("Revoke", size="1", variant="soft", color_scheme="red", on_click=State.revoke(key["id"]),
                      data_testid="revoke-key"),
        )),
        class_name="key-row",
    )  # fmt: skip


def api_keys_page() -> rx.Component:
    """The workspace's REST API keys."""
    return settings_frame(
        "API keys", "key-round", State.loaded,
        rx.text("Keys authenticate the REST API (/api/v1) as `Authorization: Bearer <key>` and act in this "
                "workspace with their role.", size="2", color_scheme="gray"),
        create_form(),
        rx.cond(State.error != "", rx.text(State.error, color_scheme="red", size="2", data_testid="key-error")),
        new_key(),
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                           ("Name", "Key", "Role", "Created", "Last used", "")])),
            rx.table.body(rx.foreach(State.keys, key_row)),
            width="100%", data_testid="key-list",
        ),
    )  # fmt: skip
