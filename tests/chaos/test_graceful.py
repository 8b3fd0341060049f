"""A rolling restart (SIGTERM one worker, then the other, each replaced) under load loses nothing:
every run succeeds and every node is called exactly once."""

from __future__ import annotations

import signal
import time

from runtime.store import RunStatus
from tests.chaos.conftest import FAST_LEASES, Chaos
from tests.chaos.ledger import problems
from tests.processes import signal_group
from tests.runtime.executor.test_rq import wait_until_finished

GRACE_S = float(FAST_LEASES["TRELLIS_WORKER_GRACE_S"])


def test_sigterm_during_load_loses_no_run_and_reruns_no_node(chaos: Chaos) -> None:
    chaos.server.delay = lambda tag, node_id, before: 0.3
    first, second = chaos.start_worker(), chaos.start_worker()
    chaos.start_runs(12)
    for name in (first, second):
        # Each worker is stopped while it holds runs mid-node, after its replacement was started
        chaos.wait_holding(name)
        chaos.start_worker()
        worker = chaos.workers.pop(name)
        signal_group(worker, signal.SIGTERM)
        stopping = time.monotonic()
        assert worker.wait(timeout=GRACE_S + 10) == 0, chaos.worker_log(name)
        print(f"{name} stopped {time.monotonic() - stopping:.1f} s after SIGTERM")
        chaos.start_runs(4)
    draining = time.monotonic()
    statuses = wait_until_finished(list(chaos.runs.values()), timeout_s=90)
    print(f"all {len(chaos.runs)} runs ended {time.monotonic() - draining:.1f} s after the last stop")

    assert set(statuses.values()) == {RunStatus.SUCCEEDED}
    found = problems(chaos.server, chaos.runs, [])
    assert not found, "\n".join(found)
