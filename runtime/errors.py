"""Errors every part of Trellis raises; all derive from `WorkflowError`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class WorkflowError(Exception):
    """Base of every error Trellis raises on purpose."""


@dataclass(frozen=True)
class Issue:
    """One problem in a workflow document: where it is, the value found, and what is wrong."""

    node_id: str | None
    field: str
    value: Any
    message: str
    code: str

    def __str__(self) -> str:
        where = f"node {self.node_id!r}, " if self.node_id else ""
        return f"{where}{self.field} = {self.value!r}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form of the issue, for API answers and the UI."""
        return {
            "node_id": self.node_id,
            "field": self.field,
            "value": self.value,
            "message": self.message,
            "code": self.code,
        }


class WorkflowInvalid(WorkflowError):
    """A workflow document has one or more problems; `issues` lists every one of them."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        lines = "\n".join(f"- {issue}" for issue in issues)
        super().__init__(f"The workflow has {len(issues)} problem(s):\n{lines}")


class NotFound(WorkflowError):
    """A record does not exist in the caller's workspace."""


class NodeError(WorkflowError):
    """A node failed; `retryable` says whether trying the same node again may succeed."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        self.retryable = retryable
        super().__init__(message)
