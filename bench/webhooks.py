"""Webhook benchmark: load on `webhook_trigger -> set -> output` workflows through a real `trellis serve`
on PostgreSQL, answering `when_finished` and `immediately`, in the default mode and in queue mode
(Redis) with 1 and 2 `trellis worker`s. Prints executions/s and p50/p95/p99 latency (medians of
`--repeats` rounds) and checks that every 2xx produced exactly one stored, finished run. The queue
line with 0 workers measures the web side alone: `immediately` calls accepted per second.

Usage: `.venv/bin/python bench/webhooks.py [--requests 600] [--concurrency 16] [--repeats 3]`
with PostgreSQL (`TRELLIS_TEST_PG_URL`) and Redis (`TRELLIS_BENCH_REDIS_URL`, a database of its own)
on loopback. The load generator runs on the same machine and takes CPU from the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis
import sqlalchemy as sa
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.pg_databases import PgDatabases  # noqa: E402

PG_SERVER = os.environ.get("TRELLIS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TRELLIS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
TRELLIS = str(Path(sys.executable).with_name("trellis"))
READY_TIMEOUT_S = 600


@dataclass(frozen=True)
class Round:
    """One load round: throughput, latencies of 2xx answers (ms), and the run check."""

    executions_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    non_2xx: int
    check: str


def document(respond: str) -> dict[str, Any]:
    """`webhook_trigger -> set -> output`, echoing the request number `n`; limits out of the way."""
    params = {"respond": respond, "rate_limit_per_minute": 100_000, "rate_limit_burst": 100_000}
    nodes = [
        {"id": "hook", "type": "webhook_trigger", "params": params},
        {"id": "shape", "type": "set", "params": {"fields": {"n": "{{ trigger.body.n }}"}}},
        {"id": "result", "type": "output"},
    ]
    for index, node in enumerate(nodes):
        node.update(type_version=1, position={"x": 260 * index, "y": 0})
    edges = [{"id": "e1", "source": "hook", "target": "shape"}, {"id": "e2", "source": "shape", "target": "result"}]
    return {"format": "trellis.workflow", "format_version": 1, "name": f"bench {respond}", "nodes": nodes,
            "edges": edges, "settings": {"timeout_s": 60}}  # fmt: skip


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[Any]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def serve(env: dict[str, str]) -> Iterator[str]:
    """`trellis serve` until the block ends; yields its base URL."""
    port = free_port()
    process = subprocess.Popen([TRELLIS, "serve"], env={**env, "TRELLIS_PORT": str(port)}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        assert process.stdout is not None
        for line in process.stdout:
            if "is ready at" in line:
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"trellis serve did not start: {line}")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


@contextlib.contextmanager
def workers(env: dict[str, str], count: int) -> Iterator[None]:
    processes = [subprocess.Popen([TRELLIS, "worker"], env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for _ in range(count)]  # fmt: skip
    time.sleep(3)  # let them warm up and subscribe
    try:
        yield
    finally:
        for process in processes:
            stop(process)


def store_hooks(database_url: str, public_url: str) -> dict[str, tuple[str, str]]:
    """Both bench workflows stored; respond mode -> (hook URL, workflow id)."""
    from sqlmodel import Session

    from runtime.config import get_settings
    from runtime.store import ensure_local_workspace, make_engine
    from runtime.webhooks import hook_url_for_node
    from runtime.workflows import import_workflow

    settings = get_settings().model_copy(update={"public_url": public_url})
    engine = make_engine(database_url)
    hooks = {}
    with Session(engine, expire_on_commit=False) as session:
        workspace_id = ensure_local_workspace(session).id
        for respond in ("when_finished", "immediately"):
            workflow = import_workflow(session, workspace_id, document(respond))
            url = hook_url_for_node(session, settings, workspace_id, workflow.id, "hook")
            assert url is not None
            hooks[respond] = (url, workflow.id)
        session.commit()
    engine.dispose()
    return hooks


async def send(url: str, numbers: range, concurrency: int) -> tuple[list[float], dict[int, httpx.Response]]:
    """POST `{"n": n}` for every n with `concurrency` clients; latencies (ms) of 2xx answers, answers by n."""
    latencies: list[float] = []
    answers: dict[int, httpx.Response] = {}
    queue = iter(numbers)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client_loop(client: httpx.AsyncClient) -> None:
        for n in queue:
            started = time.perf_counter()
            response = await client.post(url, json={"n": n})
            if 200 <= response.status_code < 300:
                latencies.append((time.perf_counter() - started) * 1000)
            answers[n] = response

    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    return latencies, answers


def stored_runs(engine: sa.Engine, workflow_id: str, numbers: range) -> tuple[dict[int, list[str]], float]:
    """The statuses of the workflow's runs per request number in `numbers`, and when the last one finished."""
    query = sa.text("SELECT status, input, finished_at FROM run WHERE workflow_id = :id")
    by_number: dict[int, list[str]] = {n: [] for n in numbers}
    last_finished = 0.0
    with engine.connect() as connection:
        for status, payload, finished_at in connection.execute(query, {"id": workflow_id}):
            n = payload["body"]["n"]
            if n in by_number:
                by_number[n].append(status)
                last_finished = max(last_finished, finished_at.timestamp() if finished_at else 0.0)
    return by_number, last_finished


def one_round(
    engine: sa.Engine, url: str, workflow_id: str, numbers: range, concurrency: int, *, executed: bool = True
) -> Round:
    """Send the load, wait for every accepted run to end, and check one finished run per 2xx.

    With `executed=False` (no workers) the rate is of acceptances, and each 2xx must have one queued run.
    """
    started = time.time()
    latencies, answers = asyncio.run(send(url, numbers, concurrency))
    answered = time.time()
    accepted = [n for n, response in answers.items() if 200 <= response.status_code < 300]
    deadline = time.monotonic() + 120
    while True:  # `immediately` answers before its run ends: the round lasts until the last run ended.
        runs, last_finished = stored_runs(engine, workflow_id, numbers)
        ended = all(runs[n] and runs[n][0] not in ("queued", "running") for n in accepted)
        if not executed or ended or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    expected = ["succeeded"] if executed else ["queued"]
    problems = [n for n in accepted if runs[n] != expected]
    wrong_output = [n for n in accepted if answers[n].status_code == 200 and answers[n].json() != {"n": n}]
    check = "ok" if not problems and not wrong_output else f"FAILED: runs {problems[:5]}, outputs {wrong_output[:5]}"
    elapsed = max(answered, last_finished) - started
    return Round(len(accepted) / elapsed, percentile(latencies, 0.5), percentile(latencies, 0.95),
                 percentile(latencies, 0.99), len(answers) - len(accepted), check)  # fmt: skip


def median_round(rounds: list[Round]) -> str:
    """`exec/s p50 p95 p99` as medians over the rounds, with the spread of exec/s and the checks."""
    rates = [r.executions_per_s for r in rounds]
    p50, p95, p99 = (statistics.median(getattr(r, f) for r in rounds) for f in ("p50_ms", "p95_ms", "p99_ms"))
    checks = {r.check for r in rounds}
    non_2xx = sum(r.non_2xx for r in rounds)
    return (f"{statistics.median(rates):7.1f} exec/s (min {min(rates):.1f}, max {max(rates):.1f})  "
            f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms  non-2xx {non_2xx}  "
            f"check {'ok' if checks == {'ok'} else checks}")  # fmt: skip


def bench_mode(label: str, env: dict[str, str], worker_counts: list[int], args: argparse.Namespace) -> None:
    """Serve with `env`, store both workflows, and print one line per (workers, respond mode)."""
    from runtime.store import make_engine

    engine = make_engine(env["TRELLIS_DATABASE_URL"])
    with serve(env) as base_url:
        hooks = store_hooks(env["TRELLIS_DATABASE_URL"], base_url)
        next_n = 0
        for count in worker_counts:
            # Queue mode without workers measures the web side alone: acceptances of `immediately` calls.
            accept_only = "TRELLIS_REDIS_URL" in env and count == 0
            with workers(env, count) if count else contextlib.nullcontext():
                for respond, (url, workflow_id) in hooks.items():
                    if accept_only and respond != "immediately":
                        continue
                    one_round(engine, url, workflow_id, range(next_n, next_n + 50), args.concurrency,
                              executed=not accept_only)  # warm-up  # fmt: skip
                    next_n += 50
                    rounds = []
                    for _ in range(args.repeats):
                        numbers = range(next_n, next_n + args.requests)
                        next_n += args.requests
                        rounds.append(one_round(engine, url, workflow_id, numbers, args.concurrency,
                                                executed=not accept_only))  # fmt: skip
                    where = label if "TRELLIS_REDIS_URL" not in env else f"{label}, {count} worker(s)"
                    where = f"{label}, accept only" if accept_only else where
                    print(f"{where:<22} {respond:<14} {median_round(rounds)}", flush=True)
            if accept_only:  # the accepted runs stay queued and out of the way of the rounds with workers
                redis.Redis.from_url(env["TRELLIS_REDIS_URL"]).delete("rq:queue:trellis")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=600, help="Calls per round.")
    parser.add_argument("--concurrency", type=int, default=16, help="Calls in flight at once.")
    parser.add_argument("--repeats", type=int, default=3, help="Rounds per figure (medians are printed).")
    parser.add_argument("--modes", default="default,queue", help="Which of default,queue to run.")
    args = parser.parse_args()

    key = Fernet.generate_key().decode()
    os.environ["TRELLIS_SECRET_KEYS"] = key  # this process encrypts the hook tokens the server reads
    from runtime.store import ensure_database

    with throwaway_database() as database_url, tempfile.TemporaryDirectory() as data_dir:
        ensure_database(database_url)
        env = {key_: value for key_, value in os.environ.items() if key_ != "TRELLIS_REDIS_URL"}
        env.update(TRELLIS_DATABASE_URL=database_url, TRELLIS_DATA_DIR=data_dir,
                   TRELLIS_WEBHOOK_CLIENT_RATE_LIMIT_PER_MINUTE="10000000")  # fmt: skip
        print(f"{args.requests} calls per round, {args.concurrency} in flight, medians of {args.repeats} rounds")
        if "default" in args.modes:
            bench_mode("default (in-process)", env, [0], args)
        if "queue" in args.modes:
            redis.Redis.from_url(REDIS_URL).flushdb()
            bench_mode("queue", {**env, "TRELLIS_REDIS_URL": REDIS_URL}, [0, 1, 2], args)
            redis.Redis.from_url(REDIS_URL).flushdb()


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A new PostgreSQL database on PG_SERVER for one bench run, dropped afterwards; yields its URL."""
    databases = PgDatabases(PG_SERVER)
    try:
        yield databases()
    finally:
        databases.drop_all()


if __name__ == "__main__":
    main()
