"""The React Flow canvas as a Reflex component: a thin wrapper around the local `flow_canvas.jsx`.

The JSX keeps drag positions and selection in the browser and calls the handlers below only on
settled events (drag stop, connect, drop, delete, selection, shortcuts), each with plain JSON.
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx
from reflex.event import passthrough_event_spec

_CANVAS_JS = rx.asset("flow_canvas.jsx", shared=True)

NODE_KIND_MIME = "application/x-trellis-node-kind"
"""The drag-and-drop data type a palette item sets and the canvas reads on drop."""


class FlowCanvas(rx.NoSSRComponent):
    """A React Flow canvas: nodes and edges from state, live run statuses merged in by the browser."""

    library = _CANVAS_JS.importable_path
    tag = "FlowCanvas"
    lib_dependencies: list[str] = ["@xyflow/react@12.12.1"]

    nodes: rx.Var[list[dict[str, Any]]]
    edges: rx.Var[list[dict[str, Any]]]
    statuses: rx.Var[dict[str, Any]]
    status_changes: rx.Var[dict[str, Any]]
    dirty: rx.Var[bool]
    fit_nonce: rx.Var[int]
    read_only: rx.Var[bool]

    on_nodes_moved: rx.EventHandler[passthrough_event_spec(list[dict[str, Any]])]
    on_connect_edge: rx.EventHandler[passthrough_event_spec(dict[str, Any])]
    on_drop_node: rx.EventHandler[passthrough_event_spec(dict[str, Any])]
    on_delete_items: rx.EventHandler[passthrough_event_spec(dict[str, Any])]
    on_select_ids: rx.EventHandler[passthrough_event_spec(list[str])]
    on_undo: rx.EventHandler[passthrough_event_spec()]
    on_redo: rx.EventHandler[passthrough_event_spec()]
    on_copy_nodes: rx.EventHandler[passthrough_event_spec(list[str])]
    on_paste_text: rx.EventHandler[passthrough_event_spec(str)]
    on_status_resync: rx.EventHandler[passthrough_event_spec(dict[str, Any])]
    on_focus_node: rx.EventHandler[passthrough_event_spec(str)]

    def add_custom_code(self) -> list[str]:
        """Start fetching the canvas chunk when the page module loads, not when the canvas first renders
        (after the websocket has connected), so the two overlap."""
        return [f"import({json.dumps(self.library)});"]


flow_canvas = FlowCanvas.create


def palette_item(label: rx.Component, kind: str, **props: Any) -> rx.Component:
    """A box the user drags onto the canvas to add a node of type `kind` (pure HTML5 drag, no round trip)."""
    on_drag_start = rx.Var(
        f"((e) => {{ e.dataTransfer.setData({NODE_KIND_MIME!r}, {kind!r}); e.dataTransfer.effectAllowed = 'move'; }})"
    )
    return rx.box(label, draggable=True, custom_attrs={"onDragStart": on_drag_start}, **props)
