"""State of the workflow editor page, composed from one mixin per concern."""

from __future__ import annotations

import reflex as rx

from builder.state.editor.newest import NewestRunMixin
from builder.state.editor.panel import PanelMixin


class EditorState(NewestRunMixin, PanelMixin, rx.State):
    """Everything the editor page shows: document, canvas, panel, versions and runs."""


__all__ = ["EditorState"]
