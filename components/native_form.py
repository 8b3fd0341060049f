"""An HTML form the browser submits itself, as a real navigation (no Reflex event, no preventDefault).

For posts whose answer must reach the browser directly, such as one that sets an HttpOnly cookie.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.constants import EventTriggers
from reflex_components_core.el.elements.forms import Form


class NativeForm(Form):
    """`<form method action>` without Reflex's submit handler."""

    @classmethod
    def create(cls, *children: Any, **props: Any) -> rx.Component:
        """The form; `action` and `method` decide where the browser posts it."""
        form = super().create(*children, **props)
        form.event_triggers.pop(EventTriggers.ON_SUBMIT, None)
        return form


native_form = NativeForm.create
