"""Running the workflow from the editor, following the run live, the run history and cancel."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import col, select

from builder.access import Need, acting_workspace_id, guarded, open_to_all
from builder.run_events import event_batches
from builder.state.editor.live import LiveStatusMixin
from builder.state.editor.versions import VersionsMixin
from runtime.config import get_settings
from runtime.errors import NotFound
from runtime.events import open_event_stream
from runtime.executor.dispatch import cancel_run, start_run, trigger_payload
from runtime.store import NodeRun, Run, RunStatus, RunTrigger, get_engine, session_scope

RUN_HISTORY_LIMIT = 50
FOLLOW_IDLE_S = 10.0
FOLLOW_GIVE_UP_S = 600.0
ACTIVE = {RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING}


def _seconds(start: datetime | None, end: datetime | None) -> str:
    return f"{(end - start).total_seconds():.2f} s" if start and end else ""


def _pretty(value: Any) -> str:
    return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False, default=str)


def node_run_detail(row: NodeRun) -> dict[str, str]:
    """What the panel shows about one node attempt."""
    return {
        "status": str(row.status), "attempt": str(row.attempt), "duration": _seconds(row.started_at, row.finished_at),
        "started": row.started_at.strftime("%H:%M:%S.%f")[:-3], "input": _pretty(row.input),
        "output": _pretty(row.output), "error": (row.error or {}).get("message") or "",
    }  # fmt: skip


class RunsMixin(LiveStatusMixin, VersionsMixin, mixin=True):
    """The Run button, the run on screen (live or past), its node details, the runs panel and cancel."""

    run_input: str = "{}"
    run_id: str = ""
    runs: list[dict[str, str]] = []
    node_detail: dict[str, str] = {}

    def _reset_run_view(self) -> None:
        self.run_id, self.run_status, self.node_detail = "", "", {}
        self._paint({})

    def _refresh_run_detail(self) -> None:
        self.tokens = self._tokens.get(self.selected_id, "")
        self.node_detail = {}
        if not (self.run_id and self.selected_id):
            return
        with session_scope(get_engine()) as session:
            row = session.exec(
                select(NodeRun)
                .where(NodeRun.run_id == self.run_id, NodeRun.node_id == self.selected_id,
                       NodeRun.workspace_id == acting_workspace_id())
                .order_by(col(NodeRun.started_at).desc())
            ).first()  # fmt: skip
            if row is not None:
                self.node_detail = node_run_detail(row)

    @rx.event
    @open_to_all
    def set_run_input(self, text: str) -> None:
        """Keep the JSON typed into the run input editor."""
        self.run_input = text

    @rx.event
    @guarded(Need.WRITE)
    def run(self) -> EventSpec | list[EventSpec]:
        """Save unsaved edits as a new version, then run the latest version with the input typed."""
        if self.problems:
            return rx.toast.error(f"Fix the {len(self.problems)} problem(s) listed before running")
        try:
            body = json.loads(self.run_input or "{}")
        except ValueError as error:
            return rx.toast.error(f"The run input is not valid JSON: {error}")
        saved = self._save("Saved before a run") if self.dirty else None
        run_id, _ = start_run(
            get_settings(), acting_workspace_id(), self.workflow_id, trigger_payload(body), RunTrigger.MANUAL
        )
        self.run_id, self.run_status, self.node_detail = run_id, "queued", {}
        self._paint(dict.fromkeys((n["id"] for n in self._doc["nodes"]), "queued"))
        self._read_runs()
        note = f" (saved as version {saved} first)" if saved else ""
        return [type(self).follow_run, rx.toast.info(f"Started run {run_id}{note}")]

    @rx.event(background=True)
    @guarded(Need.READ)
    async def follow_run(self) -> None:
        """Paint the run's events on the canvas as they happen, until it ends or another run is opened."""
        async with self:
            run_id = self.run_id
        if self._is_ours(run_id):  # a run id set by hand (setvar) must not stream another workspace's events
            await self._follow(run_id)

    async def _follow(self, run_id: str) -> None:
        """Paint `run_id`'s events as they come until it ends, another run is on screen, or it stays silent."""
        stream = open_event_stream(get_settings())
        last_id: str | None = None
        silent_s = 0.0
        try:
            # Reflex does not stop background tasks when the tab closes: a run that stays silent
            # this long (a pending approval, say) is no longer followed; opening it again resumes.
            while silent_s < FOLLOW_GIVE_UP_S:
                seen = last_id
                async for batch in event_batches(stream, run_id, last_id, FOLLOW_IDLE_S):
                    async with self:
                        if self.run_id != run_id:
                            return
                        self._on_events(batch)
                    last_id = batch[-1].id
                silent_s = 0.0 if last_id != seen else silent_s + FOLLOW_IDLE_S
                async with self:
                    if self.run_id != run_id or self._finished():
                        return
        finally:
            await stream.close()

    def _is_ours(self, run_id: str) -> bool:
        """Whether the run belongs to the acting member's workspace."""
        with session_scope(get_engine()) as session:
            run = session.get(Run, run_id)
            return run is not None and run.workspace_id == acting_workspace_id()

    def _finished(self) -> bool:
        """Re-read the run on screen from the store; True (and painted) once it has ended."""
        with session_scope(get_engine()) as session:
            run = session.get(Run, self.run_id)
            if run is None or run.workspace_id != acting_workspace_id():
                return True
            if run.status in ACTIVE:
                return False
        self._open(self.run_id)
        self._read_runs()
        return True

    def _read_runs(self) -> None:
        with session_scope(get_engine()) as session:
            rows = session.exec(
                select(Run)
                .where(Run.workflow_id == self.workflow_id, Run.workspace_id == acting_workspace_id())
                .order_by(col(Run.created_at).desc())
                .limit(RUN_HISTORY_LIMIT)
            ).all()
            self.runs = [
                {"id": r.id, "status": str(r.status), "created": r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                 "duration": _seconds(r.started_at, r.finished_at), "trigger": str(r.trigger)}
                for r in rows
            ]  # fmt: skip

    @rx.event
    @guarded(Need.READ)
    def set_side_tab(self, tab: str) -> None:
        """Show the node, runs or history tab of the side panel, read fresh."""
        self.side_tab = tab
        if tab == "history":
            self._read_versions()
        elif tab == "runs":
            self._read_runs()

    def _open(self, run_id: str) -> None:
        with session_scope(get_engine()) as session:
            run = session.get(Run, run_id)
            if run is None or run.workspace_id != acting_workspace_id() or run.workflow_id != self.workflow_id:
                raise NotFound(f"Run {run_id!r} not found")
            rows = session.exec(
                select(NodeRun)
                .where(NodeRun.run_id == run_id, NodeRun.workspace_id == run.workspace_id)
                .order_by(col(NodeRun.started_at))
            ).all()
            latest = {row.node_id: str(row.status) for row in rows}
            self.run_id, self.run_status = run.id, str(run.status)
        if run.status in ACTIVE:
            latest = {n["id"]: latest.get(n["id"], "queued") for n in self._doc["nodes"]}
        self._paint(latest)
        self._refresh_run_detail()

    @rx.event
    @guarded(Need.READ)
    def open_run(self, run_id: str) -> EventSpec | None:
        """Paint a run's node states on the canvas; a run still going is followed live."""
        try:
            self._open(run_id)
        except NotFound as error:
            return rx.toast.error(str(error))
        return type(self).follow_run if self.run_status in ACTIVE else None

    @rx.event
    @open_to_all
    def clear_run(self) -> None:
        """Stop showing a run on the canvas."""
        self._reset_run_view()

    @rx.event
    @guarded(Need.WRITE)
    def cancel(self) -> EventSpec:
        """Cancel the run on screen: a queued one ends at once, a running one at its current node."""
        try:
            with session_scope(get_engine()) as session:
                cancel_run(session, get_settings(), acting_workspace_id(), self.run_id)
        except NotFound as error:
            return rx.toast.error(str(error))
        return rx.toast.info("Cancelling the run")
