"""`kill -9` of whole worker process groups under load: every run still succeeds, no finished node
runs again, an interrupted node runs at most once more, always with the same idempotency key.

The kill points come from a seeded generator; the seed is printed (and named in failures).
`TRELLIS_CHAOS_SEED=<seed>` replays the same kill times, victims and answer delays;
`TRELLIS_CHAOS_KILLS` changes the number of kills (20 by default, T1.2's per-PR count).
"""

from __future__ import annotations

import os
import random
import time
import zlib
from datetime import UTC, datetime

import sqlalchemy as sa

from runtime.store import RunStatus, get_engine
from tests.chaos.conftest import CONCURRENCY, Chaos
from tests.chaos.ledger import problems
from tests.runtime.executor.test_rq import wait_until_finished

SEED = int(os.environ.get("TRELLIS_CHAOS_SEED") or random.SystemRandom().randrange(1_000_000))
KILLS = int(os.environ.get("TRELLIS_CHAOS_KILLS", "20"))
BACKLOG = 6 * CONCURRENCY
"""Unfinished runs kept in the system while killing (some wait for their dead worker's lease to
expire), so both workers always hold runs."""
GAP_S = (1.5, 3.0)
"""Seconds between kills, drawn uniformly."""
DRAIN_S = 90
ENOUGH_ATTEMPTS = {"TRELLIS_MAX_RUN_ATTEMPTS": "1000"}
"""A run may be hit by several of the kills: it must not run out of attempts here."""


def answer_delay(tag: str, node_id: str, before: int) -> float:
    """50-400 ms, fixed by the seed for each call: nodes take long enough to be killed in."""
    return 0.05 + zlib.crc32(f"{SEED}/{tag}/{node_id}/{before}".encode()) % 350 / 1000


def resumptions(run_ids: list[str]) -> int:
    """How many times runs were claimed again after their first claim (each kill of a worker
    holding runs adds one per run it held)."""
    query = sa.text("SELECT coalesce(sum(attempts - 1), 0) FROM run WHERE id IN :ids")
    with get_engine().connect() as connection:
        return int(connection.execute(query.bindparams(sa.bindparam("ids", expanding=True)), {"ids": run_ids}).scalar())


def test_kill_9_under_load_loses_no_run_and_reruns_no_finished_node(chaos: Chaos) -> None:
    print(f"TRELLIS_CHAOS_SEED={SEED} kills={KILLS}")
    rng = random.Random(SEED)
    chaos.server.delay = answer_delay
    chaos.start_worker(**ENOUGH_ATTEMPTS), chaos.start_worker(**ENOUGH_ATTEMPTS)
    chaos.start_runs(BACKLOG)
    assert chaos.server.wait_for(lambda calls: len(calls) > 0, 60), "no worker ever called the server"
    started = time.monotonic()
    kills: list[datetime] = []
    for _ in range(KILLS):
        chaos.start_runs(max(0, BACKLOG - chaos.unfinished()))
        time.sleep(rng.uniform(*GAP_S))
        victim = rng.choice(chaos.wait_any_holding())  # a kill while replacements boot would miss every run
        kills.append(datetime.now(UTC))
        chaos.kill(victim)
        chaos.start_worker(**ENOUGH_ATTEMPTS)
    killing_s = time.monotonic() - started
    statuses = wait_until_finished(list(chaos.runs.values()), timeout_s=DRAIN_S)
    drained_s = time.monotonic() - started - killing_s
    run_ids = list(chaos.runs.values())
    resumed = resumptions(run_ids)
    print(f"{len(run_ids)} runs, {KILLS} kills in {killing_s:.1f} s, drained {drained_s:.1f} s later, "
          f"{resumed} resumptions, {len(chaos.server.calls)} calls")  # fmt: skip

    seed = f"(TRELLIS_CHAOS_SEED={SEED})"
    failed = {run_id: status for run_id, status in statuses.items() if status is not RunStatus.SUCCEEDED}
    assert not failed, f"{len(failed)} runs did not succeed {seed}: {failed}"
    found = problems(chaos.server, chaos.runs, [(kill, kill) for kill in kills])
    assert not found, f"{len(found)} problems {seed}:\n" + "\n".join(found)
    assert resumed >= KILLS, f"only {resumed} resumptions after {KILLS} kills: the kills missed the runs {seed}"
