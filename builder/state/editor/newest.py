"""The newest run on the canvas: while an editor tab is open, a run of its workflow that something else
started (a webhook, a schedule, the API, another tab, on this web process or another) is shown live."""

from __future__ import annotations

import asyncio

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import col, select

from builder.access import Need, acting_workspace_id, guarded
from builder.state.editor.run_actions import RunActionsMixin
from builder.state.editor.runs import ACTIVE
from runtime.store import Run, get_engine, session_scope

WATCH_S = 1.0
"""Seconds between two looks for a newer run: at most this before a run started elsewhere is painted."""


def newest_run_id(workspace_id: str, workflow_id: str) -> str | None:
    """The id of the workflow's most recently created run, or None when it has none."""
    with session_scope(get_engine()) as session:
        return session.exec(
            select(Run.id)
            .where(Run.workflow_id == workflow_id, Run.workspace_id == workspace_id)
            .order_by(col(Run.created_at).desc())
            .limit(1)
        ).first()


async def tab_connected(client_token: str) -> bool:
    """Whether the tab still has its websocket open on any web process (Reflex does not end background
    tasks when a tab closes). Reflex's token manager is private API, pinned with reflex==0.10.1."""
    from builder.builder import app  # the app module imports this state: import it once both exist

    namespace = app.event_namespace
    return namespace is not None and await namespace._token_manager.is_token_connected(client_token)


class NewestRunMixin(RunActionsMixin, mixin=True):
    """Opens the editor and keeps its canvas on the workflow's newest run."""

    _watch: int = 0
    """Which watcher is current: a page load starts a new one, and the one before it stops."""

    @rx.event
    @guarded(Need.READ)
    def open_editor(self) -> EventSpec | None:
        """Page load: the workflow named in the URL, the workspace's credentials and the run history, then
        watch for new runs of it."""
        self.load()
        if self.not_found:
            return None
        self.load_credentials()
        self._read_runs()
        return type(self).watch_runs

    @rx.event(background=True)
    @guarded(Need.READ)
    async def watch_runs(self) -> None:
        """Until the tab closes or opens another workflow: each new run of this workflow, whoever started it,
        is opened on the canvas and followed live (a run this tab started is followed by `run` already),
        unless the canvas shows an older run the user opened from the history."""
        workspace_id = acting_workspace_id()
        async with self:
            self._watch += 1
            watch, workflow_id, client_token = self._watch, self.workflow_id, self.router.session.client_token
        known = await asyncio.to_thread(newest_run_id, workspace_id, workflow_id)
        while await tab_connected(client_token):
            await asyncio.sleep(WATCH_S)
            newest = await asyncio.to_thread(newest_run_id, workspace_id, workflow_id)
            if newest is None or newest == known:
                continue
            previous, known = known, newest
            async with self:
                if self._watch != watch or self.workflow_id != workflow_id:
                    return
                if self.run_id == newest or self.run_id not in ("", previous):
                    continue  # already on it, or the user opened an older run from the history: leave it there
                self._open(newest)
                self._read_runs()
                live = self.run_status in ACTIVE
            if live:
                await self._follow(newest)
