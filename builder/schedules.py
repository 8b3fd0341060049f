"""In the zero-setup mode (no Redis, so no `trellis worker`) the web process runs the scheduler itself,
so schedule_trigger workflows fire after a plain `make run`, and recovers runs nobody executes (the
reaper: after a restart, runs the previous process left `running` resume here from their last
checkpoint). In queue mode `trellis scheduler` or `trellis worker` does both instead."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator

from runtime.config import get_settings
from runtime.executor.reaper import start_recovery
from runtime.scheduler import serve_schedules

STOP_WAIT_S = 5.0


@contextlib.asynccontextmanager
async def scheduler_in_default_mode() -> AsyncIterator[None]:
    """A Reflex lifespan task: the scheduler loop on a thread for as long as the app serves."""
    if get_settings().redis_url:
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(target=serve_schedules, kwargs={"stop": stop}, name="trellis-scheduler", daemon=True)
    thread.start()
    recovery, stop_recovery = start_recovery()
    try:
        yield
    finally:
        stop.set()
        stop_recovery.set()
        await asyncio.to_thread(thread.join, STOP_WAIT_S)
        await asyncio.to_thread(recovery.join, STOP_WAIT_S)
