"""The sign-in pages: `/login` (email and password, or the identity provider) and first-run `/setup`."""

from __future__ import annotations

import reflex as rx

from builder.native_form import native_form
from builder.state.signin import LoginState, SetupState
from runtime.auth.passwords import MIN_PASSWORD_LENGTH


def field(label: str, name: str, testid: str, **props: str | int | bool) -> rx.Component:
    """A labelled input the browser posts as `name`."""
    return rx.vstack(
        rx.text(label, as_="label", size="2", weight="medium", html_for=testid),
        rx.input(name=name, id=testid, data_testid=testid, width="100%", size="3", **props),
        spacing="1", width="100%",
    )  # fmt: skip


def error_callout(message: rx.Var[str], testid: str) -> rx.Component:
    """The error of the last attempt, when there is one."""
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle-alert", color_scheme="red", role="alert", data_testid=testid, width="100%"),
    )


def card(title: str, subtitle: str, *children: rx.Component) -> rx.Component:
    """A narrow centred card with a heading."""
    return rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(rx.icon("git-fork", size=24), rx.heading(title, size="6"), align="center"),
                rx.text(subtitle, color_scheme="gray", size="2"),
                *children,
                spacing="4", width="100%",
            ),
            size="4", width="min(420px, 92vw)",
        ),
        min_height="100vh", background=rx.color("gray", 2),
    )  # fmt: skip


def login_page() -> rx.Component:
    """Email and password, and "Sign in with <provider>" when OIDC is configured."""
    return card(
        "Sign in to Trellis", "Use the account your Trellis owner gave you.",
        error_callout(LoginState.error, "login-error"),
        native_form(
            rx.vstack(
                field("Email", "email", "login-email", type="email", required=True, auto_complete="username"),
                field("Password", "password", "login-password", type="password", required=True,
                      auto_complete="current-password"),
                rx.el.input(type="hidden", name="next", value=LoginState.next_path),
                rx.button("Sign in", type="submit", size="3", width="100%", data_testid="login-submit"),
                spacing="3", width="100%",
            ),
            action="/api/auth/login", method="post", width="100%",
        ),
        rx.cond(
            LoginState.oidc_name != "",
            rx.vstack(
                rx.separator(size="4"),
                # A form, not a link: Reflex turns links into in-app routes, and this must load the API URL.
                native_form(
                    rx.el.input(type="hidden", name="next", value=LoginState.next_path),
                    rx.button("Sign in with ", LoginState.oidc_name, type="submit", variant="outline", size="3",
                              width="100%", data_testid="oidc-login"),
                    action="/api/auth/oidc/login", method="get", width="100%",
                ),
                spacing="3", width="100%",
            ),
        ),
    )  # fmt: skip


def setup_page() -> rx.Component:
    """First run: the owner's email, password (twice) and the workspace name."""
    return card(
        "Set up Trellis", "Create the owner account. Workflows already imported stay in the workspace.",
        error_callout(SetupState.error, "setup-error"),
        native_form(
            rx.vstack(
                field("Your email", "email", "setup-email", type="email", required=True, auto_complete="username"),
                field(f"Password (at least {MIN_PASSWORD_LENGTH} characters)", "password", "setup-password",
                      type="password", required=True, min_length=MIN_PASSWORD_LENGTH, auto_complete="new-password"),
                field("Password again", "confirm", "setup-confirm", type="password", required=True,
                      auto_complete="new-password"),
                field("Workspace name", "workspace_name", "setup-workspace", required=True,
                      default_value="My workspace"),
                rx.el.input(type="hidden", name="token", value=SetupState.token),
                rx.button("Create the owner account", type="submit", size="3", width="100%",
                          data_testid="setup-submit"),
                spacing="3", width="100%",
            ),
            action="/api/auth/setup", method="post", width="100%",
        ),
    )  # fmt: skip
