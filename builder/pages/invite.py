"""The invite page: join a workspace by setting a name and password, or with one click when signed in.

The forms are plain HTML posts to `/api/invites/<token>`, whose answer sets the session cookie.
"""

from __future__ import annotations

import reflex as rx

from builder.access import LOGIN_ROUTE
from builder.state.invite import InviteState as State
from components.native_form import native_form


def join_form(*fields: rx.Component, label: str) -> rx.Component:
    """A form posting to the invite route, with `fields` above its submit button."""
    return native_form(
        rx.vstack(*fields, rx.button(label, type="submit", size="3", data_testid="invite-join"),
                  spacing="3", width="100%"),
        method="post", action="/api/invites/" + State.token, width="100%",
    )  # fmt: skip


def new_account_form() -> rx.Component:
    """Name and password for a new account under the invited email."""
    return join_form(
        rx.input(name="name", placeholder="Your name", required=True, max_length=200, width="100%",
                 data_testid="invite-name"),
        rx.input(name="password", type="password", placeholder="Password (at least 12 characters)", required=True,
                 min_length=12, max_length=1024, width="100%", data_testid="invite-password"),
        label="Set password and join",
    )  # fmt: skip


def choose_path() -> rx.Component:
    """One click when signed in as the invited email; sign in first when the email has an account; else sign up."""
    return rx.cond(
        State.signed_in_as == State.email,
        join_form(rx.text("You are signed in as ", State.email, "."), label="Join"),
        rx.cond(
            State.has_account,
            rx.text("An account exists for ", State.email, ": ",
                    rx.link("sign in", href=LOGIN_ROUTE + "?next=/invite/" + State.token), " first, then accept."),
            new_account_form(),
        ),
    )  # fmt: skip


def invite_page() -> rx.Component:
    """What the invited person sees when they open their link."""
    return rx.center(
        rx.card(
            rx.cond(
                State.found,
                rx.vstack(
                    rx.heading("Join ", State.workspace_name, size="5", data_testid="invite-workspace"),
                    rx.text("You are invited as ", rx.badge(State.role, data_testid="invite-role"), " (",
                            State.email, ").", size="2"),
                    rx.cond(State.error != "", rx.callout(State.error, color_scheme="red", size="1",
                                                          data_testid="invite-error")),
                    choose_path(),
                    spacing="4", width="100%",
                ),
                rx.text(State.problem, data_testid="invite-problem"),
            ),
            width="420px", padding="1.5em",
        ),
        padding_top="10vh",
    )  # fmt: skip
