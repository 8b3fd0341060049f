"""A real `trellis serve` in queue mode whose PostgreSQL and Redis are reached through cuttable proxies,
plus `trellis worker`s sharing its metrics folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from tests.e2e.conftest import free_port, wait_for_ready_line
from tests.ops.tcp_proxy import TcpProxy
from tests.runtime.executor.conftest import configured
from tests.runtime.executor.test_rq import REDIS_URL  # the queue tests' Redis database, emptied by them

TRELLIS = str(Path(sys.executable).with_name("trellis"))

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
    port = free_port()
    server_env = {
        **env, "TRELLIS_PORT": str(port), "TRELLIS_DATABASE_URL": through(database, database_url),
        "TRELLIS_REDIS_URL": REDIS_URL.replace(f":{redis_port}/", f":{redis_proxy.port}/"),
    }  # fmt: skip
    try:
        with serving(server_env, data_dir) as url:
            yield OpsServer(url, database, redis_proxy, env)
    finally:
        database.cut()
        redis_proxy.cut()
        client.flushdb()
        client.close()


@contextmanager
def serving(env: dict[str, str], data_dir: Path) -> Iterator[str]:
    """`trellis serve` with `env` (which must set TRELLIS_PORT) until the block ends; yields its URL."""
    process = subprocess.Popen(
        [TRELLIS, "serve"], env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_ready_line(process, data_dir / "serve.log")
        yield f"http://127.0.0.1:{env['TRELLIS_PORT']}"
    finally:
        stop(process)


def start_worker(env: dict[str, str], name: str, *options: str) -> subprocess.Popen[bytes]:
    """A `trellis worker` in its own process group."""
    command = [TRELLIS, "worker", "--name", name, *options]
    return subprocess.Popen(command, env={**os.environ, **env}, start_new_session=True)


def stop(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """SIGTERM the process group; SIGKILL it if it is still there after 20 s."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
