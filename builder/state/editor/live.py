"""Live run status on the canvas: a snapshot plus a short window of numbered changes.

A status change sends only the window (a few entries), never the graph or the whole status map;
the canvas asks for a fresh snapshot (`resync_statuses`) when it sees a gap in the numbers.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from builder.state.editor.document import DocumentMixin
from runtime.events import Event

STATUS_WINDOW = 8
"""How many recent changes each update carries; enough to cover updates React batches together."""

EVENT_STATUS = {"node_started": "running", "node_finished": "succeeded", "node_skipped": "skipped"}
MAX_WINDOW = 500
"""A batch of more changes than this is sent as a gap, and the canvas asks for a snapshot instead."""
TOKEN_BUFFER_CHARS = 20_000


class LiveStatusMixin(DocumentMixin, mixin=True):
    """The run status of every node, as the canvas paints it, and the streamed LLM tokens."""

    statuses: dict[str, Any] = {"epoch": 0, "seq": 0, "map": {}}
    status_changes: dict[str, Any] = {"epoch": 0, "items": []}
    tokens: str = ""
    run_status: str = ""

    _status_map: dict[str, str] = {}
    _status_seq: int = 0
    _status_epoch: int = 0
    _status_window: list[list[Any]] = []
    _tokens: dict[str, str] = {}

    def _paint(self, status_map: dict[str, str]) -> None:
        """Replace every node's status at once (a new run, a past run opened, or cleared)."""
        self._status_epoch += 1
        self._status_map, self._status_seq, self._status_window = dict(status_map), 0, []
        self._tokens = {}
        self.tokens = ""
        self.statuses = {"epoch": self._status_epoch, "seq": 0, "map": dict(status_map)}
        self.status_changes = {"epoch": self._status_epoch, "items": []}

    def _on_events(self, events: list[Event]) -> None:
        """Paint what a batch of run events says about nodes: one update carrying every change."""
        changes = 0
        for event in events:
            changes += self._on_event(event)
            if event.type in ("run_started", "run_resumed"):  # resumed: another executor took over
                self.run_status = "running"
        if changes:
            window = self._status_window[-max(STATUS_WINDOW, changes) :]
            self.status_changes = {"epoch": self._status_epoch, "items": window}

    def _on_event(self, event: Event) -> int:
        """Record what one event says about its node; 1 if a status changed, else 0."""
        node_id = event.node_id
        if node_id is None:
            return 0
        if event.type == "node_token":
            text = (self._tokens.get(node_id, "") + str(event.data.get("text", "")))[-TOKEN_BUFFER_CHARS:]
            self._tokens = {**self._tokens, node_id: text}
            if node_id == self.selected_id:
                self.tokens = text
            return 0
        if event.type == "node_failed":
            return self._set_status(node_id, "running" if event.data.get("will_retry") else "failed")
        if event.type in EVENT_STATUS:
            return self._set_status(node_id, EVENT_STATUS[event.type])
        return 0

    def _set_status(self, node_id: str, status: str) -> int:
        if self._status_map.get(node_id) == status:
            return 0
        self._status_seq += 1
        self._status_map = {**self._status_map, node_id: status}
        self._status_window = [*self._status_window[-(MAX_WINDOW - 1) :], [self._status_seq, node_id, status]]
        return 1

    @rx.event
    def resync_statuses(self, seen: dict[str, Any]) -> None:
        """The canvas missed changes: send it the whole status map once."""
        self.statuses = {"epoch": self._status_epoch, "seq": self._status_seq, "map": dict(self._status_map)}
