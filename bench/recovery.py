"""Recovery benchmark: how long a run waits after its worker is `kill -9`ed, and what checkpoints cost.

Usage: `.venv/bin/python bench/recovery.py [--kills 5] [--nodes 10] [--runs 30] [--repeats 3]` with
PostgreSQL (`TRELLIS_TEST_PG_URL`) and Redis (`TRELLIS_BENCH_REDIS_URL`, a database of its own: it
is flushed) on loopback.

- Recovery: two `trellis worker`s with the default lease settings (heartbeat 5 s, lease 15 s, reaper
  5 s; T1.1 asks for resume within 30 s) run a trigger -> five `http_request` workflow. For each
  kill, one run is started; while its second node waits on the server, the process group of the
  worker holding the run (its `lease_owner`) gets SIGKILL and a replacement is started. Measured
  from the kill: the claim with a higher `lease_epoch` (the resume), and the in-flight node's second
  call reaching the server. Prints every kill, then median and max.
- Checkpoints: a chain of no-op nodes run by the engine with no checkpointer, and with the durable
  checkpointer (`durability="sync"`) on PostgreSQL and on SQLite; the extra time per node is the cost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import redis
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.engine import REDIS_URL, configure, fresh_pg_database, time_chain  # noqa: E402
from tests.chaos.counting_server import CountingServer  # noqa: E402
from tests.chaos.workflow import five_calls  # noqa: E402
from tests.processes import kill_group, start_worker, stop_group  # noqa: E402

HELD_S = 60.0
"""The in-flight node's first answer is held this long: the kill always lands inside it."""
RESUME_TIMEOUT_S = 120


def start_one_run(workspace_id: str, workflow_id: str, tag: int) -> str:
    from runtime.config import get_settings
    from runtime.executor.dispatch import start_run, trigger_payload
    from runtime.store import RunTrigger

    return start_run(get_settings(), workspace_id, workflow_id, trigger_payload({"n": tag}), RunTrigger.API)[0]


def lease(run_id: str) -> tuple[str | None, int, str]:
    """The run's `lease_owner`, `lease_epoch` and status."""
    from runtime.store import get_engine

    query = sa.text("SELECT lease_owner, lease_epoch, status FROM run WHERE id = :id")
    with get_engine().connect() as connection:
        owner, epoch, status = connection.execute(query, {"id": run_id}).one()
    return owner, int(epoch), str(status)


def holder(owner: str | None, workers: dict[str, object]) -> str:
    """The worker a lease owner names: `<worker name>~<tag>` (`runtime.executor.lease.lease_owner`)."""
    name = (owner or "").partition("~")[0]
    if name not in workers:
        raise RuntimeError(f"lease_owner {owner!r} names none of the workers {sorted(workers)}")
    return name


def wait_until(condition, timeout_s: float) -> float:  # type: ignore[no-untyped-def]
    """Poll `condition()` every 20 ms; returns the monotonic time it first held."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not reached within {timeout_s} s")
        time.sleep(0.02)
    return time.monotonic()


def recovery_times(kills: int, data_dir: str, seed: int) -> list[tuple[float, float]]:
    """(kill -> claim with a higher epoch, kill -> in-flight node called again) in seconds, per kill."""
    from runtime.store import ensure_local_workspace, get_engine, session_scope
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
    env = {**os.environ, "TRELLIS_SSRF_ALLOWED_CIDRS": "127.0.0.0/8", "TRELLIS_EGRESS_ALLOWED_PORTS": str(server.port)}
    names = iter(range(1_000_000))
    workers = {f"bench-{n}": start_worker(env, f"bench-{n}") for n in (next(names), next(names))}
    results = []
    try:
        for tag in range(kills):
            run_id = start_one_run(workspace_id, workflow_id, tag)
            wait_until(lambda tag=tag: server.calls_to(str(tag), "n2"), RESUME_TIMEOUT_S)
            time.sleep(rng.uniform(0, 2))  # somewhere inside the node
            owner, epoch, _ = lease(run_id)
            victim = holder(owner, workers)
            killed = time.monotonic()
            kill_group(workers.pop(victim))
            replacement = f"bench-{next(names)}"
            workers[replacement] = start_worker(env, replacement)
            claimed = wait_until(lambda run_id=run_id, epoch=epoch: lease(run_id)[1] > epoch, RESUME_TIMEOUT_S)
            called = wait_until(lambda tag=tag: len(server.calls_to(str(tag), "n2")) > 1, RESUME_TIMEOUT_S)
            wait_until(lambda run_id=run_id: lease(run_id)[2] == "succeeded", RESUME_TIMEOUT_S)
            results.append((claimed - killed, called - killed))
            sys.stdout.write(f"kill {tag + 1}: {victim} held the run; resumed after {claimed - killed:.1f} s, "
                             f"node called again after {called - killed:.1f} s\n")  # fmt: skip
            sys.stdout.flush()
    finally:
        for worker in workers.values():
            stop_group(worker, timeout_s=30)
        server.close()
        from runtime.store import get_engine

        get_engine().dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{sa.make_url(url).database}" WITH (FORCE)')
        client.flushdb()
    return results


async def checkpointed_chain(length: int, runs: int, database_url: str) -> float:
    """`time_chain` with the durable checkpointer on `database_url` (migrated)."""
    from runtime.executor.checkpointer import open_checkpointer

    async with open_checkpointer(database_url) as checkpointer:
        return await time_chain(length, runs, checkpointer)


def checkpoint_costs(length: int, runs: int, repeats: int, data_dir: str) -> list[tuple[str, float]]:
    """(label, ms per node) without checkpoints, then with them on PostgreSQL and SQLite (medians)."""
    bare = statistics.median(asyncio.run(time_chain(length, runs)) for _ in range(repeats))
    rows = [(f"engine, {length}-node chain, no checkpointer", bare * 1000)]
    url, admin = fresh_pg_database()
    try:
        for name, database_url in (("PostgreSQL", url), ("SQLite", f"sqlite:///{data_dir}/checkpoints.db")):
            configure(database_url, None, data_dir)
            saved = statistics.median(asyncio.run(checkpointed_chain(length, runs, database_url))
                                      for _ in range(repeats))  # fmt: skip
            rows.append((f"  + checkpoints on {name} (sync)", saved * 1000))
            rows.append((f"    checkpoint cost on {name}", (saved - bare) * 1000))
    finally:
        from runtime.store import get_engine

        get_engine().dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{sa.make_url(url).database}" WITH (FORCE)')
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=5, help="worker kills to time (each takes ~15-25 s)")
    parser.add_argument("--nodes", type=int, default=10, help="no-op nodes in the checkpoint chain")
    parser.add_argument("--runs", type=int, default=30, help="runs per checkpoint measurement")
    parser.add_argument("--repeats", type=int, default=3, help="checkpoint measurements (median taken)")
    parser.add_argument("--seed", type=int, default=None, help="kill points within the node (random if unset)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
    data_dir = tempfile.mkdtemp(prefix="trellis-bench-")
    rows: list[tuple[str, str]] = []
    if args.kills:
        sys.stdout.write(f"seed {seed}; default leases (heartbeat 5 s, lease 15 s, reaper 5 s)\n")
        times = recovery_times(args.kills, data_dir, seed)
        for label, values in (("kill -> resumed (higher epoch)", [t[0] for t in times]),
                              ("kill -> in-flight node called again", [t[1] for t in times])):  # fmt: skip
            rows.append((label, f"median {statistics.median(values):.1f} s, max {max(values):.1f} s"))
    for label, per_node_ms in checkpoint_costs(args.nodes, args.runs, args.repeats, data_dir):
        rows.append((label, f"{per_node_ms:.3f} ms/node"))
    width = max(len(name) for name, _ in rows)
    sys.stdout.write(f"{'measure'.ljust(width)}  value\n")
    for name, value in rows:
        sys.stdout.write(f"{name.ljust(width)}  {value}\n")


if __name__ == "__main__":
    main()
