"""503 with Retry-After when the queue or the database cannot be reached: nothing is accepted."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from runtime.store import ensure_database, make_engine
from tests.api.conftest import REDIS_URL, Trellis, server_env
from tests.api.helpers import echo
from tests.loopback import LoopbackServer
from tests.ops.conftest import through
from tests.ops.tcp_proxy import TcpProxy
from tests.processes import running_server


@pytest.fixture(scope="module")
def trellis_without_redis(
    make_pg_database, secret_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Trellis]:  # type: ignore[no-untyped-def]
    """A queue-mode Trellis whose Redis went away once it was up (it keeps page sessions there, so it
    cannot start without one)."""
    database_url = make_pg_database()
    ensure_database(database_url)
    slow = LoopbackServer()
    proxy = TcpProxy(sa.make_url(REDIS_URL).port or 6379)
    proxied_redis = through(proxy, REDIS_URL)
    data_dir = tmp_path_factory.mktemp("trellis-unavailable")
    engine = make_engine(database_url)
    with running_server(database_url, data_dir, server_env(database_url, secret_key, slow, proxied_redis)) as server:
        proxy.cut()
        yield Trellis(server, "queue", slow, engine, data_dir / "serve.log")
    slow.close()
    engine.dispose()


def test_queue_or_database_down_answers_503_with_retry_after(trellis_without_redis: Trellis, make_pg_database) -> None:  # type: ignore[no-untyped-def]
    url = trellis_without_redis.hook([echo()], respond="immediately")

    queue_down = httpx.post(url, json={}, timeout=30)

    assert queue_down.status_code == 503 and queue_down.headers["retry-after"] == "5"
    assert queue_down.json()["error"] == "unavailable" and "queue" in queue_down.json()["message"]
    assert trellis_without_redis.run_count(url) == 0

    trellis_without_redis.engine.dispose()
    make_pg_database.drop(trellis_without_redis.server.database_url)
    database_down = httpx.post(url, json={}, timeout=30)

    assert database_down.status_code == 503 and database_down.headers["retry-after"] == "5"
    assert "database" in database_down.json()["message"]
