"""Running the blocking database and Redis calls of a webhook delivery off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, TypeVarTuple, Unpack

import anyio.to_thread
import sqlalchemy as sa
from redis.exceptions import RedisError

from runtime.webhooks.errors import service_unavailable

T = TypeVar("T")
Args = TypeVarTuple("Args")


async def in_thread(function: Callable[[Unpack[Args]], T], *args: *Args) -> T:
    """`function(*args)` in a worker thread; a database or Redis that cannot be reached becomes a 503."""
    try:
        return await anyio.to_thread.run_sync(function, *args)
    except (sa.exc.OperationalError, sa.exc.InterfaceError):
        raise service_unavailable("database") from None
    except RedisError:
        raise service_unavailable("queue") from None
