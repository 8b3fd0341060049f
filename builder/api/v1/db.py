"""Database sessions for `/api/v1` routes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import Session

from builder.api.errors import ApiError
from runtime.credential_types import CredentialFieldsInvalid
from runtime.store import InvalidValueError, get_engine, session_scope


@contextmanager
def workspace_session() -> Iterator[Session]:
    """A committing session in which the store's refusals of a value answer 422 naming the field."""
    try:
        with session_scope(get_engine()) as session:
            yield session
    except (InvalidValueError, CredentialFieldsInvalid) as error:
        raise ApiError(422, "invalid_value", str(error), field=error.field) from error
