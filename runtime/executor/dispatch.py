"""Starting runs: store the run, then hand its id to RQ workers or to the in-process executor."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from rq import Queue
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session

from runtime.config import Settings
from runtime.errors import NotFound
from runtime.executor.cancel import request_cancel
from runtime.executor.execute import RunExecutor
from runtime.graph.schema import WorkflowDocument
from runtime.metrics import count_run
from runtime.redis_client import shared_redis
from runtime.store import (
    Run,
    RunStatus,
    RunTrigger,
    WorkflowVersion,
    get_engine,
    session_scope,
    utcnow,
)

QUEUE_NAME = "trellis"
JOB_MARGIN_S = 60
RESULT_TTL_S = 24 * 3600
RUNS: sa.Table = Run.__table__  # type: ignore[attr-defined]
VERSIONS: sa.Table = WorkflowVersion.__table__  # type: ignore[attr-defined]
_RUN_VALUES = ("id", "workspace_id", "workflow_id", "status", "trigger", "input", "created_at")
"""Run columns `create_run` sets from the new `Run` object; `workflow_version_id` comes from the SELECT."""


def trigger_payload(body: Any, headers: dict[str, str] | None = None, query: dict[str, str] | None = None) -> dict:
    """What a run stores as its input and expressions see as `trigger`."""
    return {"body": body, "headers": headers or {}, "query": query or {}}


def run_status_url(settings: Settings, run_id: str) -> str:
    """Where the run's state can be read: the REST API's `GET /api/v1/runs/{run_id}` at the public address."""
    return f"{settings.resolved_public_url}/api/v1/runs/{run_id}"


def create_run(session: Session, workspace_id: str, workflow_id: str, trigger: dict[str, Any], kind: RunTrigger) -> Run:
    """A queued run of the workflow's latest version (stored, not yet started); `NotFound` if the workflow
    is not in this workspace."""
    run = Run(workspace_id=workspace_id, workflow_id=workflow_id, workflow_version_id="", trigger=kind, input=trigger)
    # One INSERT ... SELECT of the newest version instead of loading workflow and version through the ORM:
    # starting runs is the hot path of webhooks and schedules.
    newest = (
        sa.select(*(sa.literal(getattr(run, name), RUNS.c[name].type) for name in _RUN_VALUES), VERSIONS.c.id)
        .where(VERSIONS.c.workflow_id == workflow_id, VERSIONS.c.workspace_id == workspace_id)
        .order_by(VERSIONS.c.number.desc())
        .limit(1)
    )
    insert = sa.insert(RUNS).from_select([*_RUN_VALUES, "workflow_version_id"], newest)
    version_id = session.execute(insert.returning(RUNS.c.workflow_version_id)).scalar_one_or_none()
    if version_id is None:
        raise NotFound(f"Workflow {workflow_id!r} not found")
    run.workflow_version_id = version_id
    make_transient_to_detached(run)  # the row exists: attach the object as if loaded, without a query
    session.add(run)
    return run


@lru_cache(maxsize=1024)
def version_timeout_s(version_id: str) -> float:
    """The run time limit in a version's settings; versions never change, so it is read once per process."""
    with session_scope(get_engine()) as session:
        version = session.get(WorkflowVersion, version_id)
        if version is None:
            raise NotFound(f"Workflow version {version_id!r} not found")
        return WorkflowDocument.model_validate(version.document).settings.timeout_s


def start_run(
    settings: Settings, workspace_id: str, workflow_id: str, trigger: dict[str, Any], kind: RunTrigger
) -> tuple[str, Future[Any] | None]:
    """Store a queued run of the workflow and start it; returns its id (and the in-process future)."""
    with session_scope(get_engine()) as session:
        run = create_run(session, workspace_id, workflow_id, trigger, kind)
    return run.id, dispatch(settings, run, version_timeout_s(run.workflow_version_id))


def dispatch(settings: Settings, run: Run, timeout_s: float) -> Future[Any] | None:
    """Start a stored, committed run: an RQ job carrying only its id, or the in-process executor."""
    if settings.redis_url:
        Queue(QUEUE_NAME, connection=shared_redis(settings.redis_url)).enqueue(
            "runtime.worker.run_job", run.id, job_id=run.id, job_timeout=int(timeout_s) + JOB_MARGIN_S,
            result_ttl=RESULT_TTL_S, failure_ttl=RESULT_TTL_S,
        )  # fmt: skip
        return None
    return in_process_executor().submit(run.id)


def cancel_run(session: Session, settings: Settings, workspace_id: str, run_id: str) -> Run:
    """Cancel a run: a queued one ends at once, a running one is stopped at its current node."""
    run = session.get(Run, run_id)
    if run is None or run.workspace_id != workspace_id:
        raise NotFound(f"Run {run_id!r} not found")
    if run.status is RunStatus.QUEUED:
        run.status, run.finished_at = RunStatus.CANCELLED, utcnow()
        run.error = {"node_id": None, "message": "The run was cancelled before it started."}
        session.add(run)
        count_run(RunStatus.CANCELLED.value, str(run.trigger))
    elif run.status is RunStatus.RUNNING:
        request_cancel(settings, run_id)
    return run


class InProcessExecutor:
    """Runs runs on one background event loop in this process (the zero-setup mode, no Redis)."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="trellis-executor", daemon=True)
        self._thread.start()
        self._executor: RunExecutor | None = None
        self._active: set[str] = set()
        self._active_lock = threading.Lock()

    def submit(self, run_id: str) -> Future[Any]:
        """Start `run_id` now; the future resolves to its final status."""
        with self._active_lock:
            self._active.add(run_id)
        future = asyncio.run_coroutine_threadsafe(self._execute(run_id), self._loop)
        future.add_done_callback(lambda _: self._forget(run_id))
        return future

    def active(self) -> set[str]:
        """Ids of the runs submitted here that have not ended yet."""
        with self._active_lock:
            return set(self._active)

    def _forget(self, run_id: str) -> None:
        with self._active_lock:
            self._active.discard(run_id)

    async def _execute(self, run_id: str) -> RunStatus | None:
        if self._executor is None:  # made on the loop it belongs to
            self._executor = RunExecutor()
        return await self._executor.execute(run_id)


_executor: InProcessExecutor | None = None
_executor_lock = threading.Lock()


def in_process_executor() -> InProcessExecutor:
    """The process-wide in-process executor, started on first use."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = InProcessExecutor()
        return _executor
