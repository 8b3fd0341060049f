"""`trellis worker`: takes run ids from the Redis queue and executes many runs at once on one event loop.

Each worker process keeps one event loop, one `RunExecutor` (pooled database connections behind a
group-committing writer, one Redis client for events, one for nodes, compiled versions cached) and
runs up to `concurrency` runs side by side. Nothing forks per job: a fork, fresh connections and a
commit per node event cost ~95 ms per run (see `bench/queue_mode.py`).

Isolation: a node that raises fails only its own run. A node that blocks the event loop (CPU-bound
or synchronous I/O) stalls every run in that process, and a process that dies (OOM, `kill -9`)
leaves its in-flight runs `running` until their lease expires and a reaper queues them again; the
next claim resumes each from its last checkpoint.

SIGTERM or SIGINT: stop taking jobs, let each run finish the nodes in flight, then hand it back
(queued again, at the front of the queue) so another worker resumes it from that checkpoint. Nodes
still running after `TRELLIS_WORKER_GRACE_S` (or at a second signal) are interrupted and their runs
handed back the same way (those nodes run again elsewhere). Nothing is lost.

Database outages: a job whose claim fails goes back to the front of the queue and the worker waits
(0.5 s, doubling, at most 10 s) before taking another; the lease heartbeat retries the same way.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

import redis
from redis.asyncio import Redis

from runtime.config import Settings, get_settings
from runtime.engine import compile_workflow, run_compiled
from runtime.executor.dispatch import QUEUE_NAME
from runtime.executor.execute import RunExecutor
from runtime.executor.jobs import JobQueue
from runtime.executor.lease import DATABASE_ERRORS, lease_owner, next_backoff
from runtime.executor.reaper import start_recovery
from runtime.executor.services import run_services
from runtime.graph.schema import WorkflowDocument
from runtime.store import RunStatus

log = logging.getLogger(__name__)

WAIT_S = 1.0
"""Longest BLMOVE; also how soon an idle worker notices a stop request."""
RECONNECT_S = 2.0

WARM_UP_DOCUMENT = {
    "format": "trellis.workflow", "format_version": 1, "name": "warm-up",
    "nodes": [
        {"id": "start", "type": "manual_trigger", "type_version": 1, "position": {"x": 0, "y": 0}},
        {"id": "echo", "type": "set", "type_version": 1, "params": {"fields": {"x": "{{ trigger.body }}"}},
         "position": {"x": 260, "y": 0}},
    ],
    "edges": [{"id": "e1", "source": "start", "target": "echo"}],
}  # fmt: skip


async def _discard(*_: object) -> None:
    return None


async def warm_up(settings: Settings) -> None:
    """Run a tiny document once, so the first real run does not pay for lazily imported modules."""
    compiled = compile_workflow(WorkflowDocument.model_validate(WARM_UP_DOCUMENT))
    async with run_services(settings, workspace_id="warm-up", run_id="warm-up") as services:
        await run_compiled(compiled, {"body": 1}, run_id="warm-up", services=services, emit=_discard)


def run_job(run_id: str) -> str:
    """The RQ job function: execute one run; returns its final status. `trellis worker` does not call
    it (it reads the job's run id itself), but a plain `rq worker trellis` can."""

    async def execute_once() -> str:
        executor = RunExecutor(get_settings())
        try:
            status = await executor.execute(run_id)
        finally:
            await executor.aclose()
        return status.value if status is not None else "skipped"

    return asyncio.run(execute_once())


class QueueWorker:
    """Takes jobs from the queue and runs up to `concurrency` of them at once on the running loop."""

    def __init__(self, settings: Settings, *, name: str, concurrency: int, burst: bool) -> None:
        self.settings = settings
        self.name = name
        self.concurrency = concurrency
        self.burst = burst
        self._stopping = False
        self._redis_ok = True
        self._in_flight: set[asyncio.Task[None]] = set()
        self._executor: RunExecutor | None = None
        self._backoff: float | None = None

    def stop(self) -> None:
        """First call: take no more jobs, hand runs back after their nodes in flight, and interrupt
        what still runs after the grace period. Second call: interrupt (and hand back) at once."""
        if self._stopping:
            self._interrupt()
            return
        self._stopping = True
        if self._executor is not None:
            self._executor.drain()
        asyncio.get_running_loop().call_later(self.settings.worker_grace_s, self._interrupt)

    def _interrupt(self) -> None:
        """Cancel the runs still in flight; each is handed back, not failed."""
        if self._executor is not None:
            self._executor.hand_back_on_cancel()
        for task in self._in_flight:
            task.cancel()

    async def work(self) -> None:
        """Take and run jobs until stopped (or, in burst mode, until the queue is empty and all ran)."""
        url = self.settings.redis_url
        assert url is not None
        connection, blocking = Redis.from_url(url), Redis.from_url(url)
        jobs = JobQueue(connection, blocking, QUEUE_NAME, self.name)
        executor = self._executor = RunExecutor(self.settings, owner=lease_owner(self.name))
        slots = asyncio.Semaphore(self.concurrency)
        try:
            while not self._stopping:
                if self._backoff is not None:
                    await asyncio.sleep(self._backoff)
                await slots.acquire()
                job_id = None if self._stopping else await self._take(jobs)
                if job_id is None:
                    slots.release()
                    if self._stopping or (self.burst and not self._in_flight and self._redis_ok):
                        break
                    if self.burst:
                        await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                self._track(asyncio.create_task(self._perform(jobs, executor, job_id), name=f"job {job_id}"), slots)
            if self._in_flight:
                await asyncio.wait(self._in_flight)
        finally:
            await executor.aclose()
            await connection.aclose()
            await blocking.aclose()

    async def _take(self, jobs: JobQueue) -> str | None:
        """The next job id, or None; while Redis is unreachable, waits and says so (as RQ workers do)."""
        try:
            job_id = await jobs.take(0 if self.burst else WAIT_S)
        except redis.exceptions.ConnectionError as error:
            log.error("Redis is unreachable (%s); trying again in %g s", error, RECONNECT_S)
            self._redis_ok = False
            await asyncio.sleep(RECONNECT_S)
            return None
        self._redis_ok = True
        return job_id

    def _track(self, task: asyncio.Task[None], slots: asyncio.Semaphore) -> None:
        self._in_flight.add(task)

        def done(_: asyncio.Task[None]) -> None:
            self._in_flight.discard(task)
            slots.release()

        task.add_done_callback(done)

    async def _perform(self, jobs: JobQueue, executor: RunExecutor, job_id: str) -> None:
        """Run one job; its run records its own outcome, the job hash says whether the job ended normally."""
        try:
            job = await jobs.start(job_id)
        except ValueError:
            log.exception("Job %s is not a run", job_id)
            await jobs.finish(job_id, ok=False)
            return
        if job is None:
            return
        ok = False
        try:
            async with asyncio.timeout(job.timeout_s):
                status = await executor.execute(job.run_id)
            ok = True
            self._backoff = None
            if status is RunStatus.QUEUED:  # handed back: first in line for the next worker
                await jobs.put_back(job_id)
        except TimeoutError:
            log.error("Job %s passed its %s s time limit and was stopped", job_id, job.timeout_s)
        except DATABASE_ERRORS as error:
            self._backoff = next_backoff(self._backoff)
            log.warning("Database unavailable (%s); job %s goes back to the queue, next take in %.1f s",
                        type(error).__name__, job_id, self._backoff)  # fmt: skip
            await jobs.put_back(job_id)
        except Exception:
            log.exception("Job %s failed", job_id)
        finally:
            await jobs.finish(job_id, ok)


def work(
    settings: Settings | None = None, *, burst: bool = False, name: str | None = None, concurrency: int | None = None
) -> None:
    """Take runs from the queue until stopped (or, with `burst`, until the queue is empty)."""
    settings = settings or get_settings()
    if not settings.redis_url:
        raise SystemExit("trellis worker needs TRELLIS_REDIS_URL (without it runs execute in the web process).")
    worker = QueueWorker(
        settings,
        name=name or f"{socket.gethostname()}.{os.getpid()}",
        concurrency=concurrency or settings.worker_concurrency,
        burst=burst,
    )

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def main() -> None:
        await warm_up(settings)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.stop)
        log.info("Worker %s takes runs from %r, %d at once", worker.name, QUEUE_NAME, worker.concurrency)
        await worker.work()

    # Every worker also recovers runs whose executor died (or whose queue entry Redis lost).
    recovery, stop_recovery = start_recovery(settings)
    try:
        asyncio.run(main())
    finally:
        stop_recovery.set()
        recovery.join(timeout=5)
