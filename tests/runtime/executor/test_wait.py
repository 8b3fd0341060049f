"""Waiting for a run's end through its event stream, in memory and in Redis."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from runtime.config import Settings
from runtime.events import open_event_stream
from runtime.executor.wait import RunEnd, wait_for_run_end


@pytest.fixture(params=["memory", "redis"])
def settings(request: pytest.FixtureRequest) -> Settings:
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    return Settings(redis_url=redis_url, event_stream_ttl_s=60)


async def finish_later(settings: Settings, run_id: str, delay_s: float) -> None:
    await asyncio.sleep(delay_s)
    stream = open_event_stream(settings)
    try:
        await stream.append(run_id, "run_started")
        await stream.append(run_id, "run_finished", data={"status": "succeeded", "output": {"x": 1}, "error": None})
    finally:
        await stream.close()


def test_the_wait_ends_with_the_run_finished_event(settings: Settings) -> None:
    run_id = f"run_{uuid.uuid4().hex}"

    async def scenario() -> RunEnd | None:
        finisher = asyncio.create_task(finish_later(settings, run_id, 0.2))
        end = await wait_for_run_end(settings, run_id, timeout_s=5)
        await finisher
        return end

    assert asyncio.run(scenario()) == RunEnd("succeeded", {"x": 1}, None)
    # A run that already ended answers from the stream's history at once.
    assert asyncio.run(wait_for_run_end(settings, run_id, timeout_s=5)) == RunEnd("succeeded", {"x": 1}, None)


def test_the_wait_gives_up_after_its_timeout(settings: Settings) -> None:
    started = time.monotonic()
    assert asyncio.run(wait_for_run_end(settings, f"run_{uuid.uuid4().hex}", timeout_s=0.3)) is None
    assert 0.25 < time.monotonic() - started < 2
