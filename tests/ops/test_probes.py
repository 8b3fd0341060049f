"""`/healthz` and `/readyz` of a real server while its database or Redis becomes unreachable and comes back."""

from __future__ import annotations

import time

import httpx

from tests.ops.conftest import OpsServer

PROBE_BUDGET_S = 2.0


def probe(server: OpsServer, path: str) -> tuple[int, dict[str, object], float]:
    """Status, JSON body and seconds taken of `GET path`."""
    began = time.monotonic()
    answer = httpx.get(f"{server.url}{path}", timeout=10)
    return answer.status_code, answer.json(), time.monotonic() - began


def ready_again(server: OpsServer, within_s: float = 10) -> int:
    deadline = time.monotonic() + within_s
    status = 0
    while time.monotonic() < deadline:
        status, _, _ = probe(server, "/readyz")
        if status == 200:
            break
        time.sleep(0.2)
    return status


def test_readyz_answers_503_naming_redis_while_redis_is_unreachable(ops_server: OpsServer) -> None:
    assert probe(ops_server, "/readyz")[:2] == (200, {"status": "ready"})

    ops_server.redis.cut()
    try:
        status, body, took = probe(ops_server, "/readyz")
        assert probe(ops_server, "/healthz")[:2] == (200, {"status": "ok"})
    finally:
        ops_server.redis.restore()

    assert (status, body["error"], body["unreachable"]) == (503, "not_ready", ["redis"])
    assert "redis unreachable" in str(body["message"])
    assert took < PROBE_BUDGET_S
    assert ready_again(ops_server) == 200


def test_readyz_answers_503_naming_the_database_while_it_is_unreachable(ops_server: OpsServer) -> None:
    assert probe(ops_server, "/readyz")[0] == 200

    ops_server.database.cut()
    try:
        status, body, took = probe(ops_server, "/readyz")
        health = probe(ops_server, "/healthz")
    finally:
        ops_server.database.restore()

    assert (status, body["error"], body["unreachable"]) == (503, "not_ready", ["database"])
    assert "database unreachable" in str(body["message"])
    assert took < PROBE_BUDGET_S
    assert health[:2] == (200, {"status": "ok"}) and health[2] < 0.5
    assert ready_again(ops_server) == 200
