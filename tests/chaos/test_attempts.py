"""A run whose worker dies on every attempt ends `failed` with reason `worker_lost` after the
configured number of attempts (T1.5), instead of being retried forever or left `running`."""

from __future__ import annotations

from runtime.store import Run, RunStatus, get_engine, session_scope
from tests.chaos.conftest import FAST_LEASES, Chaos
from tests.runtime.executor.test_rq import wait_until_finished

ATTEMPTS = int(FAST_LEASES["TRELLIS_MAX_RUN_ATTEMPTS"])
HANG_S = 300


def test_a_run_whose_worker_dies_on_every_attempt_fails_as_worker_lost(chaos: Chaos) -> None:
    # n2 never answers in time: each worker that takes the run is killed inside it
    chaos.server.delay = lambda tag, node_id, before: HANG_S if node_id == "n2" else 0.01
    [run_id] = chaos.start_runs(1)
    name = chaos.start_worker()
    for attempt in range(1, ATTEMPTS + 1):
        reached = chaos.server.wait_for(lambda calls, n=attempt: sum(c.node_id == "n2" for c in calls) >= n, 60)
        assert reached, f"attempt {attempt} never reached n2:\n{chaos.worker_log(name)}"
        replacement = chaos.start_worker()  # boots while the lease runs out; it notices the loss
        chaos.kill(name)
        name = replacement
    status = wait_until_finished([run_id], timeout_s=60)[run_id]
    with session_scope(get_engine()) as session:
        run = session.get(Run, run_id)
    assert run is not None

    assert status is RunStatus.FAILED
    assert run.error is not None and run.error.get("reason") == "worker_lost", run.error
    assert len(chaos.server.calls_to("0", "n2")) == ATTEMPTS
    assert len(chaos.server.calls_to("0", "n1")) == 1  # n1 finished on the first attempt: never again
