"""The audit log page (`/settings/audit`, admins): who did what, filtered by action, actor and dates."""

from __future__ import annotations

import reflex as rx

from builder.pages.settings_frame import settings_frame
from builder.state.audit import AuditState as State


def filters() -> rx.Component:
    """Action, actor and date range; applying them goes back to the first page."""
    return rx.form(
        rx.hstack(
            rx.select(State.actions, name="action", default_value="any", data_testid="filter-action"),
            rx.select.root(
                rx.select.trigger(data_testid="filter-actor"),
                rx.select.content(rx.foreach(State.actors, lambda a: rx.select.item(a["email"], value=a["id"]))),
                name="actor", default_value="any",
            ),
            rx.input(type="date", name="date_from", data_testid="filter-from"),
            rx.input(type="date", name="date_to", data_testid="filter-to"),
            rx.button("Filter", type="submit", data_testid="filter-submit"),
            spacing="3", align="center", wrap="wrap",
        ),
        on_submit=State.apply_filters, reset_on_submit=False,
    )  # fmt: skip


def event_row(event: rx.Var) -> rx.Component:
    """One audit event."""
    return rx.table.row(
        rx.table.cell(rx.text(event["when"], size="1")),
        rx.table.cell(event["actor"]),
        rx.table.cell(rx.code(event["action"], data_testid="audit-action")),
        rx.table.cell(rx.text(event["target"], size="1")),
        rx.table.cell(rx.text(event["details"], size="1", color_scheme="gray")),
        class_name="audit-row",
    )  # fmt: skip


def audit_page() -> rx.Component:
    """The workspace's audit trail, newest first."""
    return settings_frame(
        "Audit log", "scroll-text", State.loaded,
        filters(),
        rx.cond(State.error != "", rx.text(State.error, color_scheme="red", size="2", data_testid="audit-error")),
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                           ("When", "Who", "Action", "Target", "Details")])),
            rx.table.body(rx.foreach(State.events, event_row)),
            width="100%", data_testid="audit-list",
        ),
        rx.hstack(
            rx.button("Newer", size="1", variant="soft", disabled=State.page == 0, on_click=State.turn_page(-1),
                      data_testid="audit-newer"),
            rx.text("Page ", State.page + 1, size="2"),
            rx.button("Older", size="1", variant="soft", disabled=~State.has_more, on_click=State.turn_page(1),
                      data_testid="audit-older"),
            align="center", spacing="3",
        ),
    )  # fmt: skip
