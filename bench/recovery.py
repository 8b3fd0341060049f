"""Recovery benchmark: how long a run waits after its worker is `kill -9`ed, and what checkpoints cost.

Usage: `.venv/bin/python bench/recovery.py [--kills 5] [--nodes 10] [--runs 30] [--repeats 3]` with
PostgreSQL (`TRELLIS_TEST_PG_URL`) and Redis (`TRELLIS_BENCH_REDIS_URL`, a database of its own: it
is flushed) on loopback.

- Recovery: two `trellis worker`s with the default lease settings (heartbeat 5 s, lease 15 s, reaper
  5 s; T1.1 asks for resume within 30 s) run a trigger -> five `http_request` workflow. For each
  kill, one run is started; while its second node waits on the server, the process group of the
  worker holding the run (its `lease_owner`) gets SIGKILL and a replacement is started. Measured
  from the kill: the reaper queuing the run again (a higher `lease_epoch`), the `run_resumed` event
  of the claim that resumes it, and the in-flight node's second call reaching the server. Prints
  every kill, then median and max.
- Checkpoints: a chain of no-op nodes run by the engine with no checkpointer, and with the durable
  checkpointer (`durability="sync"`) on PostgreSQL and on SQLite; the extra time per node is the cost.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.engine import (  # noqa: E402
    REDIS_URL,
    configure,
    drop_pg_database,
    fresh_pg_database,
    time_chain,
    time_checkpointed_chain,
)
from tests.chaos.counting_server import CountingServer  # noqa: E402
from tests.chaos.workflow import five_calls  # noqa: E402
from tests.processes import kill_group, start_worker, stop_group  # noqa: E402

HELD_S = 60.0
"""The in-flight node's first answer is held this long: the kill always lands inside it."""
RESUME_TIMEOUT_S = 120


@dataclass
class Recovery:
    """Seconds from one kill to: the reaper queuing the run again, `run_resumed`, the node's second call."""

    requeued_s: float
    resumed_s: float
    recalled_s: float


@dataclass
class Workers:
    """The `trellis worker`s of the benchmark, by name; their output goes to `<logs>/<name>.log`."""

    env: dict[str, str]
    logs: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    names: Iterator[int] = field(default_factory=itertools.count)

    def start(self) -> None:
        name = f"bench-{next(self.names)}"
        self.running[name] = start_worker(self.env, name, log=self.logs / f"{name}.log")

    def kill(self, name: str) -> None:
        kill_group(self.running.pop(name))

    def stop_all(self) -> None:
        for worker in self.running.values():
            stop_group(worker, timeout_s=30)


def lease(run_id: str) -> tuple[str | None, int, str]:
    """The run's `lease_owner`, `lease_epoch` and status."""
    from runtime.store import get_engine

    query = sa.text("SELECT lease_owner, lease_epoch, status FROM run WHERE id = :id")
    with get_engine().connect() as connection:
        owner, epoch, status = connection.execute(query, {"id": run_id}).one()
    return owner, int(epoch), str(status)


def holder(owner: str | None, workers: dict[str, subprocess.Popen[bytes]]) -> str:
    """The worker a lease owner names: `<worker name>~<tag>` (`runtime.executor.lease.lease_owner`)."""
    name = (owner or "").partition("~")[0]
    if name not in workers:
        raise RuntimeError(f"lease_owner {owner!r} names none of the workers {sorted(workers)}")
    return name


def wait_until(condition: Callable[[], object], timeout_s: float = RESUME_TIMEOUT_S) -> datetime:
    """Poll `condition()` every 20 ms; returns when it first held."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not reached within {timeout_s} s")
        time.sleep(0.02)
    return datetime.now(UTC)


def resumed_at(run_id: str) -> datetime:
    """When the run's `run_resumed` event was stored."""
    from runtime.config import get_settings
    from runtime.events import open_event_stream

    events = asyncio.run(open_event_stream(get_settings()).history(run_id))
    stamp = next(event.time for event in events if event.type == "run_resumed")
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def time_one_kill(workers: Workers, server: CountingServer, run_id: str, tag: str, pause_s: float) -> Recovery:
    """Kill the worker holding the run `pause_s` into its second node; time what follows."""
    wait_until(lambda: server.calls_to(tag, "n2"))
    time.sleep(pause_s)
    owner, epoch, _ = lease(run_id)
    victim = holder(owner, workers.running)
    killed = datetime.now(UTC)
    workers.kill(victim)
    workers.start()
    requeued = wait_until(lambda: lease(run_id)[1] > epoch)
    wait_until(lambda: lease(run_id)[2] == "succeeded")
    recalled = server.calls_to(tag, "n2")[1].at
    return Recovery(*((moment - killed).total_seconds() for moment in (requeued, resumed_at(run_id), recalled)))


def recovery_times(kills: int, data_dir: str, seed: int) -> list[Recovery]:
    """One `Recovery` per kill, on two workers with the default lease settings."""
    from runtime.config import get_settings
    from runtime.executor.dispatch import start_run, trigger_payload
    from runtime.store import RunTrigger, ensure_local_workspace, get_engine, session_scope
    from runtime.workflows import import_workflow

    rng = random.Random(seed)
    server = CountingServer(lambda tag, node_id, before: HELD_S if (node_id, before) == ("n2", 0) else 0.05)
    url, admin = fresh_pg_database()
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    configure(url, REDIS_URL, data_dir)
    with session_scope(get_engine()) as session:
        workspace_id = ensure_local_workspace(session).id
        workflow_id = import_workflow(session, workspace_id, five_calls(server)).id
    egress = {"TRELLIS_SSRF_ALLOWED_CIDRS": "127.0.0.0/8", "TRELLIS_EGRESS_ALLOWED_PORTS": str(server.port)}
    workers = Workers({**os.environ, **egress}, Path(data_dir))
    workers.start(), workers.start()
    results = []
    try:
        for tag in range(kills):
            payload = trigger_payload({"n": tag})
            run_id, _ = start_run(get_settings(), workspace_id, workflow_id, payload, RunTrigger.API)
            results.append(time_one_kill(workers, server, run_id, str(tag), rng.uniform(0, 2)))
            times = ", ".join(f"{name} {value:.1f} s" for name, value in asdict(results[-1]).items())
            sys.stdout.write(f"kill {tag + 1}: {times}\n")
            sys.stdout.flush()
    finally:
        workers.stop_all()
        server.close()
        drop_pg_database(url, admin)
        client.flushdb()
    return results


def checkpoint_costs(length: int, runs: int, repeats: int, data_dir: str) -> list[tuple[str, float]]:
    """(label, ms per node): the bare engine, then fenced checkpoints of claimed runs on PostgreSQL and
    SQLite (`bench.engine.time_checkpointed_chain`) and their cost over the bare engine; medians."""

    def median_s(measure: Callable[[], Coroutine[Any, Any, float]]) -> float:
        return statistics.median(asyncio.run(measure()) for _ in range(repeats))

    bare = median_s(lambda: time_chain(length, runs))
    rows = [(f"engine, {length}-node chain, no checkpointer", bare * 1000)]
    url, admin = fresh_pg_database()
    try:
        for name, database_url in (("PostgreSQL", url), ("SQLite", f"sqlite:///{data_dir}/checkpoints.db")):
            configure(database_url, None, data_dir)
            saved = median_s(lambda database_url=database_url: time_checkpointed_chain(length, runs, database_url))
            rows.append((f"  + checkpoints on {name} (sync, fenced)", saved * 1000))
            rows.append((f"    checkpoint cost on {name}", (saved - bare) * 1000))
    finally:
        drop_pg_database(url, admin)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=5, help="worker kills to time (each takes ~15-25 s)")
    parser.add_argument("--nodes", type=int, default=10, help="no-op nodes in the checkpoint chain")
    parser.add_argument("--runs", type=int, default=30, help="runs per checkpoint measurement")
    parser.add_argument("--repeats", type=int, default=3, help="checkpoint measurements (median taken)")
    parser.add_argument("--seed", type=int, default=None, help="kill points within the node (random if unset)")
    args = parser.parse_args()
    # PostgreSQL mode refuses to start without a key ring; a throwaway one encrypts nothing kept.
    os.environ.setdefault("TRELLIS_SECRET_KEYS", Fernet.generate_key().decode())
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
    data_dir = tempfile.mkdtemp(prefix="trellis-bench-")
    rows: list[tuple[str, str]] = []
    if args.kills:
        sys.stdout.write(f"seed {seed}; default leases (heartbeat 5 s, lease 15 s, reaper 5 s)\n")
        times = recovery_times(args.kills, data_dir, seed)
        for label, field_name in (("kill -> reaper queued the run again", "requeued_s"),
                                  ("kill -> run_resumed (T1.1: <= 30 s)", "resumed_s"),
                                  ("kill -> in-flight node called again", "recalled_s")):  # fmt: skip
            values = [getattr(recovery, field_name) for recovery in times]
            rows.append((label, f"median {statistics.median(values):.1f} s, max {max(values):.1f} s"))
    for label, per_node_ms in checkpoint_costs(args.nodes, args.runs, args.repeats, data_dir):
        rows.append((label, f"{per_node_ms:.3f} ms/node"))
    width = max(len(name) for name, _ in rows)
    sys.stdout.write(f"{'measure'.ljust(width)}  value\n")
    for name, value in rows:
        sys.stdout.write(f"{name.ljust(width)}  {value}\n")


if __name__ == "__main__":
    main()
