"""Scale-out benchmark: executions/s of `webhook_trigger -> set -> output` runs with 1, 2 and 3 `trellis worker`s
behind the `trellis cluster` setup (2 web processes, a scheduler, PostgreSQL, Redis; `runtime.cluster`).

Two ways in, per worker count, medians of `--repeats` rounds:
- `webhooks`: `--requests` POSTs answered `immediately`, half to each web process (`--concurrency` in flight
  per web process); the rate counts from the first call to the last run finished.
- `enqueued`: the same number of runs stored and queued directly (`start_run`, as a webhook does) while the
  workers are paused (SIGSTOP), then resumed: the rate is the workers' drain rate alone.
Each round checks that every accepted call or queued run ended `succeeded` exactly once. CPU per process
is the CPU time each process tree used during the rounds (psutil), in % of one core.

Usage: `.venv/bin/python bench/scale.py [--requests 300] [--repeats 3]` with PostgreSQL
(`TRELLIS_TEST_PG_URL`) and Redis (`TRELLIS_BENCH_REDIS_URL`, a database of its own) on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import psutil
import redis
import sqlalchemy as sa
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.webhooks import REDIS_URL, free_port, send, stored_runs, throwaway_database  # noqa: E402
from runtime.cluster import (  # noqa: E402
    TRELLIS,
    WORKER_READY_LINE,
    Cluster,
    ClusterPlan,
    Member,
    logged,
    running_cluster,
    start,
    stop_members,
    wait_ready,
)

WORKER_COUNTS = (1, 2, 3)


def start_workers(plan: ClusterPlan, count: int) -> list[Member]:
    """`count` workers on the cluster's database and Redis, ready."""
    env = {**os.environ, "TRELLIS_DATABASE_URL": plan.settings.resolved_database_url,
           "TRELLIS_REDIS_URL": str(plan.settings.redis_url)}  # fmt: skip
    members = []
    for index in range(1, count + 1):
        log = plan.data_dir / "logs" / f"workers-{count}-worker-{index}.log"  # fresh: readiness reads it
        process = start(f"worker-{index}", [TRELLIS, "worker", "--name", f"worker-{index}"], env, log)
        members.append(Member(f"worker-{index}", process, log, ready=logged(log, WORKER_READY_LINE)))
    wait_ready(Cluster(members))
    return members


def wait_ended(engine: sa.Engine, workflow_id: str, numbers: range, timeout_s: float = 300) -> tuple[str, float]:
    """Once no run of the workflow is queued or running: 'ok' when each of `numbers` has one succeeded run
    (else what is wrong), and when the last one finished. Polls with a count, to leave the CPU to the cluster."""
    going = sa.text("SELECT count(*) FROM run WHERE workflow_id = :id AND status IN ('queued', 'running')")
    deadline = time.monotonic() + timeout_s
    with engine.connect() as connection:
        while connection.execute(going, {"id": workflow_id}).scalar_one() and time.monotonic() < deadline:
            connection.commit()  # a fresh snapshot for the next look
            time.sleep(0.1)
    runs, last_finished = stored_runs(engine, workflow_id, numbers)
    wrong = [n for n in numbers if runs[n] != ["succeeded"]]
    return ("ok" if not wrong else f"FAILED {wrong[:5]}"), last_finished


def webhook_round(
    engine: sa.Engine, hook_urls: list[str], workflow_id: str, concurrency: int, numbers: range
) -> tuple[float, str]:
    """POST every number, alternating between the web processes; (executions/s, check)."""
    started = time.time()

    async def both() -> None:
        await asyncio.gather(*(send(url, numbers[index :: len(hook_urls)], concurrency)
                               for index, url in enumerate(hook_urls)))  # fmt: skip

    asyncio.run(both())
    check, last_finished = wait_ended(engine, workflow_id, numbers)
    return len(numbers) / (last_finished - started), check


def enqueued_round(
    engine: sa.Engine, workers: list[Member], workspace_id: str, workflow_id: str, numbers: range
) -> tuple[float, str]:
    """Queue every number while the workers are paused, resume them; (executions/s, check)."""
    from runtime.config import get_settings
    from runtime.executor.dispatch import start_run, trigger_payload
    from runtime.store import RunTrigger

    for worker in workers:
        os.killpg(worker.process.pid, signal.SIGSTOP)  # the queue fills first
    for n in numbers:
        start_run(get_settings(), workspace_id, workflow_id, trigger_payload({"n": n}), RunTrigger.WEBHOOK)
    started = time.time()
    for worker in workers:
        os.killpg(worker.process.pid, signal.SIGCONT)
    check, last_finished = wait_ended(engine, workflow_id, numbers)
    return len(numbers) / (last_finished - started), check


class CpuMeter:
    """CPU seconds used by process trees (and PostgreSQL, Redis) between `start` and `read`."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self.before: dict[str, float] = {}
        self.started = 0.0

    def _tree_seconds(self, pid: int) -> float:
        total = 0.0
        try:
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                times = process.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
        return total

    def _by_name(self, name: str) -> float:
        return sum(self._tree_seconds(p.pid) for p in psutil.process_iter(["name"]) if p.info["name"] == name)

    def _sample(self) -> dict[str, float]:
        sample = {label: self._tree_seconds(pid) for label, pid in self.roots.items()}
        sample["postgres"], sample["redis"] = self._by_name("postgres"), self._by_name("redis-server")
        own = psutil.Process().cpu_times()  # this process alone: the cluster's processes are its children
        sample["bench client"] = own.user + own.system
        return sample

    def start(self) -> None:
        self.before, self.started = self._sample(), time.monotonic()

    def read(self) -> str:
        """`label NN%` per process, in % of one core over the measured time."""
        after, elapsed = self._sample(), time.monotonic() - self.started
        shares = {label: 100 * (after[label] - self.before.get(label, 0.0)) / elapsed for label in after}
        return "  ".join(f"{label} {share:.0f}%" for label, share in shares.items())


def measure(label: str, repeats: int, one_round: Callable[[range], tuple[float, str]], meter: CpuMeter,
            next_n: list[int], size: int) -> float:  # fmt: skip
    """A warm-up round, then `repeats` measured ones; prints the median line and the CPU shares and returns
    the median rate."""
    one_round(range(next_n[0], next_n[0] + 50))
    next_n[0] += 50
    rates, checks = [], set()
    meter.start()
    for _ in range(repeats):
        rate, check = one_round(range(next_n[0], next_n[0] + size))
        next_n[0] += size
        rates.append(rate)
        checks.add(check)
    print(f"{label:<26} {statistics.median(rates):7.1f} exec/s (min {min(rates):.1f}, max {max(rates):.1f})  "
          f"check {'ok' if checks == {'ok'} else checks}", flush=True)  # fmt: skip
    print(f"{'':<26} CPU: {meter.read()}", flush=True)
    return statistics.median(rates)


def print_table(rates: dict[int, tuple[float, float]]) -> None:
    """The medians per worker count, one row each."""
    print("\n| Workers | Webhooks (exec/s) | Enqueued (exec/s) |\n|---|---|---|")
    for count, (by_webhook, by_queue) in rates.items():
        print(f"| {count} | {by_webhook:.1f} | {by_queue:.1f} |")


def bench(plan: ClusterPlan, args: argparse.Namespace) -> None:
    """Start the cluster without workers, then measure with each worker count."""
    from bench.webhooks import store_hooks
    from runtime.store import ensure_local_workspace, make_engine, session_scope

    engine = make_engine(plan.settings.resolved_database_url)
    with session_scope(engine) as session:
        workspace_id = ensure_local_workspace(session).id
    hook_url, workflow_id = store_hooks(plan.settings.resolved_database_url, "http://x")["immediately"]
    next_n, rates = [0], {}
    with running_cluster(plan) as cluster:
        hook_urls = [f"{web.url}{hook_url.removeprefix('http://x')}" for web in cluster.of_kind("web")]
        for count in WORKER_COUNTS:
            workers = start_workers(plan, count)
            roots = {m.name: m.process.pid for m in [*cluster.members, *workers]}
            meter = CpuMeter(roots)
            try:
                by_webhook = partial(webhook_round, engine, hook_urls, workflow_id, args.concurrency)
                by_queue = partial(enqueued_round, engine, workers, workspace_id, workflow_id)
                rates[count] = (
                    measure(f"{count} worker(s), webhooks", args.repeats, by_webhook, meter, next_n, args.requests),
                    measure(f"{count} worker(s), enqueued", args.repeats, by_queue, meter, next_n, args.requests),
                )
            finally:
                stop_members(workers, plan.settings.worker_grace_s)
    engine.dispose()
    print_table(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="Runs per round.")
    parser.add_argument("--concurrency", type=int, default=8, help="Webhook calls in flight per web process.")
    parser.add_argument("--repeats", type=int, default=3, help="Rounds per figure (medians are printed).")
    args = parser.parse_args()

    with throwaway_database() as database_url:
        os.environ.update(TRELLIS_DATABASE_URL=database_url, TRELLIS_REDIS_URL=REDIS_URL,
                          TRELLIS_SECRET_KEYS=Fernet.generate_key().decode(),
                          TRELLIS_WEBHOOK_CLIENT_RATE_LIMIT_PER_MINUTE="10000000")  # fmt: skip
        redis.Redis.from_url(REDIS_URL).flushdb()
        from runtime.config import Settings, get_settings
        from runtime.secrets import _default_ring
        from runtime.store import ensure_database

        get_settings.cache_clear()  # read at import already: this process encrypts the hook tokens with the key too
        _default_ring.cache_clear()
        try:
            ensure_database(database_url)
            with tempfile.TemporaryDirectory() as data_dir:
                plan = ClusterPlan(Settings(), Path(data_dir), web_ports=(free_port(), free_port()), workers=0)
                print(f"{os.cpu_count()} CPUs; 2 web processes ({plan.web_workers} server process(es) each), a "
                      f"scheduler; {args.requests} runs per round, medians of {args.repeats}", flush=True)  # fmt: skip
                bench(plan, args)
        finally:
            redis.Redis.from_url(REDIS_URL).flushdb()


if __name__ == "__main__":
    main()
