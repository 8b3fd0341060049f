"""`trellis scheduler --metrics-port`: the probes a container runtime asks, answered while the scheduler lives."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.processes import TRELLIS, free_port, trellis_env
from tests.runtime.durable.test_outage import healthz, wait_until_answering


def test_a_scheduler_answers_its_probes_while_it_lives(make_pg_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    env = trellis_env(TRELLIS_DATABASE_URL=make_pg_database(), TRELLIS_DATA_DIR=str(tmp_path / "data"))
    scheduler = subprocess.Popen([TRELLIS, "scheduler", "--metrics-port", str(port)], env=env, start_new_session=True)
    try:
        ready = wait_until_answering(port)
        alive = healthz(port)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    finally:
        os.kill(scheduler.pid, signal.SIGTERM)  # the scheduler alone: it must stop its probe server itself
        exit_code = scheduler.wait(timeout=30)
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert alive[:2] == (200, {"status": "ok"})
    assert 'trellis_queue_jobs{state="queued"}' in metrics.text
    assert exit_code == 0
    time.sleep(1.5)
    with pytest.raises(httpx.ConnectError):
        healthz(port)
