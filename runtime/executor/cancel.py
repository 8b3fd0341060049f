"""Cancel requests for running runs: a Redis key in queue mode, a set in this process otherwise."""

from __future__ import annotations

from runtime.config import Settings
from runtime.redis_client import shared_redis

CANCEL_KEY_TTL_S = 24 * 3600
_local_requests: set[str] = set()


def cancel_key(run_id: str) -> str:
    """The Redis key that asks the worker running `run_id` to stop."""
    return f"trellis:run:{run_id}:cancel"


def request_cancel(settings: Settings, run_id: str) -> None:
    """Ask whichever executor runs `run_id` to stop it."""
    if settings.redis_url:
        shared_redis(settings.redis_url).set(cancel_key(run_id), "1", ex=CANCEL_KEY_TTL_S)
    else:
        _local_requests.add(run_id)


async def cancel_requested(settings: Settings, run_id: str, client: object | None) -> bool:
    """Whether someone asked to cancel `run_id`; `client` is the run's `redis.asyncio` client."""
    if client is not None:
        return bool(await client.exists(cancel_key(run_id)))  # type: ignore[attr-defined]
    return run_id in _local_requests


def forget_cancel(run_id: str) -> None:
    """Drop the in-process request once the run has ended."""
    _local_requests.discard(run_id)
