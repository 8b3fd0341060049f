"""Ending the database sessions of an executor that lost its leases but still locks its runs' rows.

A process cut off from PostgreSQL in the middle of a write (a network partition, a hung host) keeps its
server sessions, and the row locks they hold, until TCP gives up, which can take hours. The server's
own timeouts miss the worst case: a session stopped inside a pipelined batch counts as active, not idle,
and waits for the rest of the batch forever, so the reaper's `SKIP LOCKED` would skip its runs forever.

So after each reaper pass, the processes whose every lease expired more than half a lease ago (the
server's idle timeout ends a plainly idle holder by then) while a run of theirs is still `running` have
their sessions ended (`pg_terminate_backend`, found by `application_name` = `session_label`); the next
pass takes those runs over. Their leases are gone, so nothing they write would land anyway.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from runtime.config import Settings
from runtime.executor.lease import owner_tag
from runtime.store import get_engine, session_label
from runtime.store.columns import as_utc

log = logging.getLogger(__name__)

_HELD_LEASES = sa.text(
    "SELECT lease_owner, max(lease_expires_at) FROM run "
    "WHERE status = 'running' AND lease_owner IS NOT NULL GROUP BY lease_owner"
)
_END_SESSIONS = sa.text(
    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE application_name = :label AND datname = current_database() AND pid <> pg_backend_pid()"
)


def lost_process_tags(newest_lease_by_owner: dict[str, datetime], before: datetime) -> set[str]:
    """Tags of the processes all of whose leases expired before `before`."""
    newest: dict[str, datetime] = {}
    for owner, expires in newest_lease_by_owner.items():
        tag = owner_tag(owner)
        newest[tag] = max(newest.get(tag, expires), expires)
    return {tag for tag, expires in newest.items() if tag and expires < before}


def end_lost_sessions(settings: Settings, now: datetime) -> int:
    """End the sessions of processes that lost every lease but still hold running runs (see the module
    docstring); returns how many sessions ended. Does nothing on SQLite (one process holds its runs)."""
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        return 0
    before = now - timedelta(seconds=settings.lease_s / 2)
    with engine.connect() as connection:
        held = {str(owner): as_utc(expires) for owner, expires in connection.execute(_HELD_LEASES)}
    ended = 0
    for tag in sorted(lost_process_tags(held, before)):
        try:
            with engine.begin() as connection:
                count = int(connection.execute(_END_SESSIONS, {"label": session_label(tag)}).scalar_one())
        except sa.exc.ProgrammingError as error:  # a role may end only its own role's sessions
            log.warning("Could not end the sessions of lost executor process %s: %s", tag, error.orig)
            continue
        if count:
            log.warning("Ended %d database sessions of lost executor process %s: they kept its runs locked", count, tag)
        ended += count
    return ended
