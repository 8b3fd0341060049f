"""State of the workflow editor page, composed from one mixin per concern."""

from __future__ import annotations

import reflex as rx

from builder.state.editor.panel import PanelMixin
from builder.state.editor.run_actions import RunActionsMixin


class EditorState(RunActionsMixin, PanelMixin, rx.State):
    """Everything the editor page shows: document, canvas, panel, versions and runs."""


__all__ = ["EditorState"]
