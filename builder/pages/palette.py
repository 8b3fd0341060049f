"""The node palette: every node type by category, searchable, dragged onto the canvas."""

from __future__ import annotations

import reflex as rx

from builder.state.editor import EditorState as State
from components.flow_canvas import palette_item
from runtime.nodes import REGISTRY

CATEGORY_ORDER = ["trigger", "ai", "network", "data", "flow"]
CATEGORY_TITLES = {
    "trigger": "Triggers",
    "ai": "AI",
    "network": "Network",
    "data": "Data",
    "flow": "Flow",
    "notes": "Notes",
}
STICKY_NOTE = ("sticky_note", "Sticky note", "A note on the canvas for people reading the workflow.")


def _entries() -> dict[str, list[tuple[str, str, str]]]:
    """(type, title, description) of the newest version of every type, by category, plus sticky notes."""
    newest = {t.type: t for t in REGISTRY}
    grouped: dict[str, list[tuple[str, str, str]]] = {}
    for node_type in newest.values():
        grouped.setdefault(node_type.category, []).append((node_type.type, node_type.title, node_type.description))
    grouped["notes"] = [STICKY_NOTE]
    ordered = sorted(grouped, key=lambda c: CATEGORY_ORDER.index(c) if c in CATEGORY_ORDER else len(CATEGORY_ORDER))
    return {category: grouped[category] for category in ordered}


def _item(kind: str, title: str, description: str) -> rx.Component:
    haystack = rx.Var.create(f"{kind} {title} {description}".lower())
    matches = (State.palette_query == "") | haystack.contains(State.palette_query)
    return palette_item(
        rx.tooltip(
            rx.hstack(rx.icon("grip-vertical", size=14, color=rx.color("gray", 8)), rx.text(title, size="2"),
                      align="center", spacing="2"),
            content=description.split("\n")[0][:160],
            side="right",
        ),
        kind,
        padding="6px 8px", border=f"1px solid {rx.color('gray', 5)}", border_radius="8px", cursor="grab",
        background=rx.color("gray", 1), width="100%", display=rx.cond(matches, "block", "none"),
        data_testid=f"palette-item-{kind}",
    )  # fmt: skip


def palette() -> rx.Component:
    """The searchable palette column."""
    sections = [
        rx.vstack(
            rx.text(CATEGORY_TITLES.get(category, category.title()), size="1", weight="bold", color_scheme="gray"),
            *[_item(*entry) for entry in entries],
            spacing="1",
            width="100%",
        )  # fmt: skip
        for category, entries in _entries().items()
    ]
    return rx.vstack(
        rx.input(placeholder="Search nodes", on_change=State.set_palette_query.debounce(150), width="100%",
                 data_testid="palette-search", size="2"),
        rx.text("Drag a node onto the canvas", size="1", color_scheme="gray"),
        *sections,
        width="220px", min_width="220px", padding="12px", spacing="3", overflow_y="auto", height="100%",
        border_right=f"1px solid {rx.color('gray', 5)}", background=rx.color("gray", 2),
    )  # fmt: skip
