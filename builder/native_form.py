"""A plain HTML form that the browser itself submits (Reflex's `rx.form` always intercepts submit).

Sign-in, setup and sign-out post to FastAPI routes that set or drop the HttpOnly session cookie,
which a websocket event handler cannot do.
"""

from __future__ import annotations

import reflex as rx
from reflex_components_core.el.elements.base import BaseHTML


class NativeForm(BaseHTML):
    """`<form action=... method=...>` posted by the browser, not by Reflex."""

    tag = "form"

    action: rx.Var[str]
    method: rx.Var[str]


native_form = NativeForm.create
