"""Engine benchmarks: overhead per node (without and with checkpoints) and runs per second, in-process and on RQ.

Usage: `.venv/bin/python bench/engine.py [--repeats 5] [--runs 200]` with PostgreSQL and Redis on
loopback (as `make test` sets up). Every figure is the median of `--repeats` measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from itertools import pairwise
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runtime.config import get_settings  # noqa: E402
from runtime.engine import compile_workflow, run_compiled  # noqa: E402
from runtime.graph.schema import WorkflowDocument  # noqa: E402
from runtime.nodes import REGISTRY  # noqa: E402
from runtime.nodes.context import NodeContext, Services  # noqa: E402
from runtime.nodes.spec import NodeType, Registry  # noqa: E402

PG_SERVER = os.environ.get("TRELLIS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TRELLIS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
TRELLIS = str(Path(sys.executable).with_name("trellis"))


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


async def passthrough(params: NoParams, ctx: NodeContext) -> Any:
    """Do nothing, so that what is timed is the engine itself."""
    return ctx.input


NOOP = NodeType(type="noop", version=1, title="No-op", category="bench", description="", params=NoParams,
                inputs=("in",), outputs=("out",), run=passthrough)  # fmt: skip


def chain(node_type: str, length: int, **params: Any) -> WorkflowDocument:
    """A manual trigger followed by `length` nodes of `node_type` in a line."""
    nodes = [{"id": "start", "type": "manual_trigger", "type_version": 1, "position": {"x": 0, "y": 0}}]
    nodes += [{"id": f"n{i}", "type": node_type, "type_version": 1, "params": params,
               "position": {"x": 260 * (i + 1), "y": 0}} for i in range(length)]  # fmt: skip
    edges = [{"id": f"e{i}", "source": a["id"], "target": b["id"]} for i, (a, b) in enumerate(pairwise(nodes))]
    return WorkflowDocument.model_validate(
        {
            "format": "trellis.workflow",
            "format_version": 1,
            "name": f"{length} x {node_type}",
            "nodes": nodes,
            "edges": edges,
        }  # fmt: skip
    )


async def _ignore(*_: Any) -> None:
    return None


async def time_chain(length: int, runs: int) -> float:
    """Median seconds per node over `runs` runs of a no-op chain (compiled once)."""
    import httpx

    compiled = compile_workflow(chain("noop", length), Registry([*REGISTRY, NOOP]))
    async with httpx.AsyncClient() as http:
        services = Services(settings=get_settings(), http=http, credentials=_ignore, run_workflow=_ignore)
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            outcome = await run_compiled(compiled, {"body": {}}, run_id="bench", services=services, emit=_ignore)
            samples.append((time.perf_counter() - started) / (length + 1))
            assert outcome.status == "succeeded", outcome.error
    return statistics.median(samples)


async def time_checkpointed_chain(length: int, runs: int, database_url: str) -> float:
    """Median seconds per node of a no-op chain checkpointed as stored runs are: fenced saver, sync durability.

    Each run is a real claimed run row (the fence checks its lease epoch on every checkpoint write).
    """
    import httpx

    from runtime.executor.checkpointer import open_checkpointer

    compiled = compile_workflow(chain("noop", length), Registry([*REGISTRY, NOOP]))
    claimed = claimed_runs(runs)
    async with httpx.AsyncClient() as http, open_checkpointer(database_url) as checkpointer:
        services = Services(settings=get_settings(), http=http, credentials=_ignore, run_workflow=_ignore)
        samples = []
        for run_id, epoch in claimed:
            started = time.perf_counter()
            outcome = await run_compiled(compiled, {"body": {}}, run_id=run_id, services=services, emit=_ignore,
                                         checkpointer=checkpointer, lease_epoch=epoch)  # fmt: skip
            samples.append((time.perf_counter() - started) / (length + 1))
            assert outcome.status == "succeeded", outcome.error
    return statistics.median(samples)


def claimed_runs(count: int) -> list[tuple[str, int]]:
    """`count` stored runs claimed by a bench owner: (run id, lease epoch)."""
    from runtime.executor.dispatch import create_run, trigger_payload
    from runtime.executor.recorder import Claim, apply_writes
    from runtime.store import RunTrigger, get_engine, session_scope

    workspace_id, workflow_id = store_small_workflow()
    with session_scope(get_engine()) as session:
        run_ids = [create_run(session, workspace_id, workflow_id, trigger_payload({}), RunTrigger.API).id
                   for _ in range(count)]  # fmt: skip
    with get_engine().begin() as connection:
        claims = apply_writes(connection, [Claim(run_id, "bench", 600, 3) for run_id in run_ids])
    return [(run.id, run.lease_epoch) for run in claims]


def configure(database_url: str, redis_url: str | None, data_dir: str) -> None:
    os.environ["TRELLIS_DATABASE_URL"] = database_url
    os.environ["TRELLIS_DATA_DIR"] = data_dir
    if redis_url:
        os.environ["TRELLIS_REDIS_URL"] = redis_url
    else:
        os.environ.pop("TRELLIS_REDIS_URL", None)
    from runtime.store import ensure_database, get_engine

    get_settings.cache_clear()
    get_engine.cache_clear()
    ensure_database()


def store_small_workflow() -> tuple[str, str]:
    """A trigger -> set -> output workflow in the local workspace; returns (workspace id, workflow id)."""
    from runtime.graph.schema import dump_document
    from runtime.store import ensure_local_workspace, get_engine, session_scope
    from runtime.workflows import import_workflow

    document = dump_document(chain("set", 1, fields={"x": "{{ trigger.body.n }}"}))
    with session_scope(get_engine()) as session:
        workspace_id = ensure_local_workspace(session).id
        return workspace_id, import_workflow(session, workspace_id, document).id


def wait_all(run_ids: list[str], timeout_s: float = 600) -> None:
    from sqlmodel import col, select

    from runtime.store import Run, RunStatus, get_engine, session_scope

    deadline = time.monotonic() + timeout_s
    pending = set(run_ids)
    while pending:
        with session_scope(get_engine()) as session:
            rows = session.exec(select(Run.id, Run.status).where(col(Run.id).in_(pending))).all()
        pending -= {run_id for run_id, status in rows if status not in (RunStatus.QUEUED, RunStatus.RUNNING)}
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} runs unfinished")
        time.sleep(0.02)


def runs_per_second(count: int) -> float:
    """Start `count` runs back to back and wait for all; runs per second from first start to last end."""
    from runtime.executor.dispatch import start_run, trigger_payload
    from runtime.store import RunTrigger

    workspace_id, workflow_id = store_small_workflow()
    started = time.perf_counter()
    run_ids = [start_run(get_settings(), workspace_id, workflow_id, trigger_payload({"n": n}), RunTrigger.API)[0]
               for n in range(count)]  # fmt: skip
    wait_all(run_ids)
    return count / (time.perf_counter() - started)


def fresh_pg_database() -> tuple[str, sa.Engine]:
    admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    name = f"trellis_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return sa.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False), admin


def rq_runs_per_second(workers: int, count: int, data_dir: str) -> float:
    url, admin = fresh_pg_database()
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    configure(url, REDIS_URL, data_dir)
    env = {**os.environ}
    procs = [subprocess.Popen([TRELLIS, "worker"], env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(workers)]  # fmt: skip
    try:
        time.sleep(3)  # let the workers import and block on the queue
        return runs_per_second(count)
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)

        drop_pg_database(url, admin)
        client.flushdb()


def drop_pg_database(url: str, admin: sa.Engine) -> None:
    from runtime.store import get_engine

    get_engine().dispose()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE "{sa.make_url(url).database}" WITH (FORCE)')


def overhead_rows(repeats: int, data_dir: str) -> list[tuple[str, str]]:
    """Per-node overhead of no-op chains: bare, then checkpointed on SQLite and on PostgreSQL."""

    def median_ms(measure: Any) -> str:
        return f"{statistics.median(asyncio.run(measure()) for _ in range(repeats)) * 1000:.3f} ms/node"

    rows = [(f"engine overhead, {n}-node chain", median_ms(lambda n=n: time_chain(n, 30))) for n in (10, 100)]
    sqlite_url = f"sqlite:///{data_dir}/bench.db"
    configure(sqlite_url, None, data_dir)
    rows += [(f"engine overhead, {n}-node chain, SQLite checkpoints",
              median_ms(lambda n=n: time_checkpointed_chain(n, 30, sqlite_url))) for n in (10, 100)]  # fmt: skip
    pg_url, admin = fresh_pg_database()
    configure(pg_url, None, data_dir)
    rows += [(f"engine overhead, {n}-node chain, PostgreSQL checkpoints",
              median_ms(lambda n=n: time_checkpointed_chain(n, 30, pg_url))) for n in (10, 100)]  # fmt: skip
    drop_pg_database(pg_url, admin)
    return rows


def throughput_rows(repeats: int, runs: int, data_dir: str) -> list[tuple[str, str]]:
    """Runs per second: in-process on SQLite, then on RQ with 1 and 2 workers on PostgreSQL."""
    configure(f"sqlite:///{data_dir}/bench.db", None, data_dir)
    rate = statistics.median(runs_per_second(runs) for _ in range(repeats))
    rows = [("in-process executor, SQLite", f"{rate:.1f} runs/s")]
    for workers in (1, 2):
        rate = statistics.median(rq_runs_per_second(workers, runs, data_dir) for _ in range(repeats))
        rows.append((f"RQ, {workers} worker(s), PostgreSQL", f"{rate:.1f} runs/s"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--runs", type=int, default=200, help="runs per throughput measurement")
    parser.add_argument("--engine-only", action="store_true", help="only the per-node overhead figures")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="trellis-bench-")
    rows = overhead_rows(args.repeats, data_dir)
    if not args.engine_only:
        rows += throughput_rows(args.repeats, args.runs, data_dir)
    width = max(len(name) for name, _ in rows)
    sys.stdout.write(f"{'measure'.ljust(width)}  median of {args.repeats}\n")
    for name, value in rows:
        sys.stdout.write(f"{name.ljust(width)}  {value}\n")


if __name__ == "__main__":
    main()
