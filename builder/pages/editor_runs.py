"""The editor's runs panel (run input, run history, the run on screen) and version history."""

from __future__ import annotations

import reflex as rx

from builder.pages.editor_run_actions import compare_view, run_actions
from builder.state.editor import EditorState as State

STATUS_COLOURS = {"queued": "amber", "running": "blue", "succeeded": "green", "failed": "red", "cancelled": "gray",
                  "waiting": "purple"}  # fmt: skip


def status_badge(status: rx.Var) -> rx.Component:
    """A run status, coloured."""
    return rx.badge(status, color_scheme=rx.match(status, *STATUS_COLOURS.items(), "gray"), variant="soft")


def run_row(run: rx.Var) -> rx.Component:
    """One run in the history; a click paints it on the canvas."""
    return rx.vstack(
        rx.hstack(status_badge(run["status"]), rx.text(run["created"], size="1"), rx.spacer(),
                  rx.text(run["duration"], size="1", color_scheme="gray"), width="100%", align="center"),
        rx.text(run["trigger"], " · ", run["id"], size="1", color_scheme="gray", trim="both"),
        on_click=State.open_run(run["id"]), cursor="pointer", width="100%", padding="6px 8px", border_radius="6px",
        spacing="1", background=rx.cond(State.run_id == run["id"], rx.color("accent", 3), "transparent"),
        data_testid="run-row-" + run["id"].to(str), data_status=run["status"],
    )  # fmt: skip


def runs_panel() -> rx.Component:
    """Run input editor, the run on screen, and the workflow's run history."""
    return rx.vstack(
        rx.text("Run input (JSON, seen as trigger.body)", size="2", weight="medium"),
        rx.text_area(value=State.run_input, on_change=State.set_run_input, rows="5", width="100%",
                     data_testid="run-input", style={"fontFamily": "monospace", "fontSize": "12px"}),
        rx.cond(
            State.run_id != "",
            rx.hstack(rx.text("On canvas", size="2", white_space="nowrap"), status_badge(State.run_status),
                      rx.spacer(), rx.button("Clear", size="1", variant="soft", color_scheme="gray",
                                             on_click=State.clear_run),
                      width="100%", align="center", data_testid="current-run"),
        ),
        rx.cond(State.run_id != "", run_actions()),
        compare_view(),
        rx.text("Run history", size="2", weight="bold"),
        rx.cond(State.runs.length() > 0, rx.vstack(rx.foreach(State.runs, run_row), spacing="1", width="100%"),
                rx.text("No runs yet.", size="2", color_scheme="gray")),
        spacing="2", width="100%", data_testid="runs-panel",
    )  # fmt: skip


def version_row(version: rx.Var) -> rx.Component:
    """One saved version with its note and a restore button."""
    return rx.hstack(
        rx.badge("v", version["number"], variant="surface"),
        rx.vstack(rx.text(version["created"], size="1"), rx.text(version["note"], size="1", color_scheme="gray"),
                  spacing="0"),
        rx.spacer(),
        rx.button("Restore", size="1", variant="soft", on_click=State.restore_version(version["id"]),
                  data_testid="restore-" + version["number"].to(str)),
        width="100%", align="center", data_testid="version-row",
    )  # fmt: skip


def history_panel() -> rx.Component:
    """The workflow's saved versions, newest first."""
    return rx.vstack(
        rx.text("Saved versions", size="2", weight="bold"),
        rx.foreach(State.versions, version_row),
        spacing="2",
        width="100%",
        data_testid="history-panel",
    )
