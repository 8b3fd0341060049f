"""The editor's controls for acting on the run on screen: approve / reject, resume, replay, compare."""

from __future__ import annotations

import reflex as rx

from builder.state.editor import EditorState as State

MONO = {"fontFamily": "monospace", "fontSize": "12px"}
FINISHED = ("succeeded", "failed", "cancelled")


def approval_card(approval: rx.Var) -> rx.Component:
    """One pending approval: its message, a comment box and the two answers."""
    node_id = approval["node_id"].to(str)
    return rx.vstack(
        rx.hstack(rx.badge("waiting", color_scheme="purple"), rx.text("Approval at ", rx.code(node_id), size="2"),
                  align="center"),
        rx.text(approval["message"], size="2", white_space="pre-wrap", data_testid="approval-message"),
        rx.text_area(value=State.approval_comment, on_change=State.set_approval_comment, rows="2", width="100%",
                     placeholder="Comment (optional)", data_testid="approval-comment"),
        rx.hstack(
            rx.button("Approve", color_scheme="green", size="1", on_click=State.decide_approval(node_id, "approve"),
                      data_testid="approve-button"),
            rx.button("Reject", color_scheme="red", variant="soft", size="1",
                      on_click=State.decide_approval(node_id, "reject"), data_testid="reject-button"),
        ),
        width="100%", spacing="2", padding="8px", border_radius="6px", background=rx.color("purple", 2),
        border=f"1px solid {rx.color('purple', 6)}", data_testid="approval-" + node_id,
    )  # fmt: skip


def run_actions() -> rx.Component:
    """Under the run on screen: its pending approvals, and Resume when it failed."""
    return rx.vstack(
        rx.foreach(State.pending_approvals, approval_card),
        rx.cond(
            State.run_status == "failed",
            rx.button(rx.icon("rotate-ccw", size=14), "Resume from the failed node", size="1", variant="soft",
                      on_click=State.resume_run, data_testid="resume-run-button"),
        ),
        width="100%", spacing="2",
    )  # fmt: skip


def replay_controls() -> rx.Component:
    """On a node of a finished run: Replay from here, then an editor for the input it gets."""
    finished = rx.match(State.run_status, *((status, True) for status in FINISHED), False)
    editor = rx.vstack(
        rx.text("Replay from ", rx.code(State.replay_node), " with this input (JSON)", size="2", weight="medium"),
        rx.text_area(value=State.replay_input, on_change=State.set_replay_input, rows="6", width="100%",
                     data_testid="replay-input", style=MONO),
        rx.hstack(rx.button("Replay", size="1", on_click=State.replay, data_testid="replay-start"),
                  rx.button("Cancel", size="1", variant="soft", color_scheme="gray", on_click=State.close_replay)),
        width="100%", spacing="2",
    )  # fmt: skip
    return rx.cond(
        finished & (State.node_detail.length() > 0),
        rx.cond(
            State.replay_node == State.selected_id,
            editor,
            rx.button(rx.icon("history", size=14), "Replay from this node", size="1", variant="soft",
                      on_click=State.open_replay, data_testid="replay-button"),
        ),
    )  # fmt: skip


def _cell(status: rx.Var, output: rx.Var, testid: rx.Var) -> rx.Component:
    return rx.table.cell(
        rx.vstack(rx.text(status, size="1", weight="bold"), rx.text(output, size="1", style=MONO, trim="both"),
                  spacing="0"),
        data_testid=testid,
    )  # fmt: skip


def compare_row(row: rx.Var) -> rx.Component:
    """One node in the compare view."""
    node_id = row["node_id"].to(str)
    return rx.table.row(
        rx.table.row_header_cell(rx.code(node_id, size="1")),
        _cell(row["original_status"], row["original_output"], "compare-original-" + node_id),
        _cell(row["replay_status"], row["replay_output"], "compare-replay-" + node_id),
        data_testid="compare-row-" + node_id,
    )


def compare_view() -> rx.Component:
    """The original run and its replay side by side: each node's status and output in both."""
    return rx.cond(
        State.compare.length() > 0,
        rx.vstack(
            rx.text("Replay compared with the original", size="2", weight="bold"),
            rx.table.root(
                rx.table.header(rx.table.row(rx.table.column_header_cell("Node"),
                                             rx.table.column_header_cell(State.compare_ids["original"].to(str)),
                                             rx.table.column_header_cell(State.compare_ids["replay"].to(str)))),
                rx.table.body(rx.foreach(State.compare, compare_row)),
                size="1", width="100%",
            ),
            width="100%", spacing="1", data_testid="run-compare",
        ),
    )  # fmt: skip
