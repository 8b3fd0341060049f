"""`HookError`: a webhook call refused, with the HTTP status and the stable code the caller gets."""

from __future__ import annotations

from typing import Any

from runtime.errors import WorkflowError

NOT_FOUND_MESSAGE = "No webhook answers at this address."
"""One message for unknown and disabled hooks, so the answer tells nothing about which it was."""


class HookError(WorkflowError):
    """A refused webhook call: `status` (HTTP), `code` (stable, machine-readable), a message for people,
    `retry_after` seconds when waiting helps (429, 409, 503), and extra JSON `details`."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: int | None = None, **details: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.retry_after = retry_after
        self.details = details


def hook_not_found() -> HookError:
    """The one 404 every unknown or disabled hook gets."""
    return HookError(404, "not_found", NOT_FOUND_MESSAGE)


def service_unavailable(what: str) -> HookError:
    """503: the database or the queue cannot be reached; nothing was accepted."""
    message = f"The {what} is unreachable; nothing was accepted. Retry later."
    return HookError(503, "unavailable", message, retry_after=5)
