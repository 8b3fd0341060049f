"""A waiting run outlives the processes that started it: approved after the web server (and, in queue mode,
the worker) were restarted, it resumes from its checkpoint; an undecided one times out on the scheduler
(the web process in the default mode, `trellis worker --scheduler` in queue mode)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from sqlmodel import Session

from runtime.store import Role, ensure_database, ensure_local_workspace, make_engine
from runtime.store.api_keys import create_api_key
from tests.api.conftest import REDIS_URL, server_env
from tests.api.v1_runs import FINISHED, wait_for
from tests.loopback import LoopbackServer
from tests.processes import Server, running_server, start_worker, stop_group
from tests.runtime.approvals.flows import refund_flow


@contextlib.contextmanager
def trellis_processes(mode: str, database_url: str, env: dict[str, str], data_dir: Path) -> Iterator[Server]:
    """The web server, plus in queue mode one worker that also runs the scheduler, until the block ends."""
    with running_server(database_url, data_dir, env) as server:
        worker = (
            start_worker({**env, "TRELLIS_DATA_DIR": str(data_dir)}, "restart-test", "--scheduler")
            if mode == "queue"
            else None
        )
        try:
            yield server
        finally:
            if worker is not None:
                stop_group(worker)


def client(server: Server, key: str) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30)


def start_waiting(api: httpx.Client, timeout_s: float | None, amount: int) -> str:
    created = api.post("/workflows", json={"document": refund_flow(timeout_s)})
    assert created.status_code == 201, created.text
    started = api.post("/runs", json={"workflow_id": created.json()["id"], "input": {"amount": amount}})
    assert started.status_code == 202, started.text
    return str(wait_for(api, started.json()["run_id"], {"waiting"})["id"])


@pytest.mark.parametrize("mode", ["default", "queue"])
def test_approve_after_restart_and_time_out_on_the_scheduler(
    mode: str,
    make_pg_database,
    secret_key: str,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    database_url = make_pg_database()
    ensure_database(database_url)
    redis_url = REDIS_URL if mode == "queue" else None
    if redis_url:
        redis.Redis.from_url(redis_url).flushdb()
    site = LoopbackServer()
    env = server_env(database_url, secret_key, site, redis_url)
    engine = make_engine(database_url)
    with Session(engine) as session:
        key = create_api_key(session, ensure_local_workspace(session).id, "restart test", Role.EDITOR).plaintext
        session.commit()
    engine.dispose()

    with trellis_processes(mode, database_url, env, tmp_path / "first") as server, client(server, key) as api:
        run_id = start_waiting(api, None, 70)
    # Nothing runs now: the run is only rows and a checkpoint in PostgreSQL.

    with trellis_processes(mode, database_url, env, tmp_path / "second") as server, client(server, key) as api:
        assert api.get(f"/runs/{run_id}").json()["status"] == "waiting"
        decided = api.post(f"/runs/{run_id}/approvals/ask", json={"decision": "approve", "comment": "later"})
        assert decided.status_code == 200, decided.text
        done = wait_for(api, run_id, FINISHED)
        assert done["status"] == "succeeded"
        nodes = [row["node_id"] for row in done["node_runs"]]
        assert nodes.count("start") == nodes.count("notify") == 1  # resumed from the checkpoint, not restarted
        last = {row["node_id"]: row for row in done["node_runs"]}
        assert last["ask"]["output"]["comment"] == "later" and last["pay"]["output"]["paid"] == 70

        timed = start_waiting(api, 1, 5)
        late = wait_for(api, timed, FINISHED, timeout_s=30)  # the scheduler sweeps every second
        last = {row["node_id"]: row for row in late["node_runs"]}
        assert late["status"] == "succeeded" and last["ask"]["output"]["decision"] == "timed_out"
        assert last["late"]["status"] == "succeeded" and last["pay"]["status"] == "skipped"
    site.close()
