"""A worker paused past its lease (SIGSTOP) is fenced: another worker takes the run over and finishes
it, and when the paused one wakes up (SIGCONT) nothing it writes lands."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from datetime import UTC, datetime

from runtime.config import get_settings
from runtime.events import open_event_stream
from runtime.store import Run, RunStatus, get_engine, session_scope
from tests.chaos.conftest import FAST_LEASES, Chaos
from tests.chaos.ledger import succeeded_node_runs
from tests.processes import signal_group
from tests.runtime.executor.test_rq import wait_until_finished

HELD_S = 2.0
"""How long the server holds the first answer to n3: the paused worker's answer is waiting when it wakes."""
TAKEOVER_S = 4 * float(FAST_LEASES["TRELLIS_LEASE_S"])
"""Lease expiry, then the reaper, with room for a loaded machine."""
AFTERMATH_S = 3 * float(FAST_LEASES["TRELLIS_HEARTBEAT_S"])
"""How long the woken worker gets to (try to) write: its held answer is read at once, and its next
heartbeat (1 s) finds the lease gone."""


def wait_for_epoch_above(run_id: str, epoch: int, timeout_s: float) -> bool:
    """Whether the run's lease epoch moved past `epoch` (it was reaped or claimed) within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while run_row(run_id).lease_epoch <= epoch:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def run_row(run_id: str) -> Run:
    with session_scope(get_engine()) as session:
        run = session.get(Run, run_id)
        assert run is not None
        return run


async def event_types(run_id: str) -> list[str]:
    stream = open_event_stream(get_settings())
    try:
        return [event.type for event in await stream.history(run_id)]
    finally:
        await stream.close()


def test_a_worker_paused_past_its_lease_commits_nothing_after_another_took_over(chaos: Chaos) -> None:
    chaos.server.delay = lambda tag, node_id, before: HELD_S if (node_id, before) == ("n3", 0) else 0.05
    for name in (chaos.start_worker(), chaos.start_worker()):
        chaos.wait_ready(name)  # the one not holding the run takes it over once the other's lease expires
    [run_id] = chaos.start_runs(1)
    assert chaos.server.wait_for(lambda calls: any(c.node_id == "n3" for c in calls), 60), "n3 was never called"
    [paused_name] = chaos.wait_any_holding()
    paused = chaos.workers[paused_name]
    signal_group(paused, signal.SIGSTOP)
    try:
        moved = wait_for_epoch_above(run_id, run_row(run_id).lease_epoch, TAKEOVER_S)
        assert moved, (f"nobody took the run over within {TAKEOVER_S:g} s of its worker pausing; open "
                       f"transactions: {chaos.open_transactions()}")  # fmt: skip
        status = wait_until_finished([run_id], timeout_s=60)[run_id]
        taken_over = run_row(run_id)
        woken_at = datetime.now(UTC)
        signal_group(paused, signal.SIGCONT)
        time.sleep(AFTERMATH_S)
    finally:
        with contextlib.suppress(ProcessLookupError):
            signal_group(paused, signal.SIGCONT)  # never leave a stopped process behind
    after = run_row(run_id)
    late_calls = [call for call in chaos.server.calls if call.at > woken_at]
    print(f"paused worker: {len(late_calls)} calls after waking; run output {after.output}")

    assert status is RunStatus.SUCCEEDED
    [last_call] = [call for call in chaos.server.calls_to("0", "n5") if call.at < woken_at]
    # The run's output and end are the second worker's, and stay so after the first wakes up
    assert taken_over.output["body"] == {"tag": "0", "node": "n5", "seq": last_call.seq}
    assert (after.status, after.output, after.finished_at) == (status, taken_over.output, taken_over.finished_at)
    assert {node: len(ends) for (_, node), ends in succeeded_node_runs([run_id]).items()} == dict.fromkeys(
        ["start", "n1", "n2", "n3", "n4", "n5"], 1
    )
    assert asyncio.run(event_types(run_id)).count("run_finished") == 1
    assert len(chaos.server.calls_to("0", "n3")) == 2  # the paused worker's call and the takeover's
