"""The members page (`/settings/members`, admins): members, roles, invitations by link."""

from __future__ import annotations

import reflex as rx

from builder.pages.settings_frame import role_badge, settings_frame
from builder.state.members import MembersState as State


def role_cell(member: rx.Var) -> rx.Component:
    """A role picker when the admin may change this member's role, a badge otherwise."""
    return rx.cond(
        State.grantable.contains(member["role"]),
        rx.select.root(
            rx.select.trigger(data_testid="role-select"),
            rx.select.content(rx.foreach(State.grantable, lambda role: rx.select.item(role, value=role))),
            value=member["role"].to(str), size="1", on_change=lambda role: State.set_role(member["id"], role),
        ),
        role_badge(member["role"]),
    )  # fmt: skip


def member_row(member: rx.Var) -> rx.Component:
    """One member with their role and a remove button."""
    return rx.table.row(
        rx.table.row_header_cell(rx.hstack(rx.text(member["email"], data_testid="member-email"),
                                           rx.cond(member["is_me"] != "", rx.badge("you", color_scheme="gray")))),
        rx.table.cell(member["name"]),
        rx.table.cell(role_cell(member)),
        rx.table.cell(member["joined"]),
        rx.table.cell(rx.button("Remove", size="1", variant="soft", color_scheme="red",
                                on_click=State.remove(member["id"]), data_testid="remove-member")),
        data_testid="member-row", class_name="member-row",
    )  # fmt: skip


def invite_form() -> rx.Component:
    """Email and role in, a link to send out."""
    return rx.form(
        rx.hstack(
            rx.input(name="email", type="email", placeholder="name@example.com", required=True, width="260px",
                     data_testid="invite-email"),
            rx.select(State.grantable, name="role", default_value="editor", data_testid="invite-role"),
            rx.button(rx.icon("user-plus", size=16), "Create invite link", type="submit",
                      data_testid="invite-submit"),
            spacing="3", align="center",
        ),
        on_submit=State.invite, reset_on_submit=True,
    )  # fmt: skip


def invite_link() -> rx.Component:
    """The last invitation link, to copy and send (Trellis sends no email)."""
    return rx.cond(
        State.invite_link != "",
        rx.callout.root(
            rx.vstack(
                rx.text("Trellis sends no email: copy this link and send it to them yourself. "
                        "It works once and expires in 7 days.", size="2"),
                rx.hstack(
                    rx.code(State.invite_link, data_testid="invite-link", style={"word_break": "break-all"}),
                    rx.icon_button(rx.icon("copy", size=14), size="1", variant="soft", data_testid="copy-invite-link",
                                   on_click=[rx.set_clipboard(State.invite_link), rx.toast.info("Link copied")]),
                    align="center",
                ),
            ),
            width="100%",
        ),
    )  # fmt: skip


def members_page() -> rx.Component:
    """Everything an admin manages about who is in the workspace."""
    return settings_frame(
        "Members", "users", State.loaded,
        rx.heading("Invite someone", size="3"),
        invite_form(),
        rx.cond(State.invite_error != "", rx.text(State.invite_error, color_scheme="red", size="2",
                                                  data_testid="invite-error")),
        invite_link(),
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                           ("Email", "Name", "Role", "Joined", "")])),
            rx.table.body(rx.foreach(State.members, member_row)),
            width="100%", data_testid="member-list",
        ),
        rx.cond(State.invites.length() > 0, rx.vstack(
            rx.heading("Pending invitations", size="3"),
            rx.foreach(State.invites, lambda i: rx.text(i["email"], " · ", i["role"], " · expires ", i["expires"],
                                                        size="2", data_testid="pending-invite")),
        )),
    )  # fmt: skip
