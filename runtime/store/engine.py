"""Database engines and sessions; nothing here connects until a function is called."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from runtime.config import get_settings


def _enable_sqlite_foreign_keys(dbapi_connection: Any, connection_record: Any) -> None:
    # SQLite ignores foreign keys (and so ON DELETE CASCADE) unless each connection asks for them.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# `\u0000` not preceded by an escaped backslash (`\\u0000` is the text backslash-u-0000, not a NUL).
_ESCAPED_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def json_for_postgresql(value: Any) -> str:
    """`value` as JSON text PostgreSQL stores: JSONB refuses the NUL character, so it becomes U+FFFD.

    A webhook body or a fetched page may carry NUL; refusing the whole run for it would lose the call.
    """
    text = json.dumps(value)
    return _ESCAPED_NUL.sub(r"\1\\ufffd", text) if "\\u0000" in text else text


@cache
def _process_tag(pid: int) -> str:
    return secrets.token_hex(4)


def process_tag() -> str:
    """A random tag naming this process (a forked child gets its own): part of its lease owner names and
    of the `application_name` its PostgreSQL sessions carry, so a reaper can find a lost executor's sessions."""
    return _process_tag(os.getpid())


def session_label(tag: str | None = None) -> str:
    """The PostgreSQL `application_name` of the sessions opened by the process tagged `tag` (this one by default)."""
    return f"trellis~{tag or process_tag()}"


def _label_session(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
    cparams["application_name"] = session_label()  # at each connect: after a fork too


def make_engine(url: str) -> sa.Engine:
    """A new engine for `url`, set up for its backend.

    SQLite: usable from any thread, foreign keys enforced, parent folder of a file database created.
    PostgreSQL: `postgresql://` means the psycopg 3 driver; pooled connections are pinged before use;
    JSON values are written by `json_for_postgresql`; sessions carry this process's `session_label`.
    """
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"check_same_thread": False})
        sa.event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(parsed, pool_pre_ping=True, json_serializer=json_for_postgresql)
    sa.event.listen(engine, "do_connect", _label_session)
    return engine


def session_limits(lease_s: float) -> dict[str, str]:
    """PostgreSQL settings for work done under a run lease (`lease_s` long): a transaction its client
    leaves idle (the process paused, hung or cut off) is ended by the server after half a lease, so the
    row locks it holds never keep the reaper from taking the run over once the lease expired."""
    return {"idle_in_transaction_session_timeout": f"{max(int(lease_s * 500), 100)}ms"}


def limit_transaction(connection: sa.Connection, lease_s: float) -> None:
    """Apply `session_limits(lease_s)` to the transaction `connection` is in (PostgreSQL only; it ends
    with the transaction, so pooled connections other code borrows later are unaffected)."""
    if connection.dialect.name == "postgresql":
        for name, value in session_limits(lease_s).items():
            connection.execute(sa.select(sa.func.set_config(name, value, True)))


@lru_cache(maxsize=1)
def get_engine() -> sa.Engine:
    """The process-wide engine for the configured database, created on first use."""
    return make_engine(get_settings().resolved_database_url)


@contextmanager
def session_scope(engine: sa.Engine) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises.

    Objects stay readable after the block (`expire_on_commit=False`), so callers can return them.
    """
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def reset_engine_after_fork() -> None:
    """In a forked child, forget the parent's pooled connections without closing them.

    Sharing a connection across a fork mixes both processes' queries on one server backend
    (runtime-facts.md §6); `dispose(close=False)` is SQLAlchemy's recipe for this.
    """
    if get_engine.cache_info().currsize:
        get_engine().dispose(close=False)
