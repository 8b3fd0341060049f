"""`trellis worker`: RQ workers that take run ids from Redis and execute them.

The forking RQ worker re-imports in every work horse whatever its parent did not import, which
costs ~0.6 s per job (runtime-facts.md §4.2); importing the engine here, in the parent, is what
`PreloadWorker` is for. No client, connection or event loop is created before the fork.
"""

from __future__ import annotations

import asyncio
import os

import langgraph.graph  # noqa: F401  (preloaded before forking)
import openai  # noqa: F401  (preloaded before forking)
from redis import Redis
from rq import Queue, Worker
from rq.job import Job

from runtime.config import Settings, get_settings
from runtime.engine import compile_workflow, run_compiled
from runtime.executor.dispatch import QUEUE_NAME
from runtime.executor.execute import execute_run
from runtime.executor.services import run_services
from runtime.graph.schema import WorkflowDocument
from runtime.metrics import forget_horses, share_files_with_horses
from runtime.store.engine import reset_engine_after_fork


class PreloadWorker(Worker):
    """RQ's forking worker, with Trellis's heavy modules imported once in the parent."""

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        """Fork the horse as RQ does; this worker's horses run one at a time, so they share metric files."""
        share_files_with_horses()
        super().fork_work_horse(job, queue)

    def monitor_work_horse(self, job: Job, queue: Queue) -> None:
        """Wait for the horse as RQ does, then let the metrics know that process is gone."""
        try:
            super().monitor_work_horse(job, queue)
        finally:
            forget_horses()


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
    """Run a tiny document once in the parent, so every horse inherits the lazily imported modules
    and the TLS context instead of paying ~100 ms for them per job; nothing stays open afterwards."""
    compiled = compile_workflow(WorkflowDocument.model_validate(WARM_UP_DOCUMENT))
    async with run_services(settings, workspace_id="warm-up", run_id="warm-up") as services:
        await run_compiled(compiled, {"body": 1}, run_id="warm-up", services=services, emit=_discard)


def run_job(run_id: str) -> str:
    """The RQ job: execute one run in a fresh event loop; returns its final status."""
    status = asyncio.run(execute_run(run_id))
    return status.value if status is not None else "skipped"


def work(settings: Settings | None = None, *, burst: bool = False, name: str | None = None) -> None:
    """Take runs from the queue until stopped (or, with `burst`, until the queue is empty)."""
    settings = settings or get_settings()
    if not settings.redis_url:
        raise SystemExit("trellis worker needs TRELLIS_REDIS_URL (without it runs execute in the web process).")
    asyncio.run(warm_up(settings))
    os.register_at_fork(after_in_child=reset_engine_after_fork)
    connection = Redis.from_url(settings.redis_url)
    worker = PreloadWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection, name=name)
    worker.work(burst=burst, with_scheduler=False)
