"""Listing runs: filters and an opaque keyset cursor, so paging stays stable while new runs arrive."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from builder.api.errors import ApiError
from builder.api.v1.models import ID_PATTERN
from runtime.store import Run, RunStatus, RunTrigger

ID = re.compile(ID_PATTERN)


def encode_cursor(run: Run) -> str:
    """The cursor of the page after `run` (runs are listed newest first)."""
    position = json.dumps([as_utc(run.created_at).isoformat(), run.id])
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, id) a cursor points after; 400 `invalid_cursor` for anything not made by `encode_cursor`."""
    try:
        created_at, run_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(run_id, str) or ID.fullmatch(run_id) is None:
            raise ValueError(f"not a run id: {run_id!r}")
        return as_utc(datetime.fromisoformat(created_at)), run_id
    except (ValueError, TypeError) as error:
        message = f"cursor {cursor!r} is not a cursor this API returned; pass `next_cursor` from the previous page."
        raise ApiError(400, "invalid_cursor", message, field="cursor") from error


def as_utc(moment: datetime) -> datetime:
    """`moment` as an aware UTC datetime; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def runs_query(
    workspace_id: str,
    *,
    workflow_id: str | None = None,
    status: RunStatus | None = None,
    trigger: RunTrigger | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    cursor: str | None = None,
) -> SelectOfScalar[Run]:
    """The workspace's runs matching every given filter, newest first, after `cursor` when given."""
    query = select(Run).where(Run.workspace_id == workspace_id)
    if workflow_id is not None:
        query = query.where(Run.workflow_id == workflow_id)
    if status is not None:
        query = query.where(Run.status == status)
    if trigger is not None:
        query = query.where(Run.trigger == trigger)
    if created_after is not None:
        query = query.where(col(Run.created_at) > as_utc(created_after))
    if created_before is not None:
        query = query.where(col(Run.created_at) < as_utc(created_before))
    if cursor is not None:
        after_time, after_id = decode_cursor(cursor)
        query = query.where(
            sa.or_(
                col(Run.created_at) < after_time,
                sa.and_(col(Run.created_at) == after_time, col(Run.id) < after_id),
            )
        )
    return query.order_by(col(Run.created_at).desc(), col(Run.id).desc())
