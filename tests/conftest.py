"""Fixtures shared by the whole suite: real PostgreSQL and Redis servers, migrated test databases,
and the scripted OpenAI-protocol server.

The servers are required, not optional: an unreachable one fails the tests that need it, with the
URL it tried, instead of silently skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlmodel import Session

from runtime.config import get_settings
from runtime.secrets import _default_ring
from runtime.store.engine import make_engine
from runtime.store.migrate import upgrade_database
from tests.openai_server import OpenAIServer
from tests.pg_databases import PgDatabases

# Production mode (any PostgreSQL database) refuses to start without keys: every process a test starts
# inherits this one key (each test database is fresh, so a new key per session is right).
os.environ.setdefault("TRELLIS_SECRET_KEYS", Fernet.generate_key().decode())
get_settings.cache_clear()  # an import may have read the settings already; this process uses the key too
_default_ring.cache_clear()

PG_URL_ENV = "TRELLIS_TEST_PG_URL"
REDIS_URL_ENV = "TRELLIS_TEST_REDIS_URL"


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """URL of the test PostgreSQL server (`TRELLIS_TEST_PG_URL`); fails when it is unreachable."""
    url = os.environ.get(PG_URL_ENV, "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as error:
        pytest.fail(f"PostgreSQL is unreachable at {url} (set {PG_URL_ENV}): {error}", pytrace=False)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def make_pg_database(pg_server_url: str) -> Iterator[PgDatabases]:
    """Call it for the URL of a fresh empty PostgreSQL database; all are dropped at session end."""
    databases = PgDatabases(pg_server_url)
    yield databases
    databases.drop_all()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database migrated to head, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'trellis.db'}"
        upgrade_database(url)
        yield url
        return
    databases: PgDatabases = request.getfixturevalue("make_pg_database")
    url = databases()
    upgrade_database(url)
    yield url
    databases.drop(url)


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    """A session on the migrated test database; objects stay readable after a commit."""
    engine = make_engine(db_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A fresh scripted OpenAI-protocol server on 127.0.0.1, stopped after the test."""
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def redis_url() -> Iterator[str]:
    """URL of the test Redis database (db 15 by default); the LLM cache keys a test adds are deleted after it."""
    url = os.environ.get(REDIS_URL_ENV, "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        before = set(client.scan_iter(match="trellis:llm:cache:*"))
    except redis.RedisError as error:
        pytest.fail(f"Redis is unreachable at {url} (set {REDIS_URL_ENV}): {error}", pytrace=False)
    yield url
    added = set(client.scan_iter(match="trellis:llm:cache:*")) - before
    if added:
        client.delete(*added)
    client.close()
