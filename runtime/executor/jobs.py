"""RQ jobs as `trellis worker` takes them: the queue `dispatch` fills, read without RQ's per-job worker.

`dispatch` enqueues with RQ (`rq:queue:trellis`, job id = run id, function `runtime.worker.run_job`),
so queue depth, a job's age and `Job.fetch(run_id)` keep working for RQ tools. The worker moves a
job id to RQ's intermediate list (`BLMOVE`, as RQ does), then one script per step keeps the job
hash's `status`, `worker_name`, `started_at` and `ended_at` as RQ writes them, and expires it after
its `result_ttl` / `failure_ttl`. RQ's started/finished registries and result streams are not
kept: the run row in the database is the record of what happened.

A job id can stay in RQ's intermediate list if a process dies right after taking it (before its
run is claimed); nothing here takes it back. The reconciler (`runtime.executor.reaper`) does: a run
still `queued` that is not in the queue is queued again and its intermediate entry removed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis
from rq.serializers import DefaultSerializer

RUN_JOB = "runtime.worker.run_job"
DEFAULT_TIMEOUT_S = 180  # RQ's default job timeout

# Mark the job started (RQ's fields) and take it off the intermediate list; returns its timeout and data.
_START = """
redis.call('LREM', KEYS[2], 1, ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'status', 'started', 'worker_name', ARGV[2], 'started_at', ARGV[3],
           'last_heartbeat', ARGV[3])
return redis.call('HMGET', KEYS[1], 'timeout', 'data')
"""
# Mark the job finished or failed and let it expire after the TTL RQ would use (-1 or none: keep).
_FINISH = """
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'ended_at', ARGV[2])
local ttl = tonumber(redis.call('HGET', KEYS[1], ARGV[1] == 'finished' and 'result_ttl' or 'failure_ttl'))
if ttl and ttl >= 0 then redis.call('EXPIRE', KEYS[1], ttl) end
return 1
"""


@dataclass(frozen=True)
class RunJob:
    """A job the worker has started: the run it executes and its time limit."""

    job_id: str
    run_id: str
    timeout_s: float | None
    """None when the job was enqueued with `job_timeout=-1` (no limit)."""


class JobQueue:
    """The `trellis` RQ queue seen from one worker process (asyncio)."""

    def __init__(self, connection: Redis, blocking: Redis, queue_name: str, worker_name: str) -> None:
        self._connection = connection
        self._blocking = blocking  # BLMOVE holds its connection for up to `wait_s`
        self._queue_key = f"rq:queue:{queue_name}"
        self._intermediate_key = f"{self._queue_key}:intermediate"
        self._worker_name = worker_name
        self._start = connection.register_script(_START)
        self._finish = connection.register_script(_FINISH)

    async def take(self, wait_s: float) -> str | None:
        """The next job id, waiting up to `wait_s` (0: do not wait); None when the queue stayed empty."""
        if wait_s <= 0:
            job_id = await self._connection.lmove(self._queue_key, self._intermediate_key)
        else:
            job_id = await self._blocking.blmove(self._queue_key, self._intermediate_key, wait_s)
        return None if job_id is None else _text(job_id)

    async def start(self, job_id: str) -> RunJob | None:
        """Mark the job started by this worker; None when it is gone (expired or deleted)."""
        fields = await self._start(keys=[_job_key(job_id), self._intermediate_key], args=[job_id, self._worker_name,
                                                                                          _rq_time()])  # fmt: skip
        if not fields:
            return None
        timeout, data = fields
        func_name, _instance, args, _kwargs = DefaultSerializer.loads(_decompressed(data))
        if func_name != RUN_JOB or len(args) != 1:
            raise ValueError(f"Job {job_id!r} calls {func_name!r}; the trellis queue only holds {RUN_JOB} jobs.")
        limit = DEFAULT_TIMEOUT_S if timeout is None else float(timeout)
        return RunJob(job_id, str(args[0]), None if limit < 0 else limit)

    async def put_back(self, job_id: str) -> None:
        """Put a job at the front of the queue again (its run was handed back or could not be claimed)."""
        await self._connection.lpush(self._queue_key, job_id)

    async def finish(self, job_id: str, ok: bool) -> None:
        """Mark the job finished (`ok`) or failed, and let it expire as RQ would."""
        await self._finish(keys=[_job_key(job_id)], args=["finished" if ok else "failed", _rq_time()])


def _decompressed(data: bytes) -> bytes:
    """A job's `data` as RQ reads it: zlib-compressed, or plain from older enqueuers."""
    try:
        return zlib.decompress(data)
    except zlib.error:
        return data


def _job_key(job_id: str) -> str:
    return f"rq:job:{job_id}"


def _rq_time() -> str:
    """Now, formatted as RQ stores times."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
