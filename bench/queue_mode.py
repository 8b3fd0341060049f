"""Queue-mode benchmark: `start_run` -> `run_finished` of a webhook_trigger -> set -> output workflow.

Usage: `.venv/bin/python bench/queue_mode.py [--repeats 3] [--runs 1000] [--clients 32]
[--client-processes 1] [--workers 1 2] [--concurrency 1 8 32]` with PostgreSQL and Redis on
loopback. `TRELLIS_BENCH_REDIS_URL` picks the Redis database (it is flushed). For every worker
count and `trellis worker --concurrency`, `--clients` threads each start a run with `start_run`
(as a webhook handler does), wait for its `run_finished` event on the run's stream (as a
`when_finished` webhook does), and start the next. Prints runs/s and the p50/p95/p99 of start ->
`run_finished` latency (medians of `--repeats`), after checking that every run succeeded with its
three node runs stored.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import redis
import sqlalchemy as sa
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.engine import REDIS_URL, TRELLIS, configure, fresh_pg_database  # noqa: E402
from runtime.config import get_settings  # noqa: E402
from runtime.events import RUN_FINISHED, events_key  # noqa: E402

NODES = ("hook", "shape", "result")
DOCUMENT = {
    "format": "trellis.workflow", "format_version": 1, "name": "webhook -> set -> output",
    "nodes": [
        {"id": "hook", "type": "webhook_trigger", "type_version": 1, "params": {"respond": "when_finished"},
         "position": {"x": 0, "y": 0}},
        {"id": "shape", "type": "set", "type_version": 1, "params": {"fields": {"n": "{{ trigger.body.n }}"}},
         "position": {"x": 260, "y": 0}},
        {"id": "result", "type": "output", "type_version": 1, "params": {"value": "{{ nodes.shape.output.n }}"},
         "position": {"x": 520, "y": 0}},
    ],
    "edges": [{"id": "e1", "source": "hook", "target": "shape"}, {"id": "e2", "source": "shape", "target": "result"}],
}  # fmt: skip


def store_workflow() -> tuple[str, str]:
    """The benchmark workflow in the local workspace; returns (workspace id, workflow id)."""
    from runtime.store import ensure_local_workspace, get_engine, session_scope
    from runtime.workflows import import_workflow

    with session_scope(get_engine()) as session:
        workspace_id = ensure_local_workspace(session).id
        return workspace_id, import_workflow(session, workspace_id, DOCUMENT).id


def wait_finished(client: redis.Redis, run_id: str, timeout_s: float = 60) -> None:
    """Block until the run's stream holds `run_finished` (what a `when_finished` webhook waits for)."""
    cursor, deadline = "0-0", time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        reply = client.xread({events_key(run_id): cursor}, block=5000)
        for _, entries in reply or []:
            for entry_id, fields in entries:
                if fields[b"type"].decode() == RUN_FINISHED:
                    return
                cursor = entry_id
    raise RuntimeError(f"run {run_id} did not finish within {timeout_s} s")


def drive(clients: int, runs: int, start: Callable[[int], str]) -> tuple[float, list[float], list[str]]:
    """`clients` threads start runs and wait for each to finish; returns (runs/s, latencies in s, run ids)."""
    latencies: list[float] = []
    run_ids: list[str] = []
    counter = iter(range(runs))
    lock = threading.Lock()

    def client_loop() -> None:
        connection = redis.Redis.from_url(REDIS_URL)
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            began = time.perf_counter()
            run_id = start(n)
            wait_finished(connection, run_id)
            with lock:
                latencies.append(time.perf_counter() - began)
                run_ids.append(run_id)
        connection.close()

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return runs / (time.perf_counter() - began), latencies, run_ids


def check_stored(run_ids: list[str]) -> None:
    """Every run succeeded and stored a succeeded node run for each node; raises otherwise."""
    from sqlmodel import col, func, select

    from runtime.store import NodeRun, NodeRunStatus, Run, RunStatus, get_engine, session_scope

    with session_scope(get_engine()) as session:
        succeeded = session.exec(
            select(func.count()).where(col(Run.id).in_(run_ids), Run.status == RunStatus.SUCCEEDED)
        ).one()
        node_runs = session.exec(
            select(func.count()).where(col(NodeRun.run_id).in_(run_ids), NodeRun.status == NodeRunStatus.SUCCEEDED)
        ).one()
    if succeeded != len(run_ids) or node_runs != len(NODES) * len(run_ids):
        raise RuntimeError(f"lost work: {succeeded}/{len(run_ids)} runs, {node_runs} node runs")


def drive_processes(
    processes: int, clients: int, runs: int, start: Callable[[int], str]
) -> tuple[float, list[float], list[str]]:
    """`drive` split over `processes` forked client processes (a web tier has several), each with
    `clients / processes` threads; returns (runs/s over all of them, latencies, run ids)."""
    if processes == 1:
        return drive(clients, runs, start)
    context = multiprocessing.get_context("fork")
    results = context.Queue()

    def client_process() -> None:
        from runtime.store import get_engine

        get_engine().dispose(close=False)  # the parent's pooled connections stay the parent's
        _, latencies, run_ids = drive(clients // processes, runs // processes, start)
        results.put((latencies, run_ids))

    began = time.perf_counter()
    children = [context.Process(target=client_process) for _ in range(processes)]
    for child in children:
        child.start()
    parts = [results.get() for _ in children]
    elapsed = time.perf_counter() - began
    for child in children:
        child.join()
    latencies = [latency for part, _ in parts for latency in part]
    return len(latencies) / elapsed, latencies, [run_id for _, part in parts for run_id in part]


def measure(
    workers: int, concurrency: int, clients: int, runs: int, data_dir: str, processes: int = 1
) -> tuple[float, list[float]]:
    """One measurement on a fresh database: (runs/s, latencies)."""
    from runtime.executor.dispatch import start_run, trigger_payload
    from runtime.store import RunTrigger, get_engine

    url, admin = fresh_pg_database()
    flush = redis.Redis.from_url(REDIS_URL)
    flush.flushdb()
    configure(url, REDIS_URL, data_dir)
    command = [TRELLIS, "worker", "--concurrency", str(concurrency)]
    procs = [subprocess.Popen(command, env={**os.environ}, start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(workers)]  # fmt: skip
    try:
        workspace_id, workflow_id = store_workflow()

        def start(n: int) -> str:
            payload = trigger_payload({"n": n})
            return start_run(get_settings(), workspace_id, workflow_id, payload, RunTrigger.WEBHOOK)[0]

        drive(workers * 2, workers * 4, start)  # warm up: workers imported, connections open
        rate, latencies, run_ids = drive_processes(processes, clients, runs, start)
        check_stored(run_ids)
        return rate, latencies
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
        get_engine().dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{sa.make_url(url).database}" WITH (FORCE)')
        flush.flushdb()


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runs", type=int, default=1000, help="runs per measurement")
    parser.add_argument("--clients", type=int, default=32, help="concurrent callers of start_run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--client-processes", type=int, default=1, help="processes the clients are spread over")
    args = parser.parse_args()
    # PostgreSQL mode refuses to start without a key ring; a throwaway one encrypts nothing kept.
    os.environ.setdefault("TRELLIS_SECRET_KEYS", Fernet.generate_key().decode())
    data_dir = tempfile.mkdtemp(prefix="trellis-bench-")
    sys.stdout.write(
        f"{args.runs} runs, {args.clients} clients in {args.client_processes} process(es), medians of {args.repeats}\n"
    )
    sys.stdout.write("workers  concurrency    runs/s   p50 ms   p95 ms   p99 ms\n")
    for workers in args.workers:
        for concurrency in args.concurrency:
            results = [
                measure(workers, concurrency, args.clients, args.runs, data_dir, args.client_processes)
                for _ in range(args.repeats)
            ]
            rate = statistics.median(rate for rate, _ in results)
            p50, p95, p99 = (
                statistics.median(percentile(latencies, share) * 1000 for _, latencies in results)
                for share in (0.50, 0.95, 0.99)
            )
            sys.stdout.write(f"{workers:7d}  {concurrency:11d}  {rate:8.1f}  {p50:7.1f}  {p95:7.1f}  {p99:7.1f}\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
