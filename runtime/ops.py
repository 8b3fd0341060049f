"""What the ops endpoints answer: the `/metrics` text and the `/readyz` checks.

Queue gauges are computed when scraped, from Redis (RQ's queue and registries) in queue mode or
from the runs table in the default mode, so every process reports the same live numbers.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from http.server import ThreadingHTTPServer

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, MetricsHandler, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job
from rq.registry import BaseRegistry
from sqlmodel import Session, col, func, select

from runtime.config import Settings, get_settings
from runtime.executor.dispatch import QUEUE_NAME
from runtime.metrics import values_dir
from runtime.store import Run, RunStatus, get_engine, utcnow

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 1.0
"""Seconds a readiness or queue probe may wait for the database or Redis."""
PARENT_CHECK_S = 1.0
READY_TIMEOUT_S = 1.5


def metrics_registry(settings: Settings) -> CollectorRegistry:
    """A registry that sums every process's metrics on this host and adds the live queue gauges."""
    directory = values_dir()
    directory.mkdir(parents=True, exist_ok=True)  # no process has counted anything yet
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    registry.register(QueueCollector(settings))
    return registry


def render_metrics(settings: Settings) -> bytes:
    """The Prometheus text exposition `GET /metrics` answers with."""
    return generate_latest(metrics_registry(settings))


def serve_metrics(port: int, *, parent_pid: int) -> None:
    """Answer `GET /metrics`, `/healthz` and `/readyz` on `port` (all interfaces) until process `parent_pid` is gone.

    For workers and schedulers on hosts without a web process: their values are only in this host's folder,
    and their probes are asked here. `/healthz` (liveness) answers as long as this server and so its parent
    live, and checks nothing shared: a database or Redis outage must not get every process restarted.
    `/readyz` checks the database and Redis as the web's does.
    """
    settings = get_settings()
    handler = MetricsHandler.factory(metrics_registry(settings))

    class Handler(handler):  # type: ignore[misc, valid-type]
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/healthz":
                self._send_json(200, {"status": "ok"})
            elif path == "/readyz":
                self._send_json(*readiness(settings))
            else:
                super().do_GET()

        def _send_json(self, code: int, body: dict[str, object]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("", port), Handler)
    threading.Thread(target=server.serve_forever, name="trellis-metrics", daemon=True).start()
    try:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_S)
    finally:
        server.shutdown()


def readiness(settings: Settings) -> tuple[int, dict[str, object]]:
    """200 `{"status": "ready"}`, or 503 `{"error": "not_ready", "message", "unreachable": [...]}` naming
    the database and/or Redis, each check cut off after `READY_TIMEOUT_S` (a stopped server never answers)."""
    checks = {"database": database_problem, "redis": lambda: redis_problem(settings)}
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="trellis-ready")
    futures = {name: pool.submit(check) for name, check in checks.items()}
    problems: dict[str, str] = {}
    for name, future in futures.items():
        try:
            problem = future.result(timeout=READY_TIMEOUT_S)
        except FutureTimeout:
            problem = f"{name} unreachable (no answer within {READY_TIMEOUT_S:g} s)"
        if problem:
            problems[name] = problem
    pool.shutdown(wait=False)
    if problems:
        return 503, {"error": "not_ready", "message": "; ".join(problems.values()), "unreachable": sorted(problems)}
    return 200, {"status": "ready"}


class QueueCollector(Collector):
    """`trellis_queue_jobs{state}` and `trellis_queue_oldest_job_age_seconds`, read at scrape time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            counts, oldest = self._redis_state() if self.settings.redis_url else self._database_state()
        except (RedisError, sa.exc.DBAPIError) as error:
            log.warning("queue gauges left out of this scrape: %s", error)
            return
        jobs = GaugeMetricFamily("trellis_queue_jobs", "Runs in the queue, by state.", labels=["state"])
        for state, count in counts.items():
            jobs.add_metric([state], count)
        yield jobs
        age = (utcnow() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "trellis_queue_oldest_job_age_seconds", "How long the oldest waiting run has waited.", value=max(age, 0.0)
        )

    def _redis_state(self) -> tuple[dict[str, int], datetime | None]:
        connection = Redis.from_url(
            str(self.settings.redis_url), socket_timeout=PROBE_TIMEOUT_S, socket_connect_timeout=PROBE_TIMEOUT_S
        )
        with connection:
            queue = Queue(QUEUE_NAME, connection=connection)
            registries: dict[str, BaseRegistry] = {
                "started": queue.started_job_registry, "failed": queue.failed_job_registry,
                "deferred": queue.deferred_job_registry, "scheduled": queue.scheduled_job_registry,
            }  # fmt: skip
            counts = {"queued": queue.count, **{state: registry.count for state, registry in registries.items()}}
            first = queue.get_job_ids(0, 1)
            job = Job.fetch(first[0], connection=connection) if first else None
            return counts, (job.enqueued_at if job else None)

    def _database_state(self) -> tuple[dict[str, int], datetime | None]:
        with Session(get_engine()) as session:
            query = select(Run.status, func.count()).where(col(Run.status).in_([RunStatus.QUEUED, RunStatus.RUNNING]))
            by_status = dict(session.exec(query.group_by(col(Run.status))).all())
            oldest = session.exec(select(func.min(Run.created_at)).where(Run.status == RunStatus.QUEUED)).one()
        counts = {"queued": by_status.get(RunStatus.QUEUED, 0), "started": by_status.get(RunStatus.RUNNING, 0)}
        return counts, oldest


def database_problem() -> str | None:
    """Why the database does not answer `SELECT 1`, or None when it does."""
    try:
        with get_engine().connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as error:
        return f"database unreachable ({type(error.orig).__name__})"
    return None


def redis_problem(settings: Settings) -> str | None:
    """Why the configured Redis does not answer PING, or None when it does (or none is configured)."""
    if not settings.redis_url:
        return None
    client = Redis.from_url(settings.redis_url, socket_timeout=PROBE_TIMEOUT_S, socket_connect_timeout=PROBE_TIMEOUT_S)
    try:
        with client:
            client.ping()
    except RedisError as error:
        return f"redis unreachable ({type(error).__name__})"
    return None
