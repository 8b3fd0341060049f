"""The frame every workspace settings page shares: a back link, a title and the page body."""

from __future__ import annotations

import reflex as rx

from builder import routes


def settings_frame(title: str, icon: str, loaded: rx.Var[bool], *body: rx.Component) -> rx.Component:
    """A settings page; until `loaded` (an admin's load went through) it says who may see it."""
    return rx.container(
        rx.vstack(
            rx.link(rx.hstack(rx.icon("arrow-left", size=16), "Workflows", align="center", spacing="1"),
                    href=routes.WORKFLOWS, size="2", data_testid="back-link"),
            rx.hstack(rx.icon(icon, size=24), rx.heading(title, size="6"), align="center"),
            rx.cond(loaded, rx.vstack(*body, spacing="4", width="100%"),
                    rx.text("Only the workspace's owners and admins can see this page.", color_scheme="gray",
                            data_testid="admins-only")),
            spacing="4", width="100%",
        ),
        size="3", padding_y="2em",
    )  # fmt: skip


def role_badge(role: rx.Var) -> rx.Component:
    """A role shown as a small badge."""
    return rx.badge(role, variant="surface", data_testid="role-badge")
