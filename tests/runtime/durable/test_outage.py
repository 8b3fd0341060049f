"""A database outage under a running `trellis worker` (PostgreSQL frozen behind a proxy, like SIGSTOP):
the worker survives, stays live (`/healthz`) and says it is not ready, and its run completes once the
database is back."""

from __future__ import annotations

import time

import httpx
import sqlalchemy as sa

from runtime.config import get_settings
from runtime.executor.dispatch import start_run, trigger_payload
from runtime.store import Run, RunStatus, RunTrigger, get_engine, session_scope
from tests.loopback import LoopbackServer
from tests.ops.tcp_proxy import TcpProxy
from tests.processes import free_port, start_worker, stop_group
from tests.runtime.executor.conftest import QueueMode, store_workflow
from tests.runtime.executor.test_in_process import document
from tests.runtime.executor.test_rq import _workspace_id, wait_until_finished

OUTAGE_S = 6


def readyz(port: int) -> httpx.Response | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
    except httpx.TransportError:
        return None


def healthz(port: int) -> tuple[int, object, float]:
    """Status, JSON body and seconds taken of the worker's liveness probe."""
    began = time.monotonic()
    answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
    return answer.status_code, answer.json(), time.monotonic() - began


def wait_until_answering(port: int, within_s: float = 90) -> httpx.Response:
    """The first answer of a worker's metrics port (its child process takes a few seconds to start)."""
    deadline = time.monotonic() + within_s
    while (answer := readyz(port)) is None:
        assert time.monotonic() < deadline, "the worker's metrics port never answered"
        time.sleep(0.2)
    return answer


def test_a_worker_outlives_a_database_outage_reports_it_and_its_run_completes(queue_mode: QueueMode) -> None:
    slow = LoopbackServer(delay_s=2)
    database = sa.make_url(queue_mode.env["TRELLIS_DATABASE_URL"])
    proxy = TcpProxy(database.port or 5432, database.host or "127.0.0.1")
    metrics_port = free_port()
    env = {
        **queue_mode.env, "TRELLIS_EGRESS_ALLOWED_PORTS": f"80,443,{slow.port}",
        "TRELLIS_DATABASE_URL": database.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        "TRELLIS_LEASE_S": "3", "TRELLIS_HEARTBEAT_S": "0.5", "TRELLIS_REAPER_INTERVAL_S": "0.5",
    }  # fmt: skip
    workspace_id = _workspace_id()
    workflow_id = store_workflow(workspace_id, document([
        {"id": "start", "type": "manual_trigger"},
        {"id": "fetch", "type": "http_request", "params": {"url": slow.url("/slow")}},
        {"id": "result", "type": "output", "params": {"value": "{{ nodes.fetch.output.status }}"}},
    ]))  # fmt: skip
    worker = start_worker(env, "outage-worker", "--metrics-port", str(metrics_port))
    time.sleep(8)
    try:
        run_id = start_run(get_settings(), workspace_id, workflow_id, trigger_payload({}), RunTrigger.API)[0]
        deadline = time.monotonic() + 60
        while slow.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert slow.requests == 1
        before = wait_until_answering(metrics_port)
        proxy.blackhole()
        time.sleep(2)
        during = readyz(metrics_port)
        alive = healthz(metrics_port)
        time.sleep(OUTAGE_S - 2)  # longer than the lease: another claim may take the run over
        proxy.heal()

        assert wait_until_finished([run_id], timeout_s=60)[run_id] is RunStatus.SUCCEEDED
        assert worker.poll() is None, "the worker died during the outage"
        after = readyz(metrics_port)
    finally:
        stop_group(worker, timeout_s=20)
        proxy.cut()
        slow.close()
    assert before.status_code == 200
    assert during is not None and during.status_code == 503
    assert during.json()["unreachable"] == ["database"]
    # Liveness checks nothing shared: the outage must not get the worker restarted
    assert alive[:2] == (200, {"status": "ok"}) and alive[2] < 0.5
    assert after is not None and after.status_code == 200
    with session_scope(get_engine()) as session:
        run = session.get(Run, run_id)
    assert run is not None and run.output == 200
