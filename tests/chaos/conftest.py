"""What every chaos test stands on: a fresh PostgreSQL database, the queue tests' Redis database, a
counting server, a trigger-then-five-`http_request` workflow, and `trellis worker` processes the
test starts, kills and replaces (every one still alive is killed after the test)."""

from __future__ import annotations

import itertools
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from runtime.config import get_settings
from runtime.executor.dispatch import start_run, trigger_payload
from runtime.store import RunTrigger, ensure_database, ensure_local_workspace, get_engine, session_scope
from tests.chaos.counting_server import CountingServer
from tests.chaos.workflow import five_calls
from tests.processes import kill_group, start_worker
from tests.runtime.executor.conftest import REDIS_URL, reset_caches, store_workflow

CONCURRENCY = 4
"""Runs one chaos worker executes at once."""
READY_LINE = "takes runs from"
"""What `trellis worker` logs once it takes jobs."""
FAST_LEASES = {
    "TRELLIS_HEARTBEAT_S": "1", "TRELLIS_LEASE_S": "4", "TRELLIS_REAPER_INTERVAL_S": "1",
    "TRELLIS_RECONCILE_INTERVAL_S": "2", "TRELLIS_WORKER_GRACE_S": "20", "TRELLIS_MAX_RUN_ATTEMPTS": "3",
}  # fmt: skip
"""Lease settings short enough for a lost worker's runs to move on within ~5 s (lease = 4 heartbeats),
and for runs Redis lost to be queued again within ~2 s."""


@dataclass
class Chaos:
    """One chaos test's world: its settings, server, workflow, runs (by tag) and live workers (by name)."""

    env: dict[str, str]
    server: CountingServer
    logs: Path
    workspace_id: str
    workflow_id: str
    runs: dict[str, str] = field(default_factory=dict)
    """Run id by tag: the `n` in the run's input, the first part of every path it calls."""
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _names: Iterator[int] = field(default_factory=itertools.count)

    def start_worker(self, *options: str, **env: str) -> str:
        """Start one more `trellis worker` (4 runs at once, `env` over the test's); returns its name."""
        name = f"chaos-{next(self._names)}"
        self.workers[name] = start_worker({**self.env, **env}, name, "--concurrency", str(CONCURRENCY), *options,
                                          log=self.logs / f"{name}.log")  # fmt: skip
        return name

    def kill(self, name: str) -> None:
        """`kill -9` the worker's whole process group."""
        kill_group(self.workers.pop(name))

    def start_runs(self, count: int) -> list[str]:
        """Enqueue `count` runs of the workflow with the next free tags; returns their ids."""
        started = []
        for _ in range(count):
            tag = str(len(self.runs))
            run_id, _ = start_run(get_settings(), self.workspace_id, self.workflow_id, trigger_payload({"n": int(tag)}),
                                  RunTrigger.API)  # fmt: skip
            self.runs[tag] = run_id
            started.append(run_id)
        return started

    def unfinished(self) -> int:
        """How many runs are still queued or running."""
        with get_engine().connect() as connection:
            query = sa.text("SELECT count(*) FROM run WHERE status IN ('queued', 'running')")
            return int(connection.execute(query).scalar_one())

    def holding_runs(self) -> list[str]:
        """The live workers holding a run lease now (a worker still starting holds none), by name."""
        query = sa.text("SELECT DISTINCT lease_owner FROM run WHERE status = 'running' AND lease_owner IS NOT NULL")
        with get_engine().connect() as connection:
            owners = {str(owner).partition("~")[0] for owner in connection.execute(query).scalars()}
        return sorted(owners & set(self.workers))  # lease owners are `<worker name>~<tag>`

    def wait_holding(self, name: str, timeout_s: float = 60) -> None:
        """Block until the worker holds a run lease; fail with its log if it does not in time."""
        self._wait(lambda: name in self.holding_runs(), f"worker {name} took no run", name, timeout_s)

    def wait_ready(self, name: str, timeout_s: float = 60) -> None:
        """Block until the worker takes jobs (it logged so, after its warm-up run). A loaded machine
        may need many seconds to start one: a test timing a takeover must not count them."""
        self._wait(lambda: READY_LINE in self.worker_log(name), f"worker {name} did not start", name, timeout_s)

    def wait_any_holding(self, timeout_s: float = 60) -> list[str]:
        """Block until some live worker holds a run lease; returns those that do."""
        self._wait(self.holding_runs, "no worker took a run", None, timeout_s)
        return self.holding_runs()

    def _wait(self, done: Callable[[], object], failure: str, name: str | None, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                names = [name] if name else list(self.workers)
                logs = "\n".join(f"{worker}:\n{self.worker_log(worker)}" for worker in names)
                pytest.fail(f"{failure} within {timeout_s} s:\n{logs}")
            time.sleep(0.1)

    def open_transactions(self) -> list[str]:
        """Sessions on the test database in a transaction (and maybe holding its row locks): their state,
        what they wait for, for how long and their last statement: what blocks a takeover when a worker
        froze mid-write."""
        query = sa.text(
            "SELECT state, wait_event_type, wait_event, extract(epoch FROM now() - xact_start), query "
            "FROM pg_stat_activity WHERE datname = current_database() AND xact_start IS NOT NULL "
            "AND pid <> pg_backend_pid()"
        )
        with get_engine().connect() as connection:
            return [f"{state} ({kind}:{event}) for {age:.1f} s after: {text}"
                    for state, kind, event, age, text in connection.execute(query)]  # fmt: skip

    def worker_log(self, name: str) -> str:
        """The last lines a worker wrote (for failure messages)."""
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.fixture
def chaos(make_pg_database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chaos]:  # type: ignore[no-untyped-def]
    """A fresh database, an emptied Redis database, a counting server and the five-call workflow."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()  # the queue tests' own database (TRELLIS_TEST_QUEUE_REDIS_URL), never another
    except redis.exceptions.ConnectionError as error:
        pytest.fail(f"Redis is unreachable at {REDIS_URL}: {error}", pytrace=False)
    server = CountingServer()
    env = {
        "TRELLIS_DATABASE_URL": make_pg_database(), "TRELLIS_REDIS_URL": REDIS_URL,
        "TRELLIS_DATA_DIR": str(tmp_path / "data"), "TRELLIS_SSRF_ALLOWED_CIDRS": "127.0.0.0/8",
        "TRELLIS_EGRESS_ALLOWED_PORTS": f"80,443,{server.port}", **FAST_LEASES,
    }  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_caches()
    ensure_database()
    with session_scope(get_engine()) as session:
        workspace_id = ensure_local_workspace(session).id
    logs = tmp_path / "logs"
    logs.mkdir()
    world = Chaos(env, server, logs, workspace_id, store_workflow(workspace_id, five_calls(server)))
    yield world
    for worker in world.workers.values():
        kill_group(worker)  # how a test's leftovers stop is not what it tests
    server.close()
    client.flushdb()
    client.close()
    reset_caches()
