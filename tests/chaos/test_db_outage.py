"""A worker whose database hangs for 20 s (every byte held by a proxy, as when PostgreSQL is
SIGSTOPped or the network drops packets) loses nothing: the runs it held continue on the other
worker once their leases expire, it writes nothing stale when the database answers again, and it
takes and finishes runs again afterwards."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from runtime.store import RunStatus, get_engine
from tests.chaos.conftest import FAST_LEASES, Chaos
from tests.chaos.ledger import problems
from tests.ops.conftest import through
from tests.ops.tcp_proxy import TcpProxy
from tests.runtime.executor.test_rq import wait_until_finished

OUTAGE_S = 20
LEASE = timedelta(seconds=float(FAST_LEASES["TRELLIS_LEASE_S"]))
MOVED_WITHIN_S = 3 * LEASE.total_seconds()
"""The hung worker's runs must be running elsewhere (or done) this soon: lease + reaper + slack."""


def leases(run_ids: list[str]) -> dict[str, tuple[str, str, int]]:
    """Worker name (from `lease_owner`), status and attempts of each run."""
    query = sa.text("SELECT id, lease_owner, status, attempts FROM run WHERE id IN :ids")
    with get_engine().connect() as connection:
        rows = connection.execute(query.bindparams(sa.bindparam("ids", expanding=True)), {"ids": run_ids})
        return {run_id: (str(owner).partition("~")[0], str(status), tries) for run_id, owner, status, tries in rows}


def still_held(run_ids: list[str], worker: str) -> list[str]:
    """The runs `worker` still holds (running under its lease)."""
    return [run_id for run_id, (owner, status, _) in leases(run_ids).items() if (owner, status) == (worker, "running")]


def test_a_worker_whose_database_hangs_loses_no_run_and_works_again_after(chaos: Chaos) -> None:
    database_url = chaos.env["TRELLIS_DATABASE_URL"]
    proxy = TcpProxy(sa.make_url(database_url).port or 5432)
    chaos.server.delay = lambda tag, node_id, before: 0.3
    try:
        hung = chaos.start_worker(TRELLIS_DATABASE_URL=through(proxy, database_url))
        chaos.wait_ready(chaos.start_worker())
        chaos.start_runs(16)
        chaos.wait_holding(hung)
        proxy.blackhole()
        outage = datetime.now(UTC)
        held = still_held(list(chaos.runs.values()), hung)
        chaos.start_runs(8)
        deadline = time.monotonic() + MOVED_WITHIN_S
        while still_held(held, hung) and time.monotonic() < deadline:
            time.sleep(0.2)
        stuck = still_held(held, hung)
        blocking = chaos.open_transactions() if stuck else []
        time.sleep(max(0.0, OUTAGE_S - (datetime.now(UTC) - outage).total_seconds()))
        proxy.heal()
        healed = datetime.now(UTC)
        during = wait_until_finished(list(chaos.runs.values()), timeout_s=60)
        after = chaos.start_runs(8)
        wait_until_finished(after, timeout_s=60)
    finally:
        proxy.heal()
        proxy.cut()
    print(f"{len(held)} runs held by the hung worker; {len(stuck)} not moved within {MOVED_WITHIN_S:g} s")

    assert held, "the hung worker held no run when its database hung"
    assert not stuck, (f"{len(stuck)} of {len(held)} runs stayed with the hung worker for {MOVED_WITHIN_S:g} s: "
                       f"{stuck}; open transactions then: {blocking}")  # fmt: skip
    assert set(during.values()) == {RunStatus.SUCCEEDED}
    # The outage interrupts the hung worker's nodes as a kill would (until its lease is renewed or
    # taken over, one lease after the database answers again): at most one more call each
    found = problems(chaos.server, chaos.runs, [(outage, healed + LEASE)])
    assert not found, f"outage {outage:%H:%M:%S.%f} to {healed:%H:%M:%S.%f}:\n" + "\n".join(found)
    assert chaos.workers[hung].poll() is None, f"the worker died in the outage:\n{chaos.worker_log(hung)}"
    ran_alone = [run_id for run_id, (owner, _, attempts) in leases(after).items() if (owner, attempts) == (hung, 1)]
    assert ran_alone, f"the worker ran no run from start to end after the outage: {leases(after)}"
