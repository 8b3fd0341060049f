"""A real `trellis serve` in queue mode whose PostgreSQL and Redis are reached through cuttable proxies,
plus `trellis worker`s sharing its metrics folder."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
import sqlalchemy as sa

from tests.ops.tcp_proxy import TcpProxy
from tests.processes import running_server
from tests.runtime.executor.conftest import configured
from tests.runtime.executor.test_rq import REDIS_URL  # the queue tests' Redis database, emptied by them

__all__ = ["REDIS_URL", "configured"]  # re-exported: the executor tests' fixture, the queue tests' Redis


@dataclass(frozen=True)
class OpsServer:
    """A running server, the proxies in front of its database and Redis, and the env workers need."""

    url: str
    database: TcpProxy
    redis: TcpProxy
    env: dict[str, str]
    """Settings for processes that should reach PostgreSQL and Redis directly (workers, the test)."""


def through(proxy: TcpProxy, url: str) -> str:
    """`url` with its host and port replaced by the proxy's."""
    parsed = sa.make_url(url)
    return parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def ops_server(make_pg_database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpsServer]:  # type: ignore[no-untyped-def]
    """`trellis serve` on a fresh database and an emptied Redis database, with a fresh metrics folder."""
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    database_url = make_pg_database()
    data_dir = tmp_path_factory.mktemp("ops-data")
    env = {
        "TRELLIS_DATABASE_URL": database_url, "TRELLIS_REDIS_URL": REDIS_URL, "TRELLIS_DATA_DIR": str(data_dir),
        "TRELLIS_METRICS_DIR": str(data_dir / "metrics"),
    }  # fmt: skip
    pg_port, redis_port = sa.make_url(database_url).port or 5432, client.connection_pool.connection_kwargs["port"]
    database, redis_proxy = TcpProxy(pg_port), TcpProxy(redis_port)
    proxied_redis = {"TRELLIS_REDIS_URL": through(redis_proxy, REDIS_URL)}
    try:
        with running_server(through(database, database_url), data_dir, {**env, **proxied_redis}) as server:
            yield OpsServer(server.url, database, redis_proxy, env)
    finally:
        database.cut()
        redis_proxy.cut()
        client.flushdb()
        client.close()
