"""The document being edited: loading it, canvas edits, undo and redo."""

from __future__ import annotations

import copy
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from builder.access import Need, acting_member, guarded, open_to_all
from builder.clipboard import copy_snippet, paste
from builder.graph_adapter import flow_edges, flow_nodes, issues_by_node
from builder.graph_edit import EditRefused, add_node, add_note, connect, delete_items, move_items
from builder.layout import tidy
from runtime.errors import NotFound, WorkflowInvalid
from runtime.graph.validate import validate_document
from runtime.store import get_engine, get_workflow, latest_version, session_scope

UNDO_DEPTH = 30
"""Snapshots kept for undo: they live in the page state, which the state manager stores on every event."""


def document_problems(document: dict[str, Any]) -> list[Any]:
    """Every validation issue of the document (empty when it is valid)."""
    try:
        validate_document(document)
    except WorkflowInvalid as error:
        return list(error.issues)
    return []


class DocumentMixin(rx.State, mixin=True):
    """The workflow document, its React Flow view and the undo/redo history."""

    workflow_id: str = ""
    workflow_name: str = ""
    not_found: str = ""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    problems: list[str] = []
    dirty: bool = False
    can_undo: bool = False
    can_redo: bool = False
    fit_nonce: int = 0
    selected_ids: list[str] = []
    side_tab: str = "node"
    can_write: bool = False

    _doc: dict[str, Any] = {}
    _saved: dict[str, Any] = {}
    _undo: list[dict[str, Any]] = []
    _redo: list[dict[str, Any]] = []

    def _show(self, document: dict[str, Any]) -> None:
        """Make `document` the one on screen: canvas, problems, panel."""
        self._doc = document
        grouped = issues_by_node(document_problems(document))
        self.nodes = flow_nodes(document, grouped)
        self.edges = flow_edges(document)
        self.problems = [f"{node_id or 'workflow'} · {message}" for node_id, ms in grouped.items() for message in ms]
        self.dirty = document != self._saved
        self.can_undo, self.can_redo = bool(self._undo), bool(self._redo)
        self._refresh_panel()

    def _refresh_panel(self) -> None:
        """Re-read the side panel from the document (the panel mixin fills it in)."""

    def _refresh_run_detail(self) -> None:
        """Re-read the selected node's run details (the runs mixin fills it in)."""

    def _apply(self, document: dict[str, Any]) -> None:
        """An undoable change: remember the current document, then show the new one."""
        if document == self._doc:
            return
        self._undo = [*self._undo[-(UNDO_DEPTH - 1) :], self._doc]
        self._redo = []
        self._show(document)

    def _load_saved(self, document: dict[str, Any]) -> None:
        self._saved = copy.deepcopy(document)
        self._saved.setdefault("notes", [])
        self._undo, self._redo = [], []
        self._show(copy.deepcopy(self._saved))

    @rx.event
    @guarded(Need.READ)
    def load(self) -> None:
        """Open the workflow named in the URL at its latest saved version."""
        self.workflow_id = str(self.router.page.params.get("id", ""))
        self.not_found, self.selected_ids = "", []
        self._reset_run_view()
        try:
            member = acting_member()
            self.can_write = member.may_write
            with session_scope(get_engine()) as session:
                workspace_id = member.workspace_id
                workflow = get_workflow(session, workspace_id, self.workflow_id)
                self.workflow_name = workflow.name
                document = dict(latest_version(session, workspace_id, self.workflow_id).document)
        except NotFound as error:
            self.not_found = str(error)
            return
        self._load_saved(document)
        self.fit_nonce += 1

    def _reset_run_view(self) -> None:
        """Forget the run on screen (the runs mixin fills it in)."""

    def _try(self, edit: Any, *args: Any) -> EventSpec | None:
        try:
            self._apply(edit(self._doc, *args))
        except EditRefused as refusal:
            return rx.toast.warning(str(refusal))
        return None

    @rx.event
    @guarded(Need.WRITE)
    def nodes_moved(self, moves: list[dict[str, Any]]) -> None:
        """Nodes or notes were dragged to new places (sent once, on drag stop)."""
        self._apply(move_items(self._doc, moves))

    @rx.event
    @guarded(Need.WRITE)
    def connect_edge(self, wire: dict[str, Any]) -> EventSpec | None:
        """Wire two handles, or say why the node types forbid it."""
        return self._try(connect, wire["source"], wire["source_handle"], wire["target"], wire["target_handle"])

    @rx.event
    @guarded(Need.WRITE)
    def drop_node(self, drop: dict[str, Any]) -> EventSpec | None:
        """A palette item was dropped on the canvas: add a node (or a note) there and select it."""
        try:
            if drop["kind"] == "sticky_note":
                document, new_id = add_note(self._doc, drop["x"], drop["y"])
            else:
                document, new_id = add_node(self._doc, drop["kind"], drop["x"], drop["y"])
        except EditRefused as refusal:
            return rx.toast.warning(str(refusal))
        self._apply(document)
        self._select_new([new_id])
        return None

    @rx.event
    @guarded(Need.WRITE)
    def delete_items(self, items: dict[str, Any]) -> None:
        """Nodes, notes and wires were deleted on the canvas (Delete key)."""
        self._apply(delete_items(self._doc, items.get("nodes", []), items.get("edges", [])))
        self.select_ids([i for i in self.selected_ids if i not in set(items.get("nodes", []))])

    @rx.event
    @guarded(Need.READ)
    def select_ids(self, ids: list[str]) -> None:
        """The canvas selection changed; one selected item brings its panel to the front."""
        self.selected_ids = list(ids)
        if len(ids) == 1:
            self.side_tab = "node"
        self._refresh_panel()

    def _select_new(self, ids: list[str]) -> None:
        """Select items just added, on the canvas as well as in the panel."""
        picked = set(ids)
        self.nodes = [{**n, "selected": True} if n["id"] in picked else n for n in self.nodes]
        self.select_ids(ids)

    @rx.event
    @open_to_all
    def focus_node(self, canvas_id: str) -> None:
        """A node was clicked: bring its panel to the front."""
        self.side_tab = "node"

    @rx.event
    @guarded(Need.WRITE)
    def undo(self) -> None:
        """Go back one edit."""
        if self._undo:
            self._redo = [*self._redo, self._doc]
            previous, self._undo = self._undo[-1], self._undo[:-1]
            self._show(previous)

    @rx.event
    @guarded(Need.WRITE)
    def redo(self) -> None:
        """Redo the edit last undone."""
        if self._redo:
            self._undo = [*self._undo, self._doc]
            following, self._redo = self._redo[-1], self._redo[:-1]
            self._show(following)

    @rx.event
    @guarded(Need.READ)
    def copy_nodes(self, ids: list[str]) -> EventSpec:
        """Put the selected nodes and the wires between them on the clipboard as JSON."""
        return rx.set_clipboard(copy_snippet(self._doc, ids))

    @rx.event
    @guarded(Need.WRITE)
    def paste_text(self, text: str) -> EventSpec | None:
        """Paste copied nodes, or a whole workflow JSON, as new nodes; they become the selection."""
        try:
            document, new_ids = paste(self._doc, text)
        except EditRefused as refusal:
            return rx.toast.warning(str(refusal))
        self._apply(document)
        self._select_new(new_ids)
        return rx.toast.success(f"Pasted {len(new_ids)} item(s)")

    @rx.event
    @guarded(Need.WRITE)
    def tidy_up(self) -> None:
        """Lay the graph out in columns, left to right."""
        self._apply(tidy(self._doc))
        self.fit_nonce += 1

    @rx.event
    @guarded(Need.WRITE)
    def add_sticky_note(self) -> None:
        """Add an empty sticky note near the top left of the graph."""
        xs = [n["position"]["x"] for n in self._doc["nodes"]] or [0]
        ys = [n["position"]["y"] for n in self._doc["nodes"]] or [0]
        document, note_id = add_note(self._doc, min(xs), min(ys) - 160)
        self._apply(document)
        self._select_new([note_id])
