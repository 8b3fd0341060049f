"""Expressions: `{{ ... }}` in string params, rendered in Jinja2's immutable sandbox."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.errors import WorkflowError


class ExpressionError(WorkflowError):
    """An expression could not be rendered; the message says which and why."""


def render(text: str, scope: Mapping[str, Any]) -> str:
    """`text` with every `{{ ... }}` rendered against `scope`."""
    raise NotImplementedError


def evaluate(text: str, scope: Mapping[str, Any]) -> Any:
    """The native value when `text` is exactly one `{{ ... }}`, else `render(text, scope)`."""
    raise NotImplementedError
