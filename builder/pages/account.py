"""The account menu in page headers: who is signed in, and "Sign out"."""

from __future__ import annotations

import reflex as rx

from builder.access import open_to_all, signed_in_member
from builder.native_form import native_form


class AccountState(rx.State):
    """The signed-in user's email, for the header."""

    email: str = ""

    @rx.event
    @open_to_all
    def load(self) -> None:
        """Read who the browser's session cookie signs in."""
        member = signed_in_member(self)
        self.email = member.email if member is not None else ""


def account_menu() -> rx.Component:
    """A small menu with the signed-in email and a "Sign out" button (posts to /api/auth/logout)."""
    return rx.cond(
        AccountState.email != "",
        rx.popover.root(
            rx.popover.trigger(
                rx.button(rx.icon("circle-user", size=16), variant="ghost", aria_label="Account",
                          data_testid="account-menu"),
            ),
            rx.popover.content(
                rx.vstack(
                    rx.text("Signed in as", size="1", color_scheme="gray"),
                    rx.text(AccountState.email, size="2", weight="medium", data_testid="account-email"),
                    native_form(
                        rx.button(rx.icon("log-out", size=14), "Sign out", type="submit", variant="soft",
                                  width="100%", data_testid="sign-out"),
                        action="/api/auth/logout", method="post", width="100%",
                    ),
                    spacing="2", min_width="200px",
                ),
                align="end",
            ),
        ),
    )  # fmt: skip
