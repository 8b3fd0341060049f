"""Acting on the run on screen: approve or reject its pending approval, resume it after a failure, replay it
from a node with an edited input and compare the replay with the original side by side."""

from __future__ import annotations

import json
from typing import Any

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from builder.access import Need, acting_member, acting_workspace_id, guarded, open_to_all
from builder.state.editor.runs import RunsMixin
from runtime.approvals.decide import AlreadyDecided, Decider, RunEnded, decide
from runtime.config import get_settings
from runtime.errors import WorkflowError
from runtime.events import Event
from runtime.executor import reruns
from runtime.executor.replays import NotReplayable, latest_node_runs
from runtime.executor.reruns import NotResumable
from runtime.store import NodeRun, Run, get_engine, session_scope
from runtime.store.approvals import run_approvals


def _short(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, default=str)[:300]


def compare_row(node_id: str, original: dict[str, NodeRun], replay: dict[str, NodeRun]) -> dict[str, str]:
    """One line of the compare view: the node's status and output in the original run and in the replay."""
    row = {"node_id": node_id}
    for side, runs in (("original", original), ("replay", replay)):
        node_run = runs.get(node_id)
        row[f"{side}_status"] = str(node_run.status) if node_run else ""
        row[f"{side}_output"] = _short(node_run.output) if node_run else ""
    return row


class RunActionsMixin(RunsMixin, mixin=True):
    """Approve / reject, resume, replay and the compare view, for the run on screen."""

    pending_approvals: list[dict[str, str]] = []
    approval_comment: str = ""
    replay_node: str = ""
    replay_input: str = ""
    compare: list[dict[str, str]] = []
    compare_ids: dict[str, str] = {}

    def _open(self, run_id: str) -> None:
        super()._open(run_id)
        with session_scope(get_engine()) as session:
            self.pending_approvals = [
                {"node_id": a.node_id, "message": a.message}
                for a in run_approvals(session, acting_workspace_id(), run_id) if a.is_open
            ]  # fmt: skip
            run = session.get(Run, run_id)
            if run is not None and run.replay_of:
                self._fill_compare(session, run.replay_of, run.id)
            elif self.compare_ids.get("original") != run_id:
                self.compare, self.compare_ids = [], {}

    def _on_events(self, events: list[Event]) -> None:
        super()._on_events(events)
        if any(event.type == "run_waiting" for event in events):  # show the approval it waits for
            self._open(self.run_id)

    def _fill_compare(self, session: Session, original_id: str, replay_id: str) -> None:
        workspace_id = acting_workspace_id()
        runs = [latest_node_runs(session, workspace_id, run_id) for run_id in (original_id, replay_id)]
        self.compare_ids = {"original": original_id, "replay": replay_id}
        self.compare = [compare_row(node["id"], *runs) for node in self._doc["nodes"]]

    @rx.event
    @open_to_all
    def set_approval_comment(self, text: str) -> None:
        """Keep the comment typed for the decision."""
        self.approval_comment = text

    @rx.event
    @guarded(Need.WRITE)
    def decide_approval(self, node_id: str, decision: str) -> EventSpec | list[EventSpec]:
        """Approve or reject the run's pending approval at `node_id`; the run continues live."""
        member = acting_member()
        try:
            decide(get_settings(), member.workspace_id, self.run_id, node_id, decision, self.approval_comment,
                   Decider(member.user_id, member.email))  # fmt: skip
        except (AlreadyDecided, RunEnded, ValueError) as error:
            return rx.toast.error(str(error))
        self.approval_comment = ""
        self._open(self.run_id)
        done = "Approved" if decision == "approve" else "Rejected"
        return [type(self).follow_run, rx.toast.info(f"{done}; the run continues")]

    @rx.event
    @guarded(Need.WRITE)
    def resume_run(self) -> EventSpec | list[EventSpec]:
        """Run the failed run on screen again from its checkpoint (finished nodes are not re-run)."""
        try:
            reruns.resume_run(get_settings(), acting_workspace_id(), self.run_id)
        except NotResumable as error:
            return rx.toast.error(str(error))
        self._open(self.run_id)
        self._read_runs()
        return [type(self).follow_run, rx.toast.info("Resuming the run from its failed node")]

    @rx.event
    @open_to_all
    def open_replay(self) -> None:
        """Show the replay editor for the selected node, prefilled with the input it got in this run."""
        self.replay_node = self.selected_id
        self.replay_input = self.node_detail.get("input", "") or "null"

    @rx.event
    @open_to_all
    def set_replay_input(self, text: str) -> None:
        """Keep the edited replay input."""
        self.replay_input = text

    @rx.event
    @guarded(Need.WRITE)
    def replay(self) -> EventSpec | list[EventSpec]:
        """Start a replay of the run on screen from the chosen node on the edited input, and compare them."""
        try:
            new_input = json.loads(self.replay_input or "null")
        except ValueError as error:
            return rx.toast.error(f"The replay input is not valid JSON: {error}")
        original = self.run_id
        try:
            replay = reruns.start_replay(get_settings(), acting_workspace_id(), original, self.replay_node, new_input)
        except (NotReplayable, ValueError, WorkflowError) as error:
            return rx.toast.error(str(error))
        self.replay_node, self.side_tab = "", "runs"  # the compare view is in the runs tab
        self._open(replay.id)
        self._read_runs()
        return [type(self).follow_run, rx.toast.info(f"Replaying as run {replay.id}")]

    @rx.event
    @open_to_all
    def close_replay(self) -> None:
        """Hide the replay editor."""
        self.replay_node = ""
